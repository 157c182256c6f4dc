/**
 * Whole-model inference: prefill and decode tokens/s at batch 1, 16 and 64, for (a) a small
 * random Llama (`model_small`, see {@link SMALL_CONFIG}) and (b) the tiny Llama fixture in
 * `../shared/fixtures/tiny-llama-hf` (`model_tiny`; skipped with a note when absent), next
 * to an eager PyTorch peer (`bench/torch_model_peer.py`) running the same checkpoint.
 *
 * Figures, for each model prefix `<m>` and batch size B (prompt length P, N new tokens):
 * - `<m>_prefill_b<B>_tok_s`: B·P / time of one prefill (the cache filled, the last
 *   position's logits, a greedy sample, a sync). No padding: every row is P real tokens.
 * - `<m>_decode_b<B>_tok_s`: the engine: `generate()` (greedy, no EOS, so every row runs
 *   the full length; readbacks every 16 steps included) of N + 1 new tokens, less one
 *   prefill (which samples the first), per B·N tokens.
 * - `<m>_prefill_b<B>_cpu_tok_s`, `<m>_decode_b<B>_cpu_tok_s`: the same per CPU-second of
 *   the process × cores (steadier on shared cores; flattering where the process waits).
 * - `<m>_decode_matmul_b<B>_ms`: one decode step's matmuls alone (7 per layer + the LM
 *   head) on inputs of the same shapes, many per sync: the part of a step that is FLOPs;
 *   `<m>_decode_lmhead_b<B>_ms` the LM head alone, `<m>_decode_sample_b<B>_ms` the greedy
 *   sampler alone (both also parts of a step).
 * - batch 1 only: `<m>_decode_step_b1_ms`, the step's kernels alone (N `decodeStep` +
 *   greedy-sample steps fed back on the GPU, one sync); `<m>_decode_encode_b1_ms`, the
 *   host (JavaScript + Deno WebGPU) time to encode one; `<m>_decode_dispatches` per step;
 *   `<m>_decode_floor_b1_ms`, as many trivial dispatches encoded and run the same way: the
 *   launch overhead of a step.
 * - `<m>_greedy_agree`: fraction of 2 × 8 greedy check tokens (from 16-token prompts) where
 *   the PyTorch peer agrees with `generate()`; a note is printed when it is below 1.
 *
 * The peer's figures are the same keys prefixed `torch_` (prefill and engine decode; its
 * decode is its Python loop). Each figure is the median of 3 runs (2 where B·P > 1024, 1
 * where B·P > 4096 and in `--quick`: such a run takes seconds); a run that compiles a
 * pipeline is a warm-up and does not count. main.ts keeps each figure's best round.
 *
 * Run alone: `deno run -A --unstable-webgpu bench/model_bench.ts [--quick]`.
 *
 * @module
 */
import { noGrad } from "../kernels/core/autograd.ts";
import { initGpu } from "../kernels/core/device.ts";
import { fill } from "../kernels/elementwise/elementwise.ts";
import { matmul } from "../kernels/matmul/matmul.ts";
import { formatProfile, profile } from "../kernels/core/profile.ts";
import { launchStats, sync } from "../kernels/core/runtime.ts";
import { sample } from "../kernels/sampling/sampler.ts";
import { keep, scope, type Tensor, tensor } from "../kernels/core/tensor.ts";
import { loadModel, saveModel } from "../models/checkpoint.ts";
import { generate } from "../models/generate.ts";
import { parseHfConfig } from "../models/hf_config.ts";
import { createKVCache } from "../models/kv_cache.ts";
import { Transformer } from "../models/transformer.ts";
import {
  type BenchContext,
  type BenchSection,
  CORES,
  cpuTimeMs,
  median,
  profileFigures,
  round,
} from "./util.ts";

/**
 * The small random model: Llama-style, 4 layers, hidden 256, 4 query heads of 64 over 2
 * key/value heads (grouped-query, as Qwen2.5), SwiGLU intermediate 688 (≈ 8/3 · 256, a
 * multiple of 16, as Llama sizes it), vocabulary 32000 (Llama's) with an untied LM head:
 * 2.9 M trunk parameters and 16.4 M in the embedding and LM head, so the LM head is 74 % of
 * a decode step's FLOPs (Qwen2.5-0.5B: 28 %), as in small models with big vocabularies.
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
/** Kept for callers; `note` now lives on BenchContext itself. */
export type NoteContext = BenchContext;

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
 * Time `fn` over `samples` runs: it returns its own timings (ms), one or several; the
 * result is the median of each. A run that compiled a pipeline is a warm-up: discarded and
 * repeated.
 */
async function timeRuns(fn: () => Promise<number[]>, samples: number): Promise<number[]> {
  const runs: number[][] = [];
  for (let tries = 0; runs.length < samples && tries < samples + 3; tries++) {
    const compiled = launchStats().pipelines;
    const times = await fn();
    if (launchStats().pipelines === compiled) runs.push(times);
  }
  if (runs.length === 0) throw new Error("timeRuns: every run compiled pipelines");
  return runs[0].map((_, i) => median(runs.map((r) => r[i])));
}

