/**
 * The compute core's end-to-end check: a tiny 2-layer Llama-style transformer built from
 * these kernels memorises a fixed batch. Cross-entropy must fall by more than 90% within a
 * few hundred AdamW steps, every parameter must change, and a rerun must be bit-identical.
 */
import { backward, zeroGrad } from "../../kernels/core/autograd.ts";
import { AdamW } from "../../kernels/optim/adamw.ts";
import { crossEntropy } from "../../kernels/reduce/logprobs.ts";
import { readAll, scope, tensor } from "../../kernels/core/tensor.ts";
import { parseHfConfig } from "../../models/hf_config.ts";
import { Transformer } from "../../models/transformer.ts";
import { assert, gpuReady, randInt } from "../helpers.ts";

await gpuReady;

const cfg = parseHfConfig({
  model_type: "llama",
  vocab_size: 32,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
});

async function train(steps: number, seed: number) {
  const B = 4;
  const T = 16;
  const model = Transformer.random(cfg, { seed }).setTrainable(true);
  const before = await readAll(model.parameters());
  const idsCpu = randInt(B * (T + 1), cfg.vocabSize, seed + 1);
  const inputs = Int32Array.from(
    { length: B * T },
    (_, i) => idsCpu[Math.floor(i / T) * (T + 1) + (i % T)],
  );
  const targets = Int32Array.from(
    { length: B * T },
    (_, i) => idsCpu[Math.floor(i / T) * (T + 1) + (i % T) + 1],
  );
  const batch = {
    ids: tensor(inputs, [B, T]),
    idsCpu: inputs,
    positions: tensor(Int32Array.from({ length: B * T }, (_, i) => i % T), [B, T]),
  };
  const targetT = tensor(targets, [B * T]);
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = scope(() => {
      const logits = model.forward(batch).reshape([B * T, cfg.vocabSize]);
      const l = crossEntropy(logits, targetT);
      backward(l);
      opt.step();
      zeroGrad(model.parameters());
      return l;
    });
    if (step === 0 || step === steps - 1) losses.push((await loss.read())[0]);
    loss.dispose();
  }
  const after = await readAll(model.parameters());
  model.dispose();
  return { losses, before, after };
}

Deno.test("a tiny 2-layer transformer memorises a fixed batch (loss falls > 90%)", async () => {
  const { losses, before, after } = await train(300, 7);
  const [first, last] = losses;
  console.log(
    `tiny transformer: loss ${first.toFixed(4)} → ${last.toFixed(4)} (${
      (100 * (1 - last / first)).toFixed(1)
    }% lower)`,
  );
  assert.ok(first > 3, `initial loss ${first} should be near ln(32) = 3.47`);
  assert.ok(last < 0.1 * first, `loss fell only from ${first} to ${last}`);
  before.forEach((b, i) => {
    const changed = b.some((v, k) => v !== after[i][k]);
    assert.ok(changed, `parameter ${i} did not change`);
  });
});

Deno.test("same seed → bit-identical training", async () => {
  const a = await train(5, 11);
  const b = await train(5, 11);
  assert.deepEqual(a.losses, b.losses);
  a.after.forEach((t, i) => assert.deepEqual(t, b.after[i], `parameter ${i} differs between runs`));
});

Deno.test("a training step and a generation leak nothing: the buffer pool stops growing", async () => {
  const { pool } = await import("../../kernels/core/tensor.ts");
  const { sync } = await import("../../kernels/core/runtime.ts");
  const { generate } = await import("../../models/generate.ts");
  const model = Transformer.random(cfg, { seed: 3 }).setTrainable(true);
  const ids = randInt(2 * 8, cfg.vocabSize, 5);
  const batch = {
    ids: tensor(ids, [2, 8]),
    idsCpu: ids,
    positions: tensor(Int32Array.from({ length: 16 }, (_, i) => i % 8), [2, 8]),
  };
  const targets = tensor(randInt(16, cfg.vocabSize, 6), [16]);
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const step = () =>
    scope(() => {
      backward(crossEntropy(model.forward(batch).reshape([16, cfg.vocabSize]), targets));
      opt.step();
      zeroGrad(model.parameters());
    });
  const rollout = () =>
    generate(model, [[1, 2, 3], [4, 5]], { maxNewTokens: 6, temperature: 1, seed: 1 });
  for (let i = 0; i < 2; i++) {
    step();
    await rollout();
  }
  await sync();
  const before = pool.allocatedBytes;
  for (let i = 0; i < 3; i++) {
    step();
    await rollout();
  }
  await sync();
  assert.equal(pool.allocatedBytes, before, "steady-state steps must reuse pooled buffers");
  model.dispose();
});
