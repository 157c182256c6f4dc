import { FIXTURE_DIR, hasFixture } from "../fixtures.ts";
import { noGrad } from "../../kernels/core/autograd.ts";
import { readAll, scope, type Tensor, tensor } from "../../kernels/core/tensor.ts";
import { loadModel, saveModel } from "../../models/checkpoint.ts";
import { type ModelConfig, parseHfConfig } from "../../models/hf_config.ts";
import { createKVCache } from "../../models/kv_cache.ts";
import { openSafetensors } from "../../models/safetensors.ts";
import { Transformer } from "../../models/transformer.ts";
import { assert, assertClose, gpuReady, randInt } from "../helpers.ts";
import { referenceLogits } from "./reference_forward.ts";

await gpuReady;

/** A random Qwen2-style config: GQA, q/k/v bias, tied embeddings. */
const qwenCfg = parseHfConfig({
  model_type: "qwen2",
  vocab_size: 48,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
});

/** Bigger weights than init's 0.02 so that attention and norms do real work. */
function randomModel(cfg: ModelConfig, seed: number): Transformer {
  return Transformer.random(cfg, { seed, std: 0.2 });
}

async function cpuWeights(model: Transformer): Promise<(n: string) => Float32Array> {
  const names = [...model.params.keys()];
  const data = await readAll(names.map((n) => model.params.get(n)!));
  const map = new Map(names.map((n, i) => [n, data[i] as Float32Array]));
  return (n) => map.get(n)!;
}

function batchOf(seqs: number[][]) {
  const B = seqs.length;
  const T = seqs[0].length;
  const ids = Int32Array.from(seqs.flat());
  return {
    ids: tensor(ids, [B, T]),
    idsCpu: ids,
    positions: tensor(Int32Array.from({ length: B * T }, (_, i) => i % T), [B, T]),
  };
}

async function logitsOf(model: Transformer, seqs: number[][]): Promise<Float32Array> {
  const out = noGrad(() => scope(() => model.forward(batchOf(seqs))));
  const data = (await out.read()) as Float32Array;
  out.dispose();
  return data;
}

Deno.test("qwen2 forward (GQA, q/k/v bias, tied) matches the float64 reference", async () => {
  const model = randomModel(qwenCfg, 3);
  const w = await cpuWeights(model);
  const seqs = [
    Array.from(randInt(9, qwenCfg.vocabSize)),
    Array.from(randInt(9, qwenCfg.vocabSize)),
  ];
  const got = await logitsOf(model, seqs);
  const V = qwenCfg.vocabSize;
  seqs.forEach((s, b) => {
    const want = referenceLogits(qwenCfg, w, s);
    const rel = assertClose(got.subarray(b * 9 * V, (b + 1) * 9 * V), want, {
      rtol: 1e-3,
      atol: 1e-4,
      label: `seq ${b}`,
    });
    console.log(`qwen2 forward vs float64: max rel error ${rel.toExponential(2)}`);
  });
  model.dispose();
});

Deno.test({
  name: "the tiny-llama fixture (HF bf16 checkpoint) loads and matches the float64 reference",
  ignore: !hasFixture,
  fn: async () => {
    const model = await loadModel(FIXTURE_DIR);
    assert.equal(model.cfg.modelType, "llama");
    const st = openSafetensors(`${FIXTURE_DIR}/model.safetensors`);
    const w = (n: string) => st.getF32(n);
    const seq = [5, 6, 14, 7, 15, 8, 1, 9, 10, 4];
    const got = await logitsOf(model, [seq]);
    const want = referenceLogits(model.cfg, w, seq);
    const rel = assertClose(got, want, { rtol: 1e-3, atol: 1e-5, label: "fixture logits" });
    console.log(`tiny-llama fixture vs float64: max rel error ${rel.toExponential(2)}`);
    st.close();
    model.dispose();
  },
});

