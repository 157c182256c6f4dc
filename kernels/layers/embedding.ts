/**
 * Token embedding lookup and its deterministic gradient, for weights larger than a storage
 * binding (a Qwen2.5 `embed_tokens` of [151936, 896] f32 is 545 MB; a binding is capped at
 * 128 MiB on llvmpipe).
 *
 * Forward binds the weight as row windows (offsets multiples of 256 bytes), up to 6 per
 * dispatch, so a 545 MB embedding is one dispatch. Backward produces the dense [vocab, h]
 * gradient, one dispatch per 128 MiB window, each writing every row of its window once: the
 * sum of the rows of `g` whose token has that id, in increasing token order (no atomics,
 * bit-identical run to run), or zeros. Tokens are grouped by sorting token indices by
 * (id, index): on the CPU when the caller passes the ids it already has (`cpuIds`), else on
 * the GPU with an O(n²) rank kernel (n = tokens per batch; a few ms on llvmpipe at 4096).
 *
 * Limits: `ids.size · h` floats (the output, and the incoming gradient) must fit one binding.
 *
 * @module
 */
import fwdSrc from "./embedding.wgsl" with { type: "text" };
import bwdSrc from "./embedding_backward.wgsl" with { type: "text" };
import sortSrc from "./embedding_sort.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { type BufferBinding, grid, kernel, launch, u32 } from "../core/runtime.ts";
import { empty, type Tensor, tensor } from "../core/tensor.ts";

const fwdKernel = kernel("embedding", fwdSrc);
const bwdKernel = kernel("embedding_backward", bwdSrc);
const sortKernel = kernel("embedding_sort", sortSrc);

/** Weight windows bound per forward dispatch (plus ids and out: 8 storage buffers). */
const WINDOWS_PER_DISPATCH = 6;

/**
 * Rows per weight/gradient window (0: as many as fit a binding; rounded up to the 256-byte
 * offset alignment). Tests shrink it to exercise many windows and multi-dispatch lookups on
 * small tensors.
 */
export const embeddingLimits = { windowRows: 0 };

export interface EmbeddingOptions {
  /**
   * The same ids, on the CPU (they usually come from the tokenizer or sampler). The backward
   * then groups tokens on the CPU (one small upload) instead of sorting on the GPU, and the
   * forward checks that every id is in range.
   */
  cpuIds?: Int32Array;
}

