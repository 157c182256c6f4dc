/**
 * Whole-model inference: prefill and decode tokens/s at batch 1, 16 and 64, for (a) a small
 * random Llama (`model_small`, see {@link SMALL_CONFIG}) and (b) the tiny Llama fixture in
 * `../shared/fixtures/tiny-llama-hf` (`model_tiny`; skipped with a note when absent), next
 * to an eager PyTorch peer (`bench/torch_model_peer.py`) running the same checkpoint.
 *
 * Figures, for each model prefix and batch size B (prompt length P, N new tokens):
 * - `<m>_prefill_b<B>_tok_s`: B·P / time of one prefill (the cache filled, the last
 *   position's logits, a greedy sample). No padding, so every row is P real tokens.
 * - `<m>_decode_b<B>_tok_s`: the engine: `generate()` (greedy, no EOS, so every row runs
 *   the full length, readbacks every 16 steps included), B·N / (time of N + 1 new tokens −
 *   time of 1 new token), i.e. the prefill subtracted.
 * - `<m>_decode_step_b<B>_ms`: the kernels alone: N `decodeStep` + greedy-sample steps,
 *   each fed the previous step's tokens on the GPU, encoded back to back and synced once.
 * - `<m>_decode_matmul_b<B>_ms`: only that step's matmuls (7 per layer + the LM head) on
 *   inputs of the same shapes, encoded the same way: the part of a step that is FLOPs.
 * - `<m>_decode_floor_b1_ms`: as many trivial dispatches as one step has, encoded the same
 *   way: the part of a step that is launch overhead. `<m>_decode_dispatches` per step.
 * - `<m>_greedy_agree`: fraction of 2 × 8 greedy check tokens (from 16-token prompts) where
 *   the PyTorch peer agrees with `generate()`; a note is printed when it is below 1.
 *
 * The peer's figures are the same keys prefixed `torch_`. Timings are the median of a few
 * samples after a warm-up; main.ts keeps the best of its rounds.
 *
 * Run alone: `deno run -A --unstable-webgpu bench/model_bench.ts [--quick]`.
 *
 * @module
 */
import { noGrad } from "../kernels/autograd.ts";
import { initGpu } from "../kernels/device.ts";
import { fill } from "../kernels/elementwise.ts";
import { matmul } from "../kernels/matmul.ts";
import { launchStats, sync } from "../kernels/runtime.ts";
import { sample } from "../kernels/sampler.ts";
import { keep, scope, type Tensor, tensor } from "../kernels/tensor.ts";
import { loadModel, saveModel } from "../models/checkpoint.ts";
import { generate } from "../models/generate.ts";
import { parseHfConfig } from "../models/hf_config.ts";
import { createKVCache } from "../models/kv_cache.ts";
import { Transformer } from "../models/transformer.ts";
import { type BenchContext, type BenchSection, median, round } from "./util.ts";

/**
 * The small random model: Llama-style, 4 layers, hidden 256, 4 query heads of 64 over 2
 * key/value heads (grouped-query, as Qwen2.5), SwiGLU intermediate 688 (≈ 8/3 · 256, a
 * multiple of 16, as Llama sizes it), vocabulary 32000 (Llama's) with an untied LM head:
 * 2.9 M trunk parameters and 16.4 M in the embedding and LM head — the LM head is 74 % of a
 * decode step's FLOPs, as the vocabulary dominates small real models (Qwen2.5-0.5B: 28 %).
 */
export const SMALL_CONFIG = {
  model_type: "llama",
  vocab_size: 32000,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

const FIXTURE = new URL("../../shared/fixtures/tiny-llama-hf", import.meta.url).pathname;

/** Optional `note` (main.ts supplies it): a line for the table's notes, not just the log. */
export type NoteContext = BenchContext & { note?: (msg: string) => void };

/** Options of one model's measurement. */
interface Plan {
  prompt: number;
  newTokens: number;
  batches: number[];
  samples: number;
}

/** Deterministic token ids in [0, vocab). */
function randomIds(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

function randomTensor(shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return tensor(data, shape);
}

/**
 * Median ms of `fn` over `samples` runs after one warm-up run: its wall time, or the ms it
 * returns when it times a part of itself.
 */
async function timeRuns(fn: () => Promise<number | void>, samples: number): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const own = await fn();
    ms.push(typeof own === "number" ? own : performance.now() - t0);
  }
  return median(ms);
}

/** Run the PyTorch model peer with `args`; its JSON, or the reason it did not run. */
export async function runModelPeer(
  args: string[],
  quick: boolean,
): Promise<Record<string, unknown> | string> {
  const script = new URL("./torch_model_peer.py", import.meta.url).pathname;
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("python3", {
      args: [script, ...args, ...(quick ? ["--quick"] : [])],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return `python3 not runnable: ${(e as Error).message}`;
  }
  const text = new TextDecoder().decode(result.stdout).trim().split("\n").at(-1) ?? "";
  if (!result.success || !text.startsWith("{")) {
    const err = new TextDecoder().decode(result.stderr).trim().split("\n").at(-1);
    return `torch_model_peer.py failed: ${err}`;
  }
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return typeof parsed.torch_skipped === "string" ? parsed.torch_skipped : parsed;
}

/** The numeric entries of a peer result (its figures). */
export function peerFigures(r: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(r).filter(([, v]) => typeof v === "number"),
  ) as Record<string, number>;
}

