/**
 * Global gradient-norm clipping (`torch.nn.utils.clip_grad_norm_` semantics) without a
 * readback: the clip coefficient stays on the GPU as a `[1]` tensor that `AdamW.step`
 * reads inside its kernel, and the norm is a `[1]` tensor to read back with the step's
 * other metrics.
 *
 * @module
 */
import src from "./grad_norm.wgsl" with { type: "text" };
import { gpu } from "../core/device.ts";
import { f32, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, type Tensor } from "../core/tensor.ts";

const sumsqKernel = kernel("grad_norm_sumsq", src, "sumsq");
const finishKernel = kernel("grad_norm_finish", src, "finish");
const WG = 256;
/** Partials per window at most; more would only lengthen the single-workgroup finish. */
const MAX_GROUPS = 1024;
/** At least this many elements per workgroup, so small tensors make one partial. */
const MIN_CHUNK = WG * 16;

export interface ClipOptions {
  /** Gradients count as multiplied by this before the norm (e.g. 1/micro-batches); default 1. */
  gradScale?: number;
  /** Elements per dispatch window (multiple of 256); default: the largest the binding cap allows. */
  windowElements?: number;
}

export interface ClipResult {
  /**
   * `[1]`: the factor to multiply raw gradients by — `gradScale · min(1, maxNorm / (norm + 1e-6))`.
   * Pass it as `AdamW.step({ gradScale: coef })`.
   */
  coef: Tensor;
  /** `[1]`: the global L2 norm of the (`gradScale`-scaled) gradients, before clipping. */
  norm: Tensor;
}

/**
 * The global L2 norm over the `.grad` of `params` (params without a gradient are skipped)
 * and the clip coefficient for `maxNorm` (`Infinity`: no clipping, norm only). Gradients are
 * not modified. Encodes one dispatch per gradient window plus one; no readback.
 */
export function clipGradNorm(
  params: readonly Tensor[],
  maxNorm: number,
  opts: ClipOptions = {},
): ClipResult {
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null && g.size > 0);
  const cap = Math.floor(gpu().maxBindingBytes / 4 / WG) * WG;
  const window = Math.min(opts.windowElements ?? cap, cap);
  if (window <= 0 || window % WG !== 0) {
    throw new Error(`clipGradNorm: windowElements must be a positive multiple of ${WG}`);
  }

  const jobs: {
    g: Tensor;
    start: number;
    n: number;
    chunk: number;
    base: number;
    groups: number;
  }[] = [];
  let count = 0;
  for (const g of grads) {
    for (let start = 0; start < g.size; start += window) {
      const n = Math.min(window, g.size - start);
      const chunk = Math.max(MIN_CHUNK, Math.ceil(n / MAX_GROUPS / WG) * WG);
      const groups = Math.ceil(n / chunk);
      jobs.push({ g, start, n, chunk, base: count, groups });
      count += groups;
    }
  }

  const coef = empty([1]);
  const norm = empty([1]);
  const partials = empty([Math.max(count, 1)]);
  for (const j of jobs) {
    launchReads(sumsqKernel, {
      params: [u32(j.n), u32(j.base), u32(j.chunk), u32(0), f32(0), f32(0)],
      bindings: [j.g.binding(j.start, j.n), partials.binding(), coef.binding(), norm.binding()],
      workgroups: [j.groups],
      overrides: { WG },
    });
  }
  const clip = Number.isFinite(maxNorm);
  if (clip && !(maxNorm > 0)) {
    throw new Error(`clipGradNorm: maxNorm must be positive, got ${maxNorm}`);
  }
  // Binding 1 is unused by `finish`; any buffer the dispatch does not write will do.
  const unused = grads[0] ?? partials;
  const dummy = unused === partials ? empty([1]) : null;
  launchReads(finishKernel, {
    params: [
      u32(count),
      u32(0),
      u32(0),
      u32(clip ? 1 : 0),
      f32(clip ? maxNorm : 0),
      f32(opts.gradScale ?? 1),
    ],
    bindings: [(dummy ?? unused).binding(0, 1), partials.binding(), coef.binding(), norm.binding()],
    workgroups: [1],
    overrides: { WG },
  });
  partials.dispose();
  dummy?.dispose();
  return { coef, norm };
}
