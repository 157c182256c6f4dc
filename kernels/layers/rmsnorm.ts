/**
 * RMSNorm over the last dimension, Hugging Face `LlamaRMSNorm` semantics in f32:
 * `y = x / sqrt(mean(x²) + eps) * weight`.
 *
 * Forward is one dispatch (a workgroup per row on a GPU, a thread per row on a CPU adapter). Backward is two or three: a row kernel for
 * dx that also recomputes and writes the per-row inverse RMS, a column kernel that sums
 * `g · x · inv` over rows for dweight, and (only for many rows, on a GPU) a fixed-order sum of
 * its per-chunk partials. Nothing uses atomics, so gradients are bit-identical run to run.
 *
 * Why inv is recomputed rather than saved: the dx kernel must reduce `Σ g·w·x` over the row
 * anyway, and `Σ x²` rides in the same pass and the same barrier tree for one extra FMA per
 * element; saving it would need a second tensor kept alive by the tape.
 *
 * @module
 */
import fwdSrc from "./rmsnorm.wgsl" with { type: "text" };
import bwdSrc from "./rmsnorm_backward.wgsl" with { type: "text" };
import dwSrc from "./rmsnorm_dweight.wgsl" with { type: "text" };
import addSrc from "./rmsnorm_add.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { sumTo } from "../elementwise/elementwise.ts";
import { type BufferBinding, f32, grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, type Tensor } from "../core/tensor.ts";
import { TREE8_WGSL } from "../wgsl/headers.ts";

const fwdKernel = kernel("rmsnorm", TREE8_WGSL + fwdSrc);
const bwdKernel = kernel("rmsnorm_backward", TREE8_WGSL + bwdSrc);
const dwKernel = kernel("rmsnorm_dweight", dwSrc);
const addKernel = kernel("rmsnorm_add", TREE8_WGSL + addSrc);
const fwdRowsKernel = kernel("rmsnorm_rows", TREE8_WGSL + fwdSrc, "rows");
const bwdRowsKernel = kernel("rmsnorm_backward_rows", TREE8_WGSL + bwdSrc, "rows");
const addRowsKernel = kernel("rmsnorm_add_rows", TREE8_WGSL + addSrc, "rows");

/**
 * Workgroup sizes (tests swap them to exercise both configurations). On a CPU adapter a
 * workgroup is one SIMD loop (8 lanes on AVX2), so more invocations per row only add barrier
 * and scheduling work (measured on llvmpipe, 2 cores, [2048, 896]: forward 10 ms with 8,
 * 18 ms with 16, 23 ms with 64); on a GPU a row wants a full block of threads.
 */
export const rmsNormSizes = {
  /**
   * CPU: a thread per row (`threadRows`, 8 rows per workgroup: one SIMD loop, no barrier),
   * one dweight chunk (the column tiles already give every core work).
   */
  cpu: { row: 8, col: 16, chunk: 1 << 30, threadRows: true },
  /** GPU: a workgroup per row; rows split into chunks of 128 so dweight has tiles × chunks workgroups. */
  gpu: { row: 256, col: 64, chunk: 128, threadRows: false },
};

/** The row kernels' dispatch: a workgroup per row, or (threadRows) a thread per row. */
function rowLaunch(rows: number, s: { row: number; threadRows: boolean }) {
  return grid(s.threadRows ? Math.ceil(rows / s.row) : rows);
}

/** Bind all of `t` with the size rounded up to 16 bytes (the kernels view memory as vec4). */
function bind4(t: Tensor): BufferBinding {
  const size = Math.max(16, Math.ceil(t.size / 4) * 16);
  if (size > gpu().maxBindingBytes) {
    throw new Error(`rmsNorm: [${t.shape}] exceeds one storage binding; use fewer rows per call`);
  }
  return { buffer: t.buffer, size };
}

function sizes(): { row: number; col: number; chunk: number; threadRows: boolean } {
  return gpu().isCpu ? rmsNormSizes.cpu : rmsNormSizes.gpu;
}

