/**
 * The seeded GPU sampler: logits [B, V] → token ids, with greedy / temperature / top-k /
 * top-p (nucleus), all on the GPU with no readback. Method (details in sampler.wgsl): one
 * workgroup per row, no sort. A max pass and a normaliser pass (which also builds an exact
 * histogram of the tempered logits below the max, with integer workgroup atomics) bracket
 * the top-k / top-p threshold within one histogram bin; one more pass copies that bin's
 * values into workgroup memory, where bisection on the order-preserving u32 keys finishes
 * the threshold; then inverse-CDF sampling with one Philox uniform per row. So sampling
 * costs 2 passes over each row, top-k or top-p usually 3 (flat rows with huge nuclei fall
 * back to a bisection pass per step).
 *
 * Semantics (Hugging Face / vLLM order): z = logits / temperature, then top-k, then top-p
 * on the renormalised top-k distribution. Thresholds are on values, so every token tied
 * with the boundary value is kept. `temperature = 0` or `topK = 1` is greedy: the argmax,
 * ties to the lowest id. The draw for a row depends only on (seed, step, seqId, its logits),
 * never on batch composition or dispatch shape.
 *
 * Two log-probabilities come back per row:
 * - `logprobs`: log softmax(logits / temperature)[token] — temperature only, no top-k/top-p.
 *   This is the behaviour logprob RL uses (at temperature 0: log softmax(logits)[token]).
 * - `sampleLogprobs`: log-probability of the token under the distribution actually sampled
 *   (after top-k/top-p, renormalised); 0 when greedy.
 *
 * @module
 */
import src from "./sampler.wgsl" with { type: "text" };
import { gpu } from "../core/device.ts";
import { philoxKey } from "./rng.ts";
import { PHILOX_WGSL } from "../wgsl/headers.ts";
import { f32, grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, Tensor, tensor } from "../core/tensor.ts";

const sampleKernel = kernel("sample", PHILOX_WGSL + src);
const NB = 512;

/**
 * Pipeline constants for a vocabulary size: a workgroup of 32–256 threads, each with at least
 * ~16 groups of 4 logits (short rows would leave most threads idle while still paying for
 * their barriers), and the candidate slots per thread that workgroup memory holds beside the
 * fixed arrays. On a CPU adapter, where a workgroup is a loop over 8-lane SIMD rows and every
 * barrier switches through all of them, threads take up to 512 groups each instead (fewer
 * threads, fewer barrier switches): 64 × 32000 ≈ 1.5× faster, greedy or top-p. 512 keeps even the
 * worst case — the 64 bisection passes of a top-k/top-p search plus the other passes — under
 * llvmpipe's silent 65,535 loop iterations per invocation.
 */
function overridesFor(vocab: number): Record<string, number> {
  const perThread = gpu().isCpu ? 512 : 16;
  const groups = Math.ceil(vocab / 4);
  const WG = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(groups / perThread))));
  const fixed = 5 * WG * 4 + NB * 4 + 256;
  const SLOTS = Math.max(
    1,
    Math.min(16, Math.floor((gpu().maxWorkgroupStorageBytes - fixed) / (WG * 8))),
  );
  return { WG, NB, SLOTS };
}

export interface SampleOptions {
  /** Softmax temperature; 0 → greedy. Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (and ties with the k-th); 0 or ≥ V: off. 1: greedy. */
  topK?: number;
  /** Keep the smallest top set with probability ≥ p (and ties at the boundary); 1: off. */
  topP?: number;
  /** Integer seed (< 2^53). */
  seed: number;
  /** Generation step (the counter that advances per sampled position). */
  step: number;
  /** Per-row stream ids (u32/i32 tensor [B] or numbers), e.g. sequence ids; default row index. */
  seqIds?: Tensor | ArrayLike<number>;
  /** Rows per dispatch window; default: as many as fit the 128 MiB binding cap. */
  windowRows?: number;
}

