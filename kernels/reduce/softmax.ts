/**
 * Softmax over the last axis, numerically stable (online max subtraction), with its
 * backward dx = y ⊙ (dy − Σ dy·y) computed from the saved output. Rows of any length work
 * (a 151,936-token vocabulary included), and tensors over the 128 MiB binding cap are
 * processed in windows of whole rows. For log-probabilities of chosen tokens use
 * `tokenLogprobs` (logprobs.ts), which never materialises the softmax.
 *
 * @module
 */
import src from "./softmax.wgsl" with { type: "text" };
import backwardSrc from "./softmax_backward.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { rowLanes, rowWindows } from "./rows.ts";
import { grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, type Tensor } from "../core/tensor.ts";
import { ROWS_WGSL } from "../wgsl/headers.ts";

const forwardKernel = kernel("softmax", ROWS_WGSL + src);
const backwardKernel = kernel("softmax_backward", ROWS_WGSL + backwardSrc);

/** softmax(x) over the last axis; same shape as x. */
export function softmax(x: Tensor): Tensor {
  const cols = x.shape[x.rank - 1];
  const rows = x.size / cols;
  const y = empty(x.shape);
  const lanes = rowLanes(cols);
  for (const w of rowWindows(rows, cols)) {
    launchReads(forwardKernel, {
      params: [u32(w.rows), u32(cols), u32(w.base)],
      bindings: [x.binding(w.start, w.count), y.binding(w.start, w.count)],
      workgroups: grid(Math.ceil((w.rows * lanes.L) / lanes.WG)),
      overrides: lanes,
    });
  }
  return record(y, [x], (dy) => [softmaxBackward(y, dy)]);
}

/** dx = y ⊙ (dy − Σ_row dy·y), the gradient of softmax given its output y. */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  const cols = y.shape[y.rank - 1];
  const rows = y.size / cols;
  const dx = empty(y.shape);
  const lanes = rowLanes(cols);
  for (const w of rowWindows(rows, cols)) {
    launchReads(backwardKernel, {
      params: [u32(w.rows), u32(cols), u32(w.base)],
      bindings: [
        y.binding(w.start, w.count),
        dy.binding(w.start, w.count),
        dx.binding(w.start, w.count),
      ],
      workgroups: grid(Math.ceil((w.rows * lanes.L) / lanes.WG)),
      overrides: lanes,
    });
  }
  return dx;
}