Deno.test("prefill + decode through the KV cache equals the full forward (mixed prompt lengths)", async () => {
  const model = randomModel(qwenCfg, 5);
  const V = qwenCfg.vocabSize;
  const full = [Array.from(randInt(12, V)), Array.from(randInt(12, V)), Array.from(randInt(12, V))];
  const promptLens = [4, 7, 12 - 3];
  const P = Math.max(...promptLens);
  const steps = 3;
  const maxT = P + steps;
  // Left-pad each prompt to P; then feed the continuation token by token.
  const ids = new Int32Array(3 * P);
  const pos = new Int32Array(3 * P);
  const mask = new Float32Array(3 * maxT).fill(1);
  full.forEach((seq, b) => {
    const pad = P - promptLens[b];
    for (let j = 0; j < P; j++) {
      ids[b * P + j] = j < pad ? 0 : seq[j - pad];
      pos[b * P + j] = j < pad ? 0 : j - pad;
      if (j < pad) mask[b * maxT + j] = 0;
    }
  });
  const got: Float32Array[] = [];
  const cache = createKVCache(qwenCfg, 3, maxT);
  const maskT = tensor(mask, [3, maxT]);
  const promptMask = Float32Array.from(
    { length: 3 * P },
    (_, i) => mask[Math.floor(i / P) * maxT + (i % P)],
  );
  const outs: Tensor[] = noGrad(() => {
    const r = [
      model.prefill(cache, {
        ids: tensor(ids, [3, P]),
        positions: tensor(pos, [3, P]),
        keyMask: tensor(promptMask, [3, P]),
        idsCpu: ids,
      }, maskT),
    ];
    for (let s = 0; s < steps; s++) {
      const next = Int32Array.from(full, (seq, b) => seq[promptLens[b] + s]);
      const p = Int32Array.from(promptLens, (l) => l + s);
      r.push(model.decodeStep(cache, tensor(next, [3, 1]), tensor(p, [3, 1]), maskT, P + s));
    }
    return r;
  });
  for (const o of outs) got.push((await o.read()) as Float32Array);
  // Reference: full forwards of each unpadded sequence.
  for (let b = 0; b < 3; b++) {
    const want = await logitsOf(model, [full[b].slice(0, promptLens[b] + steps)]);
    for (let s = 0; s <= steps; s++) {
      const row = promptLens[b] - 1 + s;
      assertClose(got[s].subarray(b * V, (b + 1) * V), want.subarray(row * V, (row + 1) * V), {
        rtol: 1e-4,
        atol: 1e-5,
        label: `seq ${b} step ${s}`,
      });
    }
  }
  cache.dispose();
  model.dispose();
});

Deno.test("save → load round trip is exact in f32; bf16 rounds like an independent conversion", async () => {
  const model = randomModel(qwenCfg, 9);
  const dir = await Deno.makeTempDir();
  await saveModel(model, `${dir}/f32`);
  const back = await loadModel(`${dir}/f32`);
  const a = await readAll(model.parameters());
  const b = await readAll(back.parameters());
  a.forEach((t, i) => assert.deepEqual(t, b[i]));
  await saveModel(model, `${dir}/bf16`, { dtype: "BF16" });
  const half = await loadModel(`${dir}/bf16`);
  const h = await readAll(half.parameters());
  a.forEach((t, i) => {
    for (let k = 0; k < t.length; k++) {
      const bits = new Uint32Array(new Float32Array([t[k]]).buffer)[0];
      const rounded = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000; // round to nearest even
      const want = new Float32Array(new Uint32Array([rounded >>> 0]).buffer)[0];
      if (h[i][k] !== want) {
        assert.fail(`bf16 element ${k} of parameter ${i}: ${h[i][k]} vs ${want}`);
      }
    }
  });
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/bf16/config.json`));
  assert.equal(cfg.model_type, "qwen2");
  assert.equal(cfg.torch_dtype, "bfloat16");
  for (const m of [model, back, half]) m.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an embedding past the 128 MiB binding cap: lookup and tied LM head work", async () => {
  const cfg = parseHfConfig({
    model_type: "qwen2",
    vocab_size: 140_000,
    hidden_size: 256,
    intermediate_size: 64,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    tie_word_embeddings: true,
  });
  const model = Transformer.random(cfg, { seed: 1, std: 0.2 });
  assert.ok(model.params.get("model.embed_tokens.weight")!.bytes > 128 * 2 ** 20);
  const w = await cpuWeights(model);
  const seq = [0, 139_999, 70_001, 65_536];
  const got = await logitsOf(model, [seq]);
  const want = referenceLogits(cfg, w, seq);
  assertClose(got, want, { rtol: 1e-3, atol: 1e-4, label: "big-vocab logits" });
  model.dispose();
});

Deno.test("a checkpoint that does not match its config fails naming the directory and tensor", async () => {
  const model = randomModel(qwenCfg, 12);
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  model.dispose();
  const cfgPath = `${dir}/config.json`;
  const cfg = JSON.parse(await Deno.readTextFile(cfgPath));
  await Deno.writeTextFile(cfgPath, JSON.stringify({ ...cfg, intermediate_size: 100 }));
  await assert.rejects(() => loadModel(dir), (e: Error) => {
    assert.match(e.message, new RegExp(dir.replaceAll("/", "\\/")));
    assert.match(e.message, /mlp\.(down|gate|up)_proj\.weight/);
    return true;
  });
  await Deno.writeTextFile(
    cfgPath,
    JSON.stringify({ ...cfg, rope_scaling: { type: "yarn", factor: 4 } }),
  );
  await assert.rejects(() => loadModel(dir), /rope_scaling/);
  await Deno.remove(dir, { recursive: true });
});
