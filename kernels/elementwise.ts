/**
 * Elementwise arithmetic with numpy-style broadcasting (rank ≤ 4), scalar affine maps, fills
 * and `sumTo` (the reduction that is a broadcast's gradient).
 *
 * @module
 */
import binarySrc from "./elementwise.wgsl" with { type: "text" };
import unarySrc from "./unary.wgsl" with { type: "text" };
import sumToSrc from "./sum_to.wgsl" with { type: "text" };
import fillSrc from "./fill.wgsl" with { type: "text" };
import vec4Src from "./elementwise_vec4.wgsl" with { type: "text" };
import { noGrad, record } from "./autograd.ts";
import { f32, grid, kernel, launch, type ParamValue, u32 } from "./runtime.ts";
import { empty, numel, type Tensor } from "./tensor.ts";

const binaryKernel = kernel("binary", binarySrc, "binary");
const unaryKernel = kernel("unary", unarySrc);
const sumToKernel = kernel("sum_to", sumToSrc);
const fillKernel = kernel("fill", fillSrc);
const binaryVec4Kernel = kernel("binary_vec4", vec4Src);

const OPS = { add: 0, sub: 1, mul: 2, div: 3 } as const;

/** Inputs one sum_to thread adds up (well under llvmpipe's 65,535-iteration loop limit). */
const SUM_CHUNK = 4096;

/** The broadcast result shape of `a` and `b`, or an error naming both. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`cannot broadcast [${a}] with [${b}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function pad4(shape: readonly number[]): number[] {
  if (shape.length > 4) throw new Error(`elementwise ops support rank ≤ 4, got [${shape}]`);
  return [...Array(4 - shape.length).fill(1), ...shape];
}

/** Element strides of `shape` seen through the 4-D output `out` (0 where broadcast). */
function stridesOver(shape: readonly number[], out: number[]): number[] {
  const s = pad4(shape);
  const strides = [0, 0, 0, 0];
  let acc = 1;
  for (let i = 3; i >= 0; i--) {
    strides[i] = s[i] === 1 && out[i] !== 1 ? 0 : acc;
    acc *= s[i];
  }
  return strides;
}

function binary(
  op: keyof typeof OPS,
  a: Tensor,
  b: Tensor,
  shape: readonly number[] = broadcastShape(a.shape, b.shape),
): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  if (a.size === out.size && b.size === out.size && out.size % 4 === 0) {
    launch(binaryVec4Kernel, {
      params: [u32(out.size / 4)],
      bindings: [a.binding(), b.binding(), out.binding()],
      workgroups: grid(Math.ceil(out.size / 4 / 256)),
      overrides: { OP: OPS[op] },
    });
    return out;
  }
  const o4 = pad4(shape);
  const params: ParamValue[] = [
    u32(out.size),
    u32(0),
    u32(0),
    u32(0),
    ...o4.map(u32),
    ...stridesOver(a.shape, o4).map(u32),
    ...stridesOver(b.shape, o4).map(u32),
  ];
  launch(binaryKernel, {
    params,
    bindings: [a.binding(), b.binding(), out.binding()],
    workgroups: grid(Math.ceil(out.size / 256)),
    overrides: { OP: OPS[op], SAME: Number(a.size === out.size && b.size === out.size) },
  });
  return out;
}