/** The matmuls of one decode step at batch B: 7 per layer and the LM head. */
function stepMatmuls(model: Transformer, B: number): () => void {
  const { cfg } = model;
  const H = cfg.hiddenSize;
  const x = keep(randomTensor([B, 1, H], 3));
  const a = keep(randomTensor([B, 1, cfg.numHeads * cfg.headDim], 4));
  const act = keep(randomTensor([B, 1, cfg.intermediateSize], 5));
  const w = (n: string) => model.params.get(n)!;
  return () =>
    scope(() => {
      for (let l = 0; l < cfg.numLayers; l++) {
        const p = `model.layers.${l}.`;
        for (const n of ["q_proj", "k_proj", "v_proj"]) {
          matmul(x, w(`${p}self_attn.${n}.weight`), { transB: true });
        }
        matmul(a, w(`${p}self_attn.o_proj.weight`), { transB: true });
        matmul(x, w(`${p}mlp.gate_proj.weight`), { transB: true });
        matmul(x, w(`${p}mlp.up_proj.weight`), { transB: true });
        matmul(act, w(`${p}mlp.down_proj.weight`), { transB: true });
      }
      matmul(x.reshape([B, H]), model.lmHead, { transB: true });
    });
}

/** zerokit's figures for one model (see the module doc). */
async function measure(
  model: Transformer,
  prefix: string,
  plan: Plan,
  ctx: BenchContext,
): Promise<Record<string, number>> {
  const { cfg } = model;
  const { prompt: P, newTokens: N, samples } = plan;
  const out: Record<string, number> = {};
  for (const B of plan.batches) {
    const prompts = Array.from({ length: B }, (_, b) => randomIds(P, cfg.vocabSize, 100 + b));
    const idsCpu = Int32Array.from(prompts.flat());
    const maxT = P + N;
    const cache = createKVCache(cfg, B, maxT);
    const ids = keep(tensor(idsCpu, [B, P]));
    const positions = keep(tensor(Int32Array.from(idsCpu, (_, i) => i % P), [B, P]));
    const keyMask = keep(tensor(new Float32Array(B * P).fill(1), [B, P]));
    const cacheMask = keep(tensor(new Float32Array(B * maxT).fill(1), [B, maxT]));
    const greedy = (logits: Tensor, step: number) =>
      sample(logits, { temperature: 0, seed: 0, step }).tokens;
    const prefill = () =>
      scope(() =>
        keep(greedy(model.prefill(cache, { ids, positions, keyMask, idsCpu }, cacheMask), 0))
      );

    // Prefill.
    const preMs = await timeRuns(async () => {
      noGrad(prefill).dispose();
      await sync();
    }, samples);
    out[`${prefix}_prefill_b${B}_tok_s`] = round((B * P) / preMs * 1000);

    // Decode through the engine: N + 1 new tokens minus 1 (the prefill's).
    const gen = (n: number) => async () => {
      await generate(model, prompts, { maxNewTokens: n, temperature: 0 });
    };
    const genMs = await timeRuns(gen(N + 1), samples) - await timeRuns(gen(1), samples);
    out[`${prefix}_decode_b${B}_tok_s`] = round((B * N) / Math.max(genMs, 1e-3) * 1000);

    // Decode steps alone, fed back on the GPU, one sync for all N.
    let dispatches = 0;
    const stepMs = await timeRuns(async () => {
      let tok = noGrad(prefill);
      await sync();
      const d0 = launchStats().dispatches;
      const t0 = performance.now();
      for (let s = 1; s <= N; s++) {
        const prev = tok;
        tok = noGrad(() =>
          scope(() => {
            const pos = tensor(new Int32Array(B).fill(P + s - 1), [B, 1]);
            const logits = model.decodeStep(cache, prev.reshape([B, 1]), pos, cacheMask, P + s - 1);
            return keep(greedy(logits, s));
          })
        );
        prev.dispose();
      }
      await sync();
      tok.dispose();
      dispatches = (launchStats().dispatches - d0) / N;
      return (performance.now() - t0) / N; // the prefill is outside the timing
    }, samples);
    out[`${prefix}_decode_step_b${B}_ms`] = round(stepMs);

    // The step's matmuls alone.
    const mm = stepMatmuls(model, B);
    const mmMs = await timeRuns(async () => {
      for (let s = 0; s < N; s++) mm();
      await sync();
    }, samples) / N;
    out[`${prefix}_decode_matmul_b${B}_ms`] = round(mmMs);

    if (B === plan.batches[0]) {
      out[`${prefix}_decode_dispatches`] = round(dispatches);
      const k = Math.round(dispatches);
      const floorMs = await timeRuns(async () => {
        for (let s = 0; s < N; s++) for (let i = 0; i < k; i++) fill([64], i).dispose();
        await sync();
      }, samples) / N;
      out[`${prefix}_decode_floor_b${B}_ms`] = round(floorMs);
    }
    ctx.log(
      `${prefix} B=${B}: prefill ${preMs.toFixed(1)} ms, decode ${
        (genMs / N).toFixed(2)
      } ms/step (generate), ${out[`${prefix}_decode_step_b${B}_ms`]} ms/step (kernels), ` +
        `matmuls ${mmMs.toFixed(2)} ms/step, ${dispatches.toFixed(0)} dispatches/step`,
    );
    cache.dispose();
    for (const t of [ids, positions, keyMask, cacheMask]) t.dispose();
  }
  return out;
}

