/**
 * SiLU and the SwiGLU gate of Llama/Qwen2 MLPs (`down(silu(gate(x)) · up(x))`), fused:
 * one dispatch forward and one backward producing both input gradients.
 *
 * `swigluPacked` takes gate and up as one `[..., 2·I]` tensor (`[gate | up]` per row), the
 * output of a single matmul against the concatenated `gate_proj`/`up_proj` weights. That
 * saves a matmul dispatch forward and, backward, gives one `[..., 2·I]` gradient that flows
 * into one matmul instead of two plus an add.
 *
 * @module
 */
import src from "./activations.wgsl" with { type: "text" };
import bwdSrc from "./swiglu_backward.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { type BufferBinding, grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, type Tensor } from "../core/tensor.ts";

const actKernel = kernel("activations", src);
const swigluBwdKernel = kernel("swiglu_backward", bwdSrc);

const OP = { silu: 0, swiglu: 1, siluBackward: 2, swigluPackedBackward: 3 } as const;

/**
 * Threads per workgroup; each handles 4 columns. 256 on every adapter: on llvmpipe this
 * is 1024 floats per workgroup, enough to hide the per-workgroup cost (measured: 64 is
 * no faster).
 */
const WG = 256;

/** Bind all of `t` with the size rounded up to 16 bytes (the kernels view memory as vec4). */
function bind4(t: Tensor): BufferBinding {
  const size = Math.max(16, Math.ceil(t.size / 4) * 16);
  if (size > gpu().maxBindingBytes) {
    throw new Error(
      `activations: [${t.shape}] exceeds one storage binding; use fewer rows per call`,
    );
  }
  return { buffer: t.buffer, size };
}

function run(
  op: number,
  a: Tensor,
  b: Tensor,
  out: Tensor,
  rows: number,
  cols: number,
  strides: [number, number, number] = [cols, cols, 0],
): void {
  if (rows * cols === 0) return;
  const tiles = Math.ceil(cols / (4 * WG));
  launchReads(actKernel, {
    params: [u32(rows), u32(cols), u32(tiles), ...strides.map(u32)],
    bindings: [bind4(a), bind4(b), bind4(out)],
    workgroups: grid(rows * tiles),
    overrides: { OP: op, WG, ALIGNED: Number(cols % 4 === 0 && strides.every((s) => s % 4 === 0)) },
  });
}

/** `x · sigmoid(x)`, elementwise. */
export function silu(x: Tensor): Tensor {
  const out = empty(x.shape);
  // Elementwise over the flat tensor: one "row" of x.size columns.
  const [rows, cols] = [1, x.size];
  run(OP.silu, x, x, out, rows, cols);
  return record(out, [x], (g) => {
    const dx = empty(x.shape);
    run(OP.siluBackward, g, x, dx, rows, cols);
    return [dx];
  });
}

/** `silu(gate) · up` for two tensors of the same shape. Differentiable in both. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (gate.shape.join() !== up.shape.join()) {
    throw new Error(`swiglu: gate [${gate.shape}] and up [${up.shape}] differ`);
  }
  const out = empty(gate.shape);
  const [rows, cols] = [1, gate.size];
  run(OP.swiglu, gate, up, out, rows, cols);
  return record(out, [gate, up], (g) => {
    const dGate = empty(gate.shape);
    const dUp = empty(up.shape);
    if (rows * cols > 0) {
      const tiles = Math.ceil(cols / (4 * WG));
      launchReads(swigluBwdKernel, {
        params: [u32(rows), u32(cols), u32(tiles)],
        bindings: [bind4(g), bind4(gate), bind4(up), bind4(dGate), bind4(dUp)],
        workgroups: grid(rows * tiles),
        overrides: { WG, ALIGNED: Number(cols % 4 === 0) },
      });
    }
    return [
      gate.requiresGrad ? dGate : (dGate.dispose(), null),
      up.requiresGrad ? dUp : (dUp.dispose(), null),
    ];
  });
}

/**
 * `silu(gate) · up` where `gateUp` is `[..., 2·I]` holding `[gate | up]` in each row;
 * returns `[..., I]`. Differentiable in `gateUp`.
 */
export function swigluPacked(gateUp: Tensor): Tensor {
  const width = gateUp.shape.at(-1) ?? 0;
  if (width % 2 !== 0) throw new Error(`swigluPacked: last dimension ${width} is odd`);
  const cols = width / 2;
  const rows = gateUp.size / Math.max(width, 1);
  const out = empty([...gateUp.shape.slice(0, -1), cols]);
  run(OP.swiglu, gateUp, gateUp, out, rows, cols, [width, width, cols]);
  return record(out, [gateUp], (g) => {
    const d = empty(gateUp.shape);
    run(OP.swigluPackedBackward, g, gateUp, d, rows, cols);
    return [d];
  });
}
