/**
 * RMSNorm over the last dimension, Hugging Face `LlamaRMSNorm` semantics in f32:
 * `y = x / sqrt(mean(x²) + eps) * weight`.
 *
 * Forward is one dispatch (a workgroup per row). Backward is two or three: a row kernel for
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
import { record } from "./autograd.ts";
import { gpu } from "./device.ts";
import { sumTo } from "./elementwise.ts";
import { f32, grid, kernel, launch, u32 } from "./runtime.ts";
import { empty, type Tensor } from "./tensor.ts";

const fwdKernel = kernel("rmsnorm", fwdSrc);
const bwdKernel = kernel("rmsnorm_backward", bwdSrc);
const dwKernel = kernel("rmsnorm_dweight", dwSrc);

/**
 * Workgroup sizes (tests swap them to exercise both configurations). On a CPU adapter a workgroup is one SIMD loop (8 lanes on AVX2), so more
 * invocations per row only add barrier and scheduling work (measured on llvmpipe, 2 cores:
 * 8 beats 32/64/256); on a GPU a row wants a full block of threads.
 */
export const rmsNormSizes = {
  /** CPU: one chunk (the column tiles already give every core work). */
  cpu: { row: 8, col: 16, chunk: 1 << 30 },
  /** GPU: rows split into chunks of 128 so dweight has tiles × chunks workgroups. */
  gpu: { row: 256, col: 64, chunk: 128 },
};

function sizes(): { row: number; col: number; chunk: number } {
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
  const { row: wg } = sizes();
  const y = empty(x.shape);
  if (y.size > 0) {
    launch(fwdKernel, {
      params: [u32(rows), u32(h), f32(eps)],
      bindings: [x.binding(), weight.binding(), y.binding()],
      workgroups: grid(rows),
      overrides: { WG: wg },
    });
  }
  return record(y, [x, weight], (g) => rmsNormBackward(x, weight, g, eps));
}

/** [dx, dweight] of RMSNorm for upstream gradient `g` (null where no gradient is needed). */
function rmsNormBackward(x: Tensor, weight: Tensor, g: Tensor, eps: number): (Tensor | null)[] {
  const h = weight.size;
  const rows = x.size / h;
  const s = sizes();
  const dx = empty(x.shape);
  const inv = empty([rows]);
  launch(bwdKernel, {
    params: [u32(rows), u32(h), f32(eps)],
    bindings: [x.binding(), weight.binding(), g.binding(), dx.binding(), inv.binding()],
    workgroups: grid(rows),
    overrides: { WG: s.row },
  });
  let dw: Tensor | null = null;
  if (weight.requiresGrad) {
    const chunk = Math.min(s.chunk, rows);
    const chunks = Math.ceil(rows / chunk);
    const tiles = Math.ceil(h / s.col);
    const partial = empty([chunks, h]);
    launch(dwKernel, {
      params: [u32(rows), u32(h), u32(chunk), u32(tiles)],
      bindings: [x.binding(), g.binding(), inv.binding(), partial.binding()],
      workgroups: grid(tiles * chunks),
      overrides: { WG: s.col },
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