/** Wall ms of `fn`. */
async function wall(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
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

/**
 * Parts of one decode step at batch B, on inputs of the step's shapes: `matmuls` (7 per
 * layer and the LM head), `lmHead` (that one alone) and `sample` (greedy over [B, V]).
 */
function stepParts(model: Transformer, B: number) {
  const { cfg } = model;
  const H = cfg.hiddenSize;
  const x = keep(randomTensor([B, 1, H], 3));
  const a = keep(randomTensor([B, 1, cfg.numHeads * cfg.headDim], 4));
  const act = keep(randomTensor([B, 1, cfg.intermediateSize], 5));
  const logits = keep(randomTensor([B, cfg.vocabSize], 6));
  const w = (n: string) => model.params.get(n)!;
  const lmHead = () => matmul(x.reshape([B, H]), model.lmHead, { transB: true });
  const parts: Record<string, () => void> = {
    matmul: () => {
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
      lmHead();
    },
    lmhead: lmHead,
    sample: () => greedy(logits, 1),
  };
  return { parts, dispose: () => [x, a, act, logits].forEach((t) => t.dispose()) };
}

const greedy = (logits: Tensor, step: number) =>
  sample(logits, { temperature: 0, seed: 0, step }).tokens;

/** Device tensors of one batch of B prompts of length P, with a cache for N more tokens. */
function promptBatch(model: Transformer, B: number, P: number, N: number) {
  const { cfg } = model;
  const prompts = Array.from({ length: B }, (_, b) => randomIds(P, cfg.vocabSize, 100 + b));
  const idsCpu = Int32Array.from(prompts.flat());
  const maxT = P + N;
  const cache = createKVCache(cfg, B, maxT);
  const ids = keep(tensor(idsCpu, [B, P]));
  const positions = keep(tensor(Int32Array.from(idsCpu, (_, i) => i % P), [B, P]));
  const keyMask = keep(tensor(new Float32Array(B * P).fill(1), [B, P]));
  const cacheMask = keep(tensor(new Float32Array(B * maxT).fill(1), [B, maxT]));
  return {
    prompts,
    cache,
    cacheMask,
    /** Prefill into the cache and sample greedily: the first new token per row, i32 [B]. */
    prefill: () =>
      noGrad(() =>
        scope(() => {
          const logits = model.prefill(cache, { ids, positions, keyMask, idsCpu }, cacheMask);
          return keep(greedy(logits, 0));
        })
      ),
    dispose: () => {
      cache.dispose();
      for (const t of [ids, positions, keyMask, cacheMask]) t.dispose();
    },
  };
}

/** Runs per figure: `samples` up to 1024 prompt tokens, 2 up to 4096, then 1. */
export const runsFor = (tokens: number, samples: number): number =>
  Math.min(samples, tokens <= 1024 ? samples : tokens <= 4096 ? 2 : 1);

/** Prefill, engine decode and the decode step's matmuls at batch B. */
async function measureBatch(
  model: Transformer,
  prefix: string,
  B: number,
  plan: Plan,
  ctx: BenchContext,
): Promise<Record<string, number>> {
  const { prompt: P, newTokens: N } = plan;
  // Big batches cost seconds per run: fewer samples there (main.ts's rounds add more).
  const samples = runsFor(B * P, plan.samples);
  const batch = promptBatch(model, B, P, N);
  const out: Record<string, number> = {};
  try {
    // Prefill, then the engine: generate() of N + 1 new tokens less that run's prefill (which
    // samples the first); measured in pairs so that both see the same machine load. Wall
    // and CPU ms (all threads; the steadier figure while other processes share the cores).
    const [preMs, genMs, preCpu, genCpu] = await timeRuns(async () => {
      const [c0, t0] = [cpuTimeMs(), performance.now()];
      batch.prefill().dispose();
      await sync();
      const [c1, t1] = [cpuTimeMs(), performance.now()];
      await generate(model, batch.prompts, { maxNewTokens: N + 1, temperature: 0 });
      const [c2, t2] = [cpuTimeMs(), performance.now()];
      return [t1 - t0, t2 - t1 - (t1 - t0), c1 - c0, c2 - c1 - (c1 - c0)];
    }, samples);
    const perS = (tokens: number, ms: number) => round(tokens / Math.max(ms, 1e-3) * 1000);
    out[`${prefix}_prefill_b${B}_tok_s`] = perS(B * P, preMs);
    out[`${prefix}_decode_b${B}_tok_s`] = perS(B * N, genMs);
    if (Number.isFinite(preCpu)) {
      // Tokens per CPU-second × cores, as bench/util.ts's _cpu_gflops.
      out[`${prefix}_prefill_b${B}_cpu_tok_s`] = perS(B * P, preCpu / CORES);
      out[`${prefix}_decode_b${B}_cpu_tok_s`] = perS(B * N, genCpu / CORES);
    }

    // Parts of a step alone, encoded back to back as ≈ 300 ms of steps per sync.
    const { parts, dispose } = stepParts(model, B);
    const reps = Math.max(4, Math.min(N, Math.ceil(300 / (genMs / N))));
    const partMs: Record<string, number> = {};
    for (const [name, run] of Object.entries(parts)) {
      [partMs[name]] = await timeRuns(async () => [
        await wall(async () => {
          for (let s = 0; s < reps; s++) scope(run);
          await sync();
        }) / reps,
      ], samples);
      out[`${prefix}_decode_${name}_b${B}_ms`] = round(partMs[name]);
    }
    dispose();
    ctx.log(
      `${prefix} B=${B}: prefill ${preMs.toFixed(1)} ms, decode ${(genMs / N).toFixed(2)} ` +
        `ms/step (generate), of which matmuls ${partMs.matmul.toFixed(2)} (LM head ${
          partMs.lmhead.toFixed(2)
        }), greedy sample ${partMs.sample.toFixed(2)}`,
    );
  } finally {
    batch.dispose();
  }
  return out;
}

/**
 * Where a batch-1 decode step's time goes: the step's kernels alone (N steps fed back on
 * the GPU, one sync), the host time to encode them, dispatches per step, and the time of
 * that many trivial dispatches.
 */
async function measureStep(
  model: Transformer,
  prefix: string,
  plan: Plan,
  ctx: BenchContext,
): Promise<Record<string, number>> {
  const { prompt: P, newTokens: N, samples } = plan;
  const batch = promptBatch(model, 1, P, N);
  const tok0 = batch.prefill();
  await sync();
  let dispatches = 0;
  let encodeMs = 0;
  try {
    // The cache holds the prompt from here on; every run rewrites the same slots.
    /** Encode the N decode steps (fed back on the GPU); the last token, to dispose. */
    const steps = () => {
      let tok = tok0;
      for (let s = 1; s <= N; s++) {
        const prev = tok;
        tok = noGrad(() =>
          scope(() => {
            const pos = tensor([P + s - 1], [1, 1], "i32");
            const ids = prev.reshape([1, 1]);
            return keep(
              greedy(model.decodeStep(batch.cache, ids, pos, batch.cacheMask, P + s - 1), s),
            );
          })
        );
        if (prev !== tok0) prev.dispose();
      }
      return tok;
    };
    const [stepMs] = await timeRuns(async () => {
      const d0 = launchStats().dispatches;
      const t0 = performance.now();
      const tok = steps();
      encodeMs = (performance.now() - t0) / N;
      await sync();
      tok.dispose();
      dispatches = (launchStats().dispatches - d0) / N;
      return [(performance.now() - t0) / N];
    }, samples);
    // The same steps under the profiler: where a B = 1 decode step's GPU time goes.
    const prof = await profile(() => steps().dispose());
    ctx.log(`${prefix} B=1 decode, ${N} steps under the profiler:\n${formatProfile(prof, 10)}`);
    const perStep = profileFigures(`${prefix}_decode`, prof);
    for (const k of Object.keys(perStep)) {
      if (k.endsWith("_ms") && !k.endsWith("_wall_ms")) perStep[k] = round(perStep[k] / N);
    }
    const k = Math.round(dispatches);
    const [floorMs] = await timeRuns(async () => [
      await wall(async () => {
        for (let s = 0; s < N; s++) for (let i = 0; i < k; i++) fill([64], i).dispose();
        await sync();
      }) / N,
    ], samples);
    ctx.log(
      `${prefix} B=1 steps: ${stepMs.toFixed(2)} ms/step (${encodeMs.toFixed(2)} to encode), ` +
        `${k} dispatches/step, as many trivial dispatches ${floorMs.toFixed(2)} ms`,
    );
    return {
      [`${prefix}_decode_step_b1_ms`]: round(stepMs),
      [`${prefix}_decode_encode_b1_ms`]: round(encodeMs),
      [`${prefix}_decode_dispatches`]: round(dispatches),
      [`${prefix}_decode_floor_b1_ms`]: round(floorMs),
      ...perStep,
    };
  } finally {
    tok0.dispose();
    batch.dispose();
  }
}

/** zerokit's figures for one model (see the module doc). */
async function measure(
  model: Transformer,
  prefix: string,
  plan: Plan,
  ctx: BenchContext,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const B of plan.batches) Object.assign(out, await measureBatch(model, prefix, B, plan, ctx));
  Object.assign(out, await measureStep(model, prefix, plan, ctx));
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
      Object.assign(
        out,
        await measurePair(small, `${scratch}/small`, "model_small", plan, ctx, scratch),
      );
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