/** Greedy tokens of the check prompts: 2 rows of 16 tokens, 8 new tokens each. */
function checkPrompts(vocab: number): number[][] {
  return [randomIds(16, vocab, 7), randomIds(16, vocab, 8)];
}
const CHECK_NEW = 8;

/** Measure one checkpoint directory with zerokit and the peer; compare greedy tokens. */
async function measurePair(
  model: Transformer,
  dir: string,
  prefix: string,
  plan: Plan,
  ctx: NoteContext,
  scratch: string,
): Promise<Record<string, number>> {
  const note = (m: string) => (ctx.note ?? ctx.log)(m);
  const out = await measure(model, prefix, plan, ctx);
  const prompts = checkPrompts(model.cfg.vocabSize);
  const ours = (await generate(model, prompts, { maxNewTokens: CHECK_NEW, temperature: 0 }))
    .map((g) => g.tokens);
  const checkFile = `${scratch}/${prefix}_check.json`;
  await Deno.writeTextFile(checkFile, JSON.stringify({ prompts, new_tokens: CHECK_NEW }));
  const peer = await runModelPeer([
    "model",
    "--dir",
    dir,
    "--prefix",
    prefix,
    "--prompt",
    String(plan.prompt),
    "--new",
    String(plan.newTokens),
    "--batches",
    plan.batches.join(","),
    "--check",
    checkFile,
  ], ctx.quick);
  if (typeof peer === "string") {
    note(`${prefix}: no PyTorch peer (${peer})`);
    return out;
  }
  Object.assign(out, peerFigures(peer));
  const theirs = peer.check_tokens as number[][];
  let agree = 0;
  const diffs: string[] = [];
  ours.forEach((row, r) =>
    row.forEach((t, s) => {
      if (theirs[r][s] === t) agree++;
      else diffs.push(`row ${r} step ${s}: ${t} vs ${theirs[r][s]}`);
    })
  );
  out[`${prefix}_greedy_agree`] = round(agree / (ours.length * CHECK_NEW));
  if (diffs.length > 0) {
    note(`${prefix}: PyTorch's greedy tokens differ from zerokit's (${diffs.slice(0, 3)})`);
  }
  return out;
}

/** Both models' figures (see the module doc). */
export async function benchModel(ctx: NoteContext): Promise<Record<string, number>> {
  await initGpu();
  const plan: Plan = ctx.quick
    ? { prompt: 64, newTokens: 32, batches: [1, 16], samples: 1 }
    : { prompt: 128, newTokens: 64, batches: [1, 16, 64], samples: 3 };
  const scratch = await Deno.makeTempDir({ prefix: "zerokit-model-bench-" });
  const out: Record<string, number> = {};
  try {
    const small = Transformer.random(parseHfConfig(SMALL_CONFIG), { seed: 11 });
    try {
      await saveModel(small, `${scratch}/small`);
      Object.assign(out, await measurePair(small, `${scratch}/small`, "model_small", plan, ctx, scratch));
    } finally {
      small.dispose();
    }
    let haveFixture = false;
    try {
      haveFixture = Deno.statSync(`${FIXTURE}/model.safetensors`).isFile;
    } catch { /* absent */ }
    if (!haveFixture) {
      (ctx.note ?? ctx.log)(`model_tiny skipped: no fixture at ${FIXTURE}`);
    } else {
      const tiny = await loadModel(FIXTURE);
      try {
        Object.assign(out, await measurePair(tiny, FIXTURE, "model_tiny", plan, ctx, scratch));
      } finally {
        tiny.dispose();
      }
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
  return out;
}

/** The section for bench/main.ts's registry. */
export const modelSection: BenchSection = {
  description: "model prefill/decode tokens/s, small random Llama + tiny fixture, PyTorch peer",
  run: benchModel,
};

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const figures = await benchModel({ quick, log: (m) => console.error(m) });
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(44)} ${v}`);
}