function maxBinding(): number {
  return gpu().maxBindingBytes;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Rows per window: as many as fit a binding, a multiple of the rows that make the window
 * offset a multiple of 64 floats (256 bytes).
 */
function windowRows(vocab: number, h: number): number {
  const align = 64 / gcd(h, 64);
  let rows = Math.floor(maxBinding() / (4 * h));
  if (embeddingLimits.windowRows) rows = Math.min(rows, embeddingLimits.windowRows);
  if (rows >= vocab) return vocab;
  rows = embeddingLimits.windowRows
    ? Math.ceil(rows / align) * align
    : Math.floor(rows / align) * align;
  if (rows === 0 || rows * h * 4 > maxBinding()) {
    throw new Error(`embedding: ${align} rows of ${h} floats do not fit one binding`);
  }
  return Math.min(rows, vocab);
}

/** Window `k` of `t` (rows of width h), size rounded up to 16 bytes for the vec4 view. */
function windowBinding(
  t: Tensor,
  h: number,
  winRows: number,
  k: number,
  vocab: number,
): BufferBinding {
  const start = k * winRows;
  const rows = Math.min(winRows, vocab - start);
  return { buffer: t.buffer, offset: start * h * 4, size: Math.ceil((rows * h) / 4) * 16 };
}

function bind4(t: Tensor): BufferBinding {
  return { buffer: t.buffer, size: Math.max(16, Math.ceil(t.size / 4) * 16) };
}

function checkFits(what: string, floats: number): void {
  if (floats * 4 > maxBinding()) {
    throw new Error(
      `embedding: ${what} (${floats * 4} bytes) exceeds one storage binding (${maxBinding()}); ` +
        `use fewer tokens per call`,
    );
  }
}

function wgSize(): number {
  return gpu().isCpu ? 8 : 64;
}

/**
 * Look up rows of `weight` ([vocab, h]) for `ids` (i32, any shape): returns
 * `[...ids.shape, h]`. Ids outside [0, vocab) give zero rows (and throw when `cpuIds` is
 * given). Differentiable in `weight`.
 */
export function embedding(weight: Tensor, ids: Tensor, opts: EmbeddingOptions = {}): Tensor {
  if (weight.rank !== 2) {
    throw new Error(`embedding: weight must be [vocab, h], got [${weight.shape}]`);
  }
  if (ids.dtype !== "i32") throw new Error(`embedding: ids must be i32, got ${ids.dtype}`);
  const [vocab, h] = weight.shape;
  const n = ids.size;
  if (opts.cpuIds) {
    if (opts.cpuIds.length !== n) {
      throw new Error(`embedding: cpuIds has ${opts.cpuIds.length} ids, ids ${n}`);
    }
    const bad = opts.cpuIds.findIndex((v) => v < 0 || v >= vocab);
    if (bad >= 0) {
      throw new Error(`embedding: id ${opts.cpuIds[bad]} at ${bad} is outside [0, ${vocab})`);
    }
  }
  checkFits("the output", n * h);
  const out = empty([...ids.shape, h]);
  if (n > 0 && h > 0) {
    const winRows = windowRows(vocab, h);
    const windows = Math.ceil(vocab / winRows);
    for (let first = 0; first < windows; first += WINDOWS_PER_DISPATCH) {
      const count = Math.min(WINDOWS_PER_DISPATCH, windows - first);
      const ws = Array.from(
        { length: WINDOWS_PER_DISPATCH },
        (_, i) => windowBinding(weight, h, winRows, first + (i < count ? i : 0), vocab),
      );
      launch(fwdKernel, {
        params: [u32(n), u32(h), u32(vocab), u32(winRows), u32(first), u32(count)],
        bindings: [ids.binding(), ...ws, bind4(out)],
        workgroups: grid(n),
        overrides: { WG: wgSize(), ALIGNED: Number(h % 4 === 0) },
      });
    }
  }
  return record(out, [weight, ids], (g) => [embeddingGrad(g, ids, vocab, opts), null]);
}

/** Token indices sorted by (id, index), as an i32 tensor [n]. */
function sortedOrder(ids: Tensor, cpuIds?: Int32Array): Tensor {
  const n = ids.size;
  if (cpuIds) {
    // Keys (id + 2³¹)·n + t are exact in float64 and sort numerically without a comparator.
    const keys = new Float64Array(n);
    for (let t = 0; t < n; t++) keys[t] = (cpuIds[t] + 2 ** 31) * n + t;
    keys.sort();
    const order = new Int32Array(n);
    for (let k = 0; k < n; k++) order[k] = keys[k] % n;
    return tensor(order);
  }
  const order = empty([n], "i32");
  launch(sortKernel, {
    params: [u32(n)],
    bindings: [ids.binding(), order.binding()],
    workgroups: grid(Math.ceil(n / 64)),
    overrides: { WG: 64 },
  });
  return order;
}

function scatter(
  dw: Tensor,
  g: Tensor,
  ids: Tensor,
  accumulate: boolean,
  cpuIds?: Int32Array,
): void {
  const [vocab, h] = dw.shape;
  const n = ids.size;
  if (g.size !== n * h) {
    throw new Error(`embedding backward: gradient [${g.shape}] for ${n} ids × ${h}`);
  }
  checkFits("the gradient of the output", n * h);
  if (n === 0 || h === 0) return;
  const order = sortedOrder(ids, cpuIds);
  const winRows = windowRows(vocab, h);
  for (let k = 0; k * winRows < vocab; k++) {
    const rows = Math.min(winRows, vocab - k * winRows);
    launch(bwdKernel, {
      params: [u32(n), u32(h), u32(k * winRows), u32(rows)],
      bindings: [ids.binding(), order.binding(), bind4(g), windowBinding(dw, h, winRows, k, vocab)],
      workgroups: grid(accumulate ? n : rows),
      overrides: { WG: wgSize(), ALIGNED: Number(h % 4 === 0), ACCUMULATE: Number(accumulate) },
    });
  }
  order.dispose();
}

/**
 * The dense gradient [vocab, h] of `embedding(weight, ids)` for the output gradient `g`
 * ([...ids.shape, h]): row v is the sum of g's rows at tokens with id v (in token order).
 */
export function embeddingGrad(
  g: Tensor,
  ids: Tensor,
  vocab: number,
  opts: EmbeddingOptions = {},
): Tensor {
  const h = g.shape.at(-1) ?? 0;
  const dw = empty([vocab, h]);
  scatter(dw, g, ids, false, opts.cpuIds);
  return dw;
}

/**
 * `dweight += embeddingGrad(g, ids)`, touching only the rows of ids that occur: for adding
 * the embedding's gradient into an existing dense gradient (a tied LM head's) without
 * materialising and accumulating a second [vocab, h] tensor.
 */
export function embeddingGradInto(
  dweight: Tensor,
  g: Tensor,
  ids: Tensor,
  opts: EmbeddingOptions = {},
): void {
  if (dweight.rank !== 2) throw new Error(`embeddingGradInto: dweight must be [vocab, h]`);
  scatter(dweight, g, ids, true, opts.cpuIds);
}
