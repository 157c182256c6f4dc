/**
 * Deterministic reductions with their backward: {@link sum}, {@link mean},
 * {@link maskedSum}, {@link maskedMean}, over the whole tensor or over the last axis. No
 * atomics: each sum runs in an order fixed by the shape, so reruns are bit-identical.
 *
 * Shapes: a full reduction returns shape `[1]` (the scalar `backward()` accepts). With
 * `axis: -1` the last axis is dropped (`[B, T]` → `[B]`; a 1-D input gives `[1]`), or kept as
 * 1 with `keepDim: true`. Masks are f32 0/1 of the same element count as `x`; a masked mean
 * over an all-zero mask is 0 (with zero gradient), not NaN, so an empty response is harmless.
 *
 * The RL loss aggregations (`loss`, `mask`: [B, T]) take one op each, two for the second:
 * - token_mean: `maskedMean(loss, mask)`
 * - seq_mean_token_mean: `mean(maskedMean(loss, mask, { axis: -1 }))`
 * - seq_mean_token_sum_norm (Dr.GRPO, per-sequence sums over a constant C, averaged over the
 *   B sequences): `maskedSum(loss, mask, { scale: 1 / (B * C) })`
 *
 * How: one row kernel (reduce.wgsl) does everything. A reduction over the last axis is one
 * dispatch per ≤128 MiB window of rows. A full reduction is two stages: the tensor as rows
 * of a ≥4096-element chunk (≤ 1024 chunks) reduced to per-chunk partials, then one row of
 * partials folded in order. How a row is spread over threads depends on the adapter
 * (rows.ts: `rowLanes`); softmax.ts and logprobs.ts use the same layouts and windows.
 *
 * @module
 */
import src from "./reduce.wgsl" with { type: "text" };
import backwardSrc from "./reduce_backward.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { f32, grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, type Tensor } from "../core/tensor.ts";
import { ROWS_WGSL } from "../wgsl/headers.ts";
import { maxBindingElements, rowLanes, type RowWindow, rowWindows } from "./rows.ts";

const reduceKernel = kernel("reduce", ROWS_WGSL + src);
const backwardKernel = kernel("reduce_backward", backwardSrc);

/** Elements per chunk of a full reduction at least; grows so that there are ≤ MAX_PARTIALS. */
const CHUNK = 4096;
const MAX_PARTIALS = 1024;

/** Options shared by every reduction. */
export interface ReduceOptions {
  /** `-1` (or the last axis' index): reduce each row of the last axis; default: everything. */
  axis?: number;
  /** With `axis`, keep the reduced axis as size 1 (`[B, T]` → `[B, 1]`). */
  keepDim?: boolean;
  /** Multiply the result by this constant (folds a loss normaliser into the same pass). */
  scale?: number;
}

/** Σ x, over everything (→ [1]) or the last axis. */
export function sum(x: Tensor, opts: ReduceOptions = {}): Tensor {
  return reduce(x, null, false, opts);
}

/** Mean of x, over everything (→ [1]) or the last axis. */
export function mean(x: Tensor, opts: ReduceOptions = {}): Tensor {
  const count = opts.axis === undefined ? x.size : x.shape[x.rank - 1];
  return reduce(x, null, false, { ...opts, scale: (opts.scale ?? 1) / count });
}

/** Σ x·mask, over everything (→ [1]) or the last axis. */
export function maskedSum(x: Tensor, mask: Tensor, opts: ReduceOptions = {}): Tensor {
  return reduce(x, mask, false, opts);
}

/** Σ x·mask / Σ mask (0 where Σ mask = 0), over everything (→ [1]) or the last axis. */
export function maskedMean(x: Tensor, mask: Tensor, opts: ReduceOptions = {}): Tensor {
  return reduce(x, mask, true, opts);
}

function reduce(x: Tensor, mask: Tensor | null, isMean: boolean, opts: ReduceOptions): Tensor {
  if (mask && mask.size !== x.size) {
    throw new Error(`masked reduction: mask [${mask.shape}] does not match x [${x.shape}]`);
  }
  const scale = opts.scale ?? 1;
  let out: Tensor;
  let den: Tensor;
  let cols: number;
  if (opts.axis === undefined) {
    [out, den] = reduceAll(x, mask, isMean, scale);
    cols = 0;
  } else {
    if (opts.axis !== -1 && opts.axis !== x.rank - 1) {
      throw new Error(`reductions support axis -1 only, got ${opts.axis} for [${x.shape}]`);
    }
    cols = x.shape[x.rank - 1];
    const lead = x.shape.slice(0, -1);
    const shape = opts.keepDim ? [...lead, 1] : lead.length ? lead : [1];
    [out, den] = reduceRows(x, mask, isMean, scale, x.size / cols, cols, shape);
  }
  // Saved for backward as tape inputs (the tape keeps their buffers alive): the mask, and Σ
  // mask per output for a masked mean.
  const saved = mask ? (isMean ? [x, mask, den] : [x, mask]) : [x];
  record(out, saved, (g) => [spread(g, x, mask, isMean ? den : null, scale, cols), null, null]);
  den.dispose();
  return out;
}