/**
 * RMSNorm of `x` ([..., h]) with `weight` ([h]): `x / sqrt(mean(x²) + eps) * weight`,
 * computed in f32. Differentiable in both `x` and `weight`.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  const h = x.shape.at(-1) ?? 1;
  if (weight.size !== h) throw new Error(`rmsNorm: weight [${weight.shape}] for x [${x.shape}]`);
  const rows = x.size / h;
  const s = sizes();
  const y = empty(x.shape);
  if (y.size > 0) {
    launchReads(s.threadRows ? fwdRowsKernel : fwdKernel, {
      params: [u32(rows), u32(h), f32(eps)],
      bindings: [bind4(x), bind4(weight), bind4(y)],
      workgroups: rowLaunch(rows, s),
      overrides: { WG: s.row, ALIGNED: Number(h % 4 === 0) },
    });
  }
  return record(y, [x, weight], (g) => rmsNormBackward(x, weight, g, eps));
}

/**
 * The residual add fused with the RMSNorm after it: returns `[sum, normed]` with
 * `sum = x + delta` (the new residual stream) and `normed = rmsNorm(sum, weight, eps)`
 * (bit-identical to the unfused pair), in one dispatch and one pass over memory. In a
 * Llama/Qwen2 block every residual add is followed by a norm (the next sub-layer's, or the
 * final one), so this removes every separate add. Differentiable in x, delta and weight.
 */
export function addRmsNorm(x: Tensor, delta: Tensor, weight: Tensor, eps = 1e-6): [Tensor, Tensor] {
  if (x.shape.join() !== delta.shape.join()) {
    throw new Error(`addRmsNorm: x [${x.shape}] and delta [${delta.shape}] differ`);
  }
  const h = x.shape.at(-1) ?? 1;
  if (weight.size !== h) throw new Error(`addRmsNorm: weight [${weight.shape}] for x [${x.shape}]`);
  const rows = x.size / h;
  const sum = empty(x.shape);
  const y = empty(x.shape);
  if (y.size > 0) {
    const s = sizes();
    launchReads(s.threadRows ? addRowsKernel : addKernel, {
      params: [u32(rows), u32(h), f32(eps)],
      bindings: [bind4(x), bind4(delta), bind4(weight), bind4(sum), bind4(y)],
      workgroups: rowLaunch(rows, s),
      overrides: { WG: s.row, ALIGNED: Number(h % 4 === 0) },
    });
  }
  record(sum, [x, delta], (g) => [g, g]);
  record(y, [sum, weight], (g) => rmsNormBackward(sum, weight, g, eps));
  return [sum, y];
}

/** [dx, dweight] of RMSNorm for upstream gradient `g` (null where no gradient is needed). */
function rmsNormBackward(x: Tensor, weight: Tensor, g: Tensor, eps: number): (Tensor | null)[] {
  const h = weight.size;
  const rows = x.size / h;
  const s = sizes();
  const dx = empty(x.shape);
  const inv = empty([rows]);
  launchReads(s.threadRows ? bwdRowsKernel : bwdKernel, {
    params: [u32(rows), u32(h), f32(eps)],
    bindings: [bind4(x), bind4(weight), bind4(g), bind4(dx), inv.binding()],
    workgroups: rowLaunch(rows, s),
    overrides: { WG: s.row, ALIGNED: Number(h % 4 === 0) },
  });
  let dw: Tensor | null = null;
  if (weight.requiresGrad) {
    const chunk = Math.min(s.chunk, rows);
    const chunks = Math.ceil(rows / chunk);
    const tiles = Math.ceil(h / (4 * s.col));
    const partial = empty([chunks, h]);
    launchReads(dwKernel, {
      params: [u32(rows), u32(h), u32(chunk), u32(tiles)],
      bindings: [bind4(x), bind4(g), inv.binding(), bind4(partial)],
      workgroups: grid(tiles * chunks),
      overrides: { WG: s.col, ALIGNED: Number(h % 4 === 0) },
    });
    const summed = chunks === 1 ? partial : sumTo(partial, [1, h]);
    dw = summed.reshape([...weight.shape]);
    summed.dispose();
    partial.dispose();
  }
  inv.dispose();
  if (!x.requiresGrad) {
    dx.dispose();
    return [null, dw];
  }
  return [dx, dw];
}