export interface SampleResult {
  /** i32 [B]: the sampled token ids. */
  tokens: Tensor;
  /** f32 [B]: log softmax(logits / temperature)[token] — the RL behaviour logprob. */
  logprobs: Tensor;
  /** f32 [B]: log-probability under the filtered (top-k/top-p) distribution sampled from. */
  sampleLogprobs: Tensor;
}

/** Sample one token per row of `logits` ([B, V] or [V]). Encodes dispatches only. */
export function sample(logits: Tensor, opts: SampleOptions): SampleResult {
  if (logits.dtype !== "f32") throw new Error(`sample: logits must be f32, got ${logits.dtype}`);
  const vocab = logits.shape.at(-1) ?? 1;
  const rows = logits.size / Math.max(vocab, 1);
  const temperature = opts.temperature ?? 1;
  const topK = Math.max(0, Math.floor(opts.topK ?? 0));
  const topP = opts.topP ?? 1;
  if (!(temperature >= 0)) throw new Error(`sample: temperature must be ≥ 0, got ${temperature}`);
  if (!(topP >= 0)) throw new Error(`sample: topP must be ≥ 0, got ${topP}`);
  if (vocab < 1) throw new Error("sample: empty vocabulary");
  const greedy = temperature === 0 || topK === 1;
  const [key0, key1] = philoxKey(opts.seed);
  if (!Number.isInteger(opts.step) || opts.step < 0 || opts.step >= 2 ** 32) {
    throw new Error(`sample: step must be a u32, got ${opts.step}`);
  }

  const tokens = empty([rows], "i32");
  const logprobs = empty([rows]);
  const sampleLogprobs = empty([rows]);
  let seq: Tensor | null = null;
  let ownSeq = false;
  if (opts.seqIds !== undefined) {
    if (opts.seqIds instanceof Tensor) seq = opts.seqIds;
    else {
      seq = tensor(Uint32Array.from(opts.seqIds), [rows], "u32");
      ownSeq = true;
    }
    if (seq.size !== rows) throw new Error(`sample: ${seq.size} seqIds for ${rows} rows`);
  }

  // Windows of whole rows under the binding cap; a window starts at the 64-element boundary
  // below its first row and `base` skips the difference. Rows of a vocabulary that is a
  // multiple of 4 are 16-byte aligned and read as vec4 through a second binding.
  const aligned = vocab % 4 === 0;
  const overrides = overridesFor(vocab);
  const capElems = Math.floor(gpu().maxBindingBytes / 4);
  const fit = Math.max(1, Math.floor((capElems - 63) / vocab));
  const perWindow = Math.max(1, Math.min(opts.windowRows ?? fit, fit));
  for (let row0 = 0; row0 < rows; row0 += perWindow) {
    const n = Math.min(perWindow, rows - row0);
    const first = row0 * vocab;
    const start = first - (first % 64);
    const base = first - start;
    const window = logits.binding(start, base + n * vocab);
    launchReads(sampleKernel, {
      params: [
        u32(n),
        u32(vocab),
        u32(base),
        u32(row0),
        f32(temperature === 0 ? 1 : 1 / temperature),
        u32(topK),
        f32(Math.min(topP, 1)),
        u32(opts.step),
        u32(key0),
        u32(key1),
        u32(seq ? 1 : 0),
        u32(greedy ? 1 : 0),
        u32(aligned ? 1 : 0),
      ],
      bindings: [
        window,
        // Unused when unaligned; any 16 bytes of the (≥ 256-byte, pooled) buffer will do.
        aligned ? window : { buffer: logits.buffer, offset: 0, size: 16 },
        seq ? seq.binding() : logits.binding(0, 1),
        tokens.binding(),
        logprobs.binding(),
        sampleLogprobs.binding(),
      ],
      workgroups: grid(n),
      overrides,
    });
  }
  if (ownSeq) seq!.dispose();
  return { tokens, logprobs, sampleLogprobs };
}
