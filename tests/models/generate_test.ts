import { FIXTURE_DIR, hasFixture } from "../fixtures.ts";
import { noGrad } from "../../kernels/core/autograd.ts";
import { scope, tensor } from "../../kernels/core/tensor.ts";
import { cutAtStop, generate } from "../../models/generate.ts";
import { parseHfConfig } from "../../models/hf_config.ts";
import { Transformer } from "../../models/transformer.ts";
import { assert, gpuReady, randInt } from "../helpers.ts";

await gpuReady;

const cfg = parseHfConfig({
  model_type: "qwen2",
  vocab_size: 40,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: false,
});
const model = Transformer.random(cfg, { seed: 21, std: 0.3 });

/** Full-forward logits of the last position, and their log-softmax. */
async function lastRow(seq: number[]): Promise<Float32Array> {
  const out = noGrad(() =>
    scope(() =>
      model.forward({
        ids: tensor(Int32Array.from(seq), [1, seq.length]),
        positions: tensor(Int32Array.from(seq, (_, i) => i), [1, seq.length]),
      })
    )
  );
  const all = (await out.read()) as Float32Array;
  out.dispose();
  return all.slice((seq.length - 1) * cfg.vocabSize);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function logSoftmax(row: Float32Array, id: number): number {
  const max = Math.max(...row);
  let z = 0;
  for (const v of row) z += Math.exp(v - max);
  return row[id] - max - Math.log(z);
}

Deno.test("greedy generation equals repeated argmax of full forwards (mixed prompt lengths)", async () => {
  const prompts = [
    Array.from(randInt(3, 40)),
    Array.from(randInt(8, 40)),
    Array.from(randInt(5, 40)),
  ];
  const gens = await generate(model, prompts, { maxNewTokens: 10, temperature: 0, checkEvery: 4 });
  for (let b = 0; b < prompts.length; b++) {
    const seq = [...prompts[b]];
    for (let s = 0; s < 10; s++) {
      const row = await lastRow(seq);
      const want = argmax(row);
      assert.equal(gens[b].tokens[s], want, `prompt ${b}, step ${s}`);
      assert.ok(
        Math.abs(gens[b].logprobs[s] - logSoftmax(row, want)) < 1e-4,
        `logprob at ${b}/${s}`,
      );
      seq.push(want);
    }
    assert.equal(gens[b].finish, "length");
  }
});

Deno.test("sampling is reproducible per seed, differs across seeds, and ignores batch position", async () => {
  const prompts = [[1, 2, 3], [4, 5, 6, 7], [8]];
  const opts = { maxNewTokens: 12, temperature: 1, topP: 0.95, seed: 5 };
  const a = await generate(model, prompts, opts);
  const b = await generate(model, prompts, opts);
  assert.deepEqual(a.map((g) => g.tokens), b.map((g) => g.tokens));
  const c = await generate(model, prompts, { ...opts, seed: 6 });
  assert.notDeepEqual(a.map((g) => g.tokens), c.map((g) => g.tokens));
  // The same sequence id in another batch slot draws the same tokens.
  const d = await generate(model, [prompts[2], prompts[0]], { ...opts, seqIds: [2, 0] });
  assert.deepEqual(d[0].tokens, a[2].tokens);
  assert.deepEqual(d[1].tokens, a[0].tokens);
});

Deno.test("EOS ids and stop strings end sequences; stop text is kept", async () => {
  const prompts = [[1, 2, 3], [9, 9]];
  const free = await generate(model, prompts, { maxNewTokens: 16, temperature: 0 });
  const eosId = free[0].tokens[4];
  const stopped = await generate(model, prompts, {
    maxNewTokens: 16,
    temperature: 0,
    eosTokenIds: [eosId],
    checkEvery: 3,
  });
  const cut = free[0].tokens.indexOf(eosId);
  assert.deepEqual(stopped[0].tokens, free[0].tokens.slice(0, cut + 1));
  assert.equal(stopped[0].finish, "stop");
  // Stop strings over a toy decoding: token i ↦ letter.
  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join("");
  const text = decode(free[1].tokens);
  const stop = text.slice(5, 7);
  const byStop = await generate(model, prompts, {
    maxNewTokens: 16,
    temperature: 0,
    stopStrings: [stop],
    decode,
  });
  assert.equal(byStop[1].finish, "stop");
  assert.equal(byStop[1].text, cutAtStop(text, [stop]));
  assert.ok(byStop[1].text.endsWith(stop));
});

Deno.test("finished rows are dropped mid-generation without changing the other rows", async () => {
  const prompts = [[1, 2], [3, 4, 5], [6], [7, 8, 9, 10], [11, 12]];
  const opts = { maxNewTokens: 24, temperature: 1, seed: 3, checkEvery: 2 };
  const free = await generate(model, prompts, opts);
  const eosId = free[0].tokens[1];
  const batch = await generate(model, prompts, { ...opts, eosTokenIds: [eosId] });
  assert.ok(batch.some((g) => g.finish === "stop"), "some rows should hit EOS");
  for (let b = 0; b < prompts.length; b++) {
    const alone = await generate(model, [prompts[b]], {
      ...opts,
      eosTokenIds: [eosId],
      seqIds: [b],
    });
    assert.deepEqual(batch[b].tokens, alone[0].tokens, `row ${b}`);
    assert.equal(batch[b].finish, alone[0].finish);
  }
});

Deno.test("decoding through packed weights (K % 64 == 0) equals repeated argmax of full forwards", async () => {
  const { matmulPackedDispatches } = await import("../../kernels/matmul/packed.ts");
  const wide = Transformer.random(
    parseHfConfig({
      model_type: "qwen2",
      vocab_size: 64,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
    }),
    { seed: 8, std: 0.3 },
  );
  const before = matmulPackedDispatches();
  const prompt = [3, 1, 4, 1, 5];
  const [g] = await generate(wide, [prompt], { maxNewTokens: 6, temperature: 0 });
  const seq = [...prompt];
  for (let s = 0; s < 6; s++) {
    const out = noGrad(() =>
      scope(() =>
        wide.forward({
          ids: tensor(Int32Array.from(seq), [1, seq.length]),
          positions: tensor(Int32Array.from(seq, (_, i) => i), [1, seq.length]),
        })
      )
    );
    const all = (await out.read()) as Float32Array;
    out.dispose();
    seq.push(argmax(all.slice((seq.length - 1) * 64)));
  }
  assert.deepEqual(g.tokens, seq.slice(prompt.length));
  const { gpu } = await import("../../kernels/core/device.ts");
  if (gpu().isCpu) assert.ok(matmulPackedDispatches() > before, "the packed path should have run");
  wide.dispose();
});

Deno.test("zero new tokens returns empty generations; a bad count is a clear error", async () => {
  const g = await generate(model, [[1, 2], [3]], { maxNewTokens: 0 });
  assert.deepEqual(g.map((x) => x.tokens.length), [0, 0]);
  await assert.rejects(() => generate(model, [[1]], { maxNewTokens: -1 }), /maxNewTokens/);
});

Deno.test("cutAtStop keeps the earliest stop string", () => {
  assert.equal(cutAtStop("abc</answer>tail User: x", ["User:", "</answer>"]), "abc</answer>");
  assert.equal(cutAtStop("no stop here", ["</answer>"]), "no stop here");
});

Deno.test({
  name: "the tiny-llama fixture's greedy continuation equals argmax of the float64 reference",
  ignore: !hasFixture,
  fn: async () => {
    const { loadModel } = await import("../../models/checkpoint.ts");
    const { openSafetensors } = await import("../../models/safetensors.ts");
    const { referenceLogits } = await import("./reference_forward.ts");
    const fixture = await loadModel(FIXTURE_DIR);
    const st = openSafetensors(`${FIXTURE_DIR}/model.safetensors`);
    const prompt = [5, 6, 14, 7, 15];
    const [g] = await generate(fixture, [prompt], { maxNewTokens: 8, temperature: 0 });
    const seq = [...prompt];
    for (let s = 0; s < 8; s++) {
      const logits = referenceLogits(fixture.cfg, (n) => st.getF32(n), seq);
      const row = Float32Array.from(logits.subarray((seq.length - 1) * fixture.cfg.vocabSize));
      seq.push(argmax(row));
    }
    assert.deepEqual(g.tokens, seq.slice(prompt.length));
    st.close();
    fixture.dispose();
  },
});
