import { AdamW } from "../../kernels/optim/adamw.ts";
import { backward, noGrad, zeroGrad } from "../../kernels/core/autograd.ts";
import { mul, sub } from "../../kernels/elementwise/elementwise.ts";
import { mean } from "../../kernels/reduce/reduce.ts";
import { readAll, scope, tensor } from "../../kernels/core/tensor.ts";
import { Critic } from "../../models/critic.ts";
import { parseHfConfig } from "../../models/hf_config.ts";
import { Transformer } from "../../models/transformer.ts";
import { assert, assertClose, gpuReady, randInt } from "../helpers.ts";
import { referenceHidden } from "./reference_forward.ts";

await gpuReady;

const cfg = parseHfConfig({
  model_type: "qwen2",
  vocab_size: 30,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: true,
});

Deno.test("critic values are the value head over the trunk's hidden states (float64 reference)", async () => {
  const critic = Critic.fromTrunk(Transformer.random(cfg, { seed: 2, std: 0.2 }), {
    seed: 3,
    std: 0.5,
  });
  const names = [...critic.trunk.params.keys()];
  const data = await readAll([...names.map((n) => critic.trunk.params.get(n)!), critic.head]);
  const w = (n: string) => data[names.indexOf(n)];
  const head = data.at(-1)!;
  const seq = Array.from(randInt(7, cfg.vocabSize));
  const values = noGrad(() =>
    scope(() =>
      critic.values({
        ids: tensor(Int32Array.from(seq), [1, 7]),
        positions: tensor(Int32Array.from(seq, (_, i) => i), [1, 7]),
      })
    )
  );
  assert.deepEqual(values.shape, [1, 7]);
  const h = referenceHidden(cfg, w, seq);
  const want = Array.from({ length: 7 }, (_, t) => {
    let s = 0;
    for (let i = 0; i < cfg.hiddenSize; i++) s += h[t * cfg.hiddenSize + i] * head[i];
    return s;
  });
  assertClose(await values.read(), want, { rtol: 1e-3, atol: 1e-5, label: "critic values" });
  critic.dispose();
});

Deno.test("critic trains: regression loss falls and trunk and head both change", async () => {
  const critic = Critic.fromTrunk(Transformer.random(cfg, { seed: 4 }), { seed: 5 }).setTrainable(
    true,
  );
  const ids = Int32Array.from(randInt(2 * 8, cfg.vocabSize));
  const batch = {
    ids: tensor(ids, [2, 8]),
    idsCpu: ids,
    positions: tensor(Int32Array.from({ length: 16 }, (_, i) => i % 8), [2, 8]),
  };
  const target = tensor(Float32Array.from({ length: 16 }, (_, i) => (i % 3) - 1), [2, 8]);
  const before = await readAll(critic.parameters());
  const opt = new AdamW(critic.parameters(), { lr: 3e-3, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 60; step++) {
    const loss = scope(() => {
      const d = sub(critic.values(batch), target);
      const l = mean(mul(d, d));
      backward(l);
      opt.step();
      zeroGrad(critic.parameters());
      return l;
    });
    if (step === 0 || step === 59) losses.push((await loss.read())[0]);
    loss.dispose();
  }
  assert.ok(losses[1] < 0.5 * losses[0], `value loss ${losses[0]} → ${losses[1]}`);
  const after = await readAll(critic.parameters());
  before.forEach((b, i) =>
    assert.ok(b.some((v, k) => v !== after[i][k]), `critic parameter ${i} unchanged`)
  );
  critic.dispose();
});