function reduceAll(
  x: Tensor,
  mask: Tensor | null,
  isMean: boolean,
  scale: number,
): [Tensor, Tensor] {
  // Stage 1: a row reduction over the [full, chunk] prefix, plus one row for the tail.
  const n = x.size;
  const chunk = CHUNK * Math.max(1, Math.ceil(n / (CHUNK * MAX_PARTIALS)));
  const full = Math.floor(n / chunk);
  const tail = n - full * chunk;
  const parts = full + (tail > 0 || n === 0 ? 1 : 0);
  const partNum = empty([parts]);
  const partDen = empty([parts]);
  const flags = { MASKED: mask ? 1 : 0 };
  rowPass(x, mask, full, chunk, partNum, partDen, 1, flags);
  if (parts > full) {
    // chunk is a multiple of 64 elements, so the tail starts 256-byte aligned
    const w = { row0: full, rows: 1, start: full * chunk, count: tail, base: 0 };
    launchRows(x, mask, w, tail, partNum, partDen, 1, flags);
  }
  // Stage 2: one row of `parts` partials, folded in order.
  const out = empty([1]);
  const den = empty([1]);
  const w = { row0: 0, rows: 1, start: 0, count: parts, base: 0 };
  launchRows(partNum, partDen, w, parts, out, den, scale, { FINISH: 1, MEAN: isMean ? 1 : 0 });
  partNum.dispose();
  partDen.dispose();
  return [out, den];
}

function reduceRows(
  x: Tensor,
  mask: Tensor | null,
  isMean: boolean,
  scale: number,
  rows: number,
  cols: number,
  shape: number[],
): [Tensor, Tensor] {
  const out = empty(shape);
  const den = empty([rows]);
  rowPass(x, mask, rows, cols, out, den, scale, { MASKED: mask ? 1 : 0, MEAN: isMean ? 1 : 0 });
  return [out, den];
}

/** Reduce `rows` rows of `cols` elements of x (and mask) into out/den, window by window. */
function rowPass(
  x: Tensor,
  mask: Tensor | null,
  rows: number,
  cols: number,
  out: Tensor,
  den: Tensor,
  scale: number,
  flags: Record<string, number>,
): void {
  for (const w of rowWindows(rows, cols)) launchRows(x, mask, w, cols, out, den, scale, flags);
}

function launchRows(
  x: Tensor,
  mask: Tensor | null,
  w: RowWindow,
  cols: number,
  out: Tensor,
  den: Tensor,
  scale: number,
  flags: Record<string, number>,
): void {
  if (w.rows === 0) return;
  const shape = rowLanes(cols);
  launchReads(reduceKernel, {
    params: [u32(w.rows), u32(cols), u32(w.row0), u32(w.base), f32(scale)],
    bindings: [
      x.binding(w.start, w.count),
      (mask ?? x).binding(w.start, w.count),
      out.binding(),
      den.binding(),
    ],
    workgroups: grid(Math.ceil((w.rows * shape.L) / shape.WG)),
    overrides: { ...shape, ...flags },
  });
}

/** The backward of every reduction: g spread over the elements each output summed. */
function spread(
  g: Tensor,
  x: Tensor,
  mask: Tensor | null,
  den: Tensor | null,
  scale: number,
  cols: number,
): Tensor {
  const dx = empty(x.shape);
  const n = x.size;
  const align = gpu().offsetAlignment / 4;
  const perWindow = Math.floor(maxBindingElements() / align) * align;
  for (let start = 0; start < n; start += perWindow) {
    const len = Math.min(perWindow, n - start);
    launchReads(backwardKernel, {
      params: [u32(len), u32(start), u32(cols), f32(scale)],
      bindings: [
        g.binding(),
        mask ? mask.binding(start, len) : g.binding(),
        (den ?? g).binding(),
        dx.binding(start, len),
      ],
      workgroups: grid(Math.ceil(len / 256)),
      overrides: { WG: 256, MASKED: mask ? 1 : 0, MEAN: den ? 1 : 0 },
    });
  }
  return dx;
}
