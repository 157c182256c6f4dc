/**
 * The RL workhorse: per-token log-probabilities and entropies of logits `[..., V]`, fused
 * (log-softmax + gather + entropy in one read of each row, the softmax never materialised),
 * with an optional sampling temperature; and {@link crossEntropy} for pretraining on top.
 *
 * - {@link logprobsAndEntropy}`(logits, targets)` → `{ logprobs, entropy }`, both `[...]`
 * - {@link tokenLogprobs}, {@link tokenEntropy}: one of the two
 * - {@link crossEntropy}`(logits, targets, { mask, ignoreIndex })` → mean loss `[1]`
 *
 * Targets are i32 token ids, one per row; a target outside `[0, V)` (e.g. −100) gives
 * logprob 0 and no gradient. `temperature` T scores `logits / T`, matching a sampler that
 * drew from softmax(logits / T) (ORZ and most RL frameworks score this way).
 *
 * Autograd: the forward saves only `[2, N]` per-row stats (logsumexp and Σ p·z); one backward
 * pass recomputes p from the logits and writes the gradient of both outputs together. The
 * stats tensor is the joint node on the tape: `logprobs` and `entropy` each send their
 * upstream gradient into their half of a `[2, N]` gradient for it (autograd sums the two),
 * so an entropy bonus costs no second [N, V] pass. Logits over the 128 MiB binding cap
 * (e.g. 512 × 151,936 × 4 B) are processed in windows of whole rows, one dispatch each.
 *
 * @module
 */
import src from "./logprobs.wgsl" with { type: "text" };
import backwardSrc from "./logprobs_backward.wgsl" with { type: "text" };
import weightsSrc from "./logprobs_weights.wgsl" with { type: "text" };
import { needsGrad, record } from "../core/autograd.ts";
import { fill } from "../elementwise/elementwise.ts";
import { maskedMean } from "./reduce.ts";
import { rowLanes, rowWindows } from "./rows.ts";
import { f32, grid, i32, kernel, type ParamValue, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { copyInto, empty, type Tensor } from "../core/tensor.ts";
import { ROW_LANES_WGSL, ROWS_WGSL } from "../wgsl/headers.ts";

const forwardKernel = kernel("logprobs", ROWS_WGSL + src);
const backwardKernel = kernel("logprobs_backward", ROW_LANES_WGSL + backwardSrc);
const weightsKernel = kernel("logprobs_weights", weightsSrc);

export interface LogprobOptions {
  /** Score softmax(logits / temperature); default 1. */
  temperature?: number;
}

export interface CrossEntropyOptions extends LogprobOptions {
  /** f32 0/1 per row (same element count as targets): rows with 0 are not counted. */
  mask?: Tensor;
  /** Rows whose target equals this are not counted; default −100 (PyTorch's). */
  ignoreIndex?: number;
}

/**
 * Log-probability of each row's target and the entropy of each row's distribution, from one
 * fused pass. `logits` `[..., V]`, `targets` i32 with one id per row → both `[...]`.
 */
export function logprobsAndEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: LogprobOptions = {},
): { logprobs: Tensor; entropy: Tensor } {
  return fused(logits, targets, opts.temperature ?? 1, true, true);
}

/** log softmax(logits / T)[target] per row (`[..., V]` → `[...]`). */
export function tokenLogprobs(logits: Tensor, targets: Tensor, opts: LogprobOptions = {}): Tensor {
  return fused(logits, targets, opts.temperature ?? 1, true, false).logprobs;
}

/** Entropy −Σ p log p of softmax(logits / T) per row (`[..., V]` → `[...]`). */
export function tokenEntropy(logits: Tensor, opts: LogprobOptions = {}): Tensor {
  return fused(logits, null, opts.temperature ?? 1, false, true).entropy;
}