/** Reduce `x` to `shape` by summing over the dimensions that were broadcast. */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  const same = shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i]);
  if (same) return x.reshape([...shape]);
  const o4 = pad4(shape);
  const i4 = pad4(x.shape);
  if (o4.some((d, i) => d !== i4[i] && d !== 1)) {
    throw new Error(`sumTo: [${x.shape}] → [${shape}]`);
  }
  const m = i4.reduce((acc, d, i) => acc * (o4[i] === d ? 1 : d), 1);
  const n = numel(shape);
  const parts = Math.ceil(m / SUM_CHUNK);
  const out = empty(parts > 1 ? [parts, n] : shape);
  launch(sumToKernel, {
    params: [u32(n), u32(m), u32(SUM_CHUNK), u32(parts), ...o4.map(u32), ...i4.map(u32)],
    bindings: [x.binding(), out.binding()],
    workgroups: grid(Math.ceil((n * parts) / 256)),
  });
  if (parts > 1) {
    // Partial sums [parts, n] → [n], in order; `parts` is far below the loop limit.
    const total = noGrad(() => sumTo(out, [1, n]));
    out.dispose();
    return record(total.reshape([...shape]), [x], (g) => [broadcastTo(g, x.shape)]);
  }
  return record(out, [x], (g) => [broadcastTo(g, x.shape)]);
}

/** Broadcast `x` to `shape` (materialised copy). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (broadcastShape(x.shape, shape).join() !== shape.join()) {
    throw new Error(`cannot broadcast [${x.shape}] to [${shape}]`);
  }
  const zero = fill([1], 0);
  const out = binary("add", x, zero, shape);
  zero.dispose();
  return record(out, [x], (g) => [sumTo(g, x.shape)]);
}

/** a + b (broadcasting). */
export function add(a: Tensor, b: Tensor): Tensor {
  const out = binary("add", a, b);
  return record(out, [a, b], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

/** a − b (broadcasting). */
export function sub(a: Tensor, b: Tensor): Tensor {
  const out = binary("sub", a, b);
  return record(out, [a, b], (g) => [sumTo(g, a.shape), sumTo(scale(g, -1), b.shape)]);
}

/** a ⊙ b (broadcasting). */
export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binary("mul", a, b);
  return record(out, [a, b], (g) => [
    a.requiresGrad ? reduceProduct(g, b, a.shape) : null,
    b.requiresGrad ? reduceProduct(g, a, b.shape) : null,
  ]);
}

/** a / b (broadcasting). */
export function div(a: Tensor, b: Tensor): Tensor {
  const out = binary("div", a, b);
  return record(out, [a, b], (g) => {
    const ga = a.requiresGrad ? sumToOwned(binary("div", g, b), a.shape) : null;
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      // d(a/b)/db = −(a/b)/b = −out/b
      const t = binary("div", out, b);
      const u = binary("mul", g, t);
      t.dispose();
      gb = sumToOwned(affine(u, -1, 0), b.shape);
      u.dispose();
    }
    return [ga, gb];
  });
}

function reduceProduct(g: Tensor, other: Tensor, shape: readonly number[]): Tensor {
  return sumToOwned(binary("mul", g, other), shape);
}

function sumToOwned(x: Tensor, shape: readonly number[]): Tensor {
  const r = sumTo(x, shape);
  x.dispose();
  return r;
}

function affine(x: Tensor, alpha: number, beta: number): Tensor {
  const out = empty(x.shape);
  launch(unaryKernel, {
    params: [u32(x.size), f32(alpha), f32(beta)],
    bindings: [x.binding(), out.binding()],
    workgroups: grid(Math.ceil(x.size / 256)),
  });
  return out;
}

/** alpha · x. */
export function scale(x: Tensor, alpha: number): Tensor {
  return record(affine(x, alpha, 0), [x], (g) => [affine(g, alpha, 0)]);
}

/** x + beta (a scalar). */
export function addScalar(x: Tensor, beta: number): Tensor {
  return record(affine(x, 1, beta), [x], (g) => [g]);
}

/** A new f32 tensor filled with `value`. */
export function fill(shape: readonly number[], value: number): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  launch(fillKernel, {
    params: [u32(out.size), f32(value)],
    bindings: [out.binding()],
    workgroups: grid(Math.ceil(out.size / 256)),
  });
  return out;
}

export const zeros = (shape: readonly number[]): Tensor => fill(shape, 0);
export const ones = (shape: readonly number[]): Tensor => fill(shape, 1);