/**
 * Mean over counted rows of −log softmax(logits / T)[target] → `[1]`. A row counts when its
 * target is in `[0, V)`, is not `ignoreIndex`, and its `mask` (if given) is 1. No counted
 * rows gives 0.
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  const cols = logits.shape[logits.rank - 1];
  const n = logits.size / cols;
  if (opts.mask && opts.mask.size !== n) {
    throw new Error(`crossEntropy: mask [${opts.mask.shape}] for ${n} rows`);
  }
  const logprobs = tokenLogprobs(logits, targets, opts);
  const weights = empty([n]);
  launchReads(weightsKernel, {
    params: [u32(n), u32(cols), i32(opts.ignoreIndex ?? -100)],
    bindings: [targets.binding(), (opts.mask ?? targets).binding(), weights.binding()],
    workgroups: grid(Math.ceil(n / 256)),
    overrides: { HAS_MASK: opts.mask ? 1 : 0 },
  });
  const loss = maskedMean(logprobs.reshape([n]), weights, { scale: -1 });
  logprobs.dispose();
  weights.dispose();
  return loss;
}

function fused(
  logits: Tensor,
  targets: Tensor | null,
  temperature: number,
  wantLogprobs: boolean,
  wantEntropy: boolean,
): { logprobs: Tensor; entropy: Tensor } {
  const cols = logits.shape[logits.rank - 1];
  const n = logits.size / cols;
  if (targets && targets.size !== n) {
    throw new Error(
      `logprobs: targets [${targets.shape}] for logits [${logits.shape}] (${n} rows)`,
    );
  }
  if (targets && targets.dtype === "f32") {
    throw new Error("logprobs: targets must be i32 token ids");
  }
  if (!(temperature > 0)) throw new Error(`logprobs: temperature must be > 0, got ${temperature}`);
  const invTemp = 1 / temperature;
  const lead = logits.shape.slice(0, -1);
  const shape = lead.length ? lead : [1];
  const logprobs = empty(shape);
  const entropy = empty(shape);
  const stats = empty([2, n]);
  const ids = targets ?? empty([1], "i32"); // never read when has_targets = 0
  const lanes = rowLanes(cols);
  for (const w of rowWindows(n, cols)) {
    launchReads(forwardKernel, {
      params: rowParams(w.rows, cols, w.row0, w.base, n, targets !== null, invTemp),
      bindings: [
        logits.binding(w.start, w.count),
        ids.binding(),
        logprobs.binding(),
        entropy.binding(),
        stats.binding(),
      ],
      workgroups: grid(Math.ceil((w.rows * lanes.L) / lanes.WG)),
      overrides: lanes,
    });
  }
  if (needsGrad(logits)) {
    // The joint node: its "gradient" is [gl | gh], the upstream gradients of both outputs.
    // The tape keeps the buffers of logits, targets and stats (the output) until backward.
    const inputs = targets ? [logits, targets] : [logits];
    record(stats, inputs, (g) => [backwardPass(logits, targets, stats, g, invTemp), null]);
    if (wantLogprobs) record(logprobs, [stats], (g) => [intoHalf(g, 0, n)]);
    if (wantEntropy) record(entropy, [stats], (g) => [intoHalf(g, 1, n)]);
  }
  stats.dispose();
  if (!targets) ids.dispose();
  if (!wantLogprobs) logprobs.dispose();
  if (!wantEntropy) entropy.dispose();
  return { logprobs, entropy };
}

function rowParams(
  rows: number,
  cols: number,
  first: number,
  base: number,
  n: number,
  hasTargets: boolean,
  invTemp: number,
): ParamValue[] {
  return [
    u32(rows),
    u32(cols),
    u32(first),
    u32(base),
    u32(n),
    u32(hasTargets ? 1 : 0),
    f32(invTemp),
  ];
}

/** `g` ([n]) placed in half `half` of a zero [2, n] gradient for the stats node. */
function intoHalf(g: Tensor, half: 0 | 1, n: number): Tensor {
  const out = fill([2, n], 0);
  copyInto(g, out, 0, half * n, n);
  return out;
}

function backwardPass(
  logits: Tensor,
  targets: Tensor | null,
  stats: Tensor,
  grad: Tensor,
  invTemp: number,
): Tensor {
  const cols = logits.shape[logits.rank - 1];
  const n = logits.size / cols;
  const ids = targets ?? empty([1], "i32"); // never read when has_targets = 0
  const dlogits = empty(logits.shape);
  const lanes = rowLanes(cols);
  for (const w of rowWindows(n, cols)) {
    launchReads(backwardKernel, {
      params: rowParams(w.rows, cols, w.row0, w.base, n, targets !== null, invTemp),
      bindings: [
        logits.binding(w.start, w.count),
        ids.binding(),
        stats.binding(),
        grad.binding(),
        dlogits.binding(w.start, w.count),
      ],
      workgroups: grid(Math.ceil((w.rows * lanes.L) / lanes.WG)),
      overrides: { WG: lanes.WG, L: lanes.L, CONTIG: lanes.CONTIG },
    });
  }
  if (!targets) ids.dispose();
  return dlogits;
}
