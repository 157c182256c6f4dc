/**
 * Elementwise arithmetic with numpy-style broadcasting (rank ≤ 4), `minimum` / `maximum`,
 * scalar affine maps, `exp` / `clamp` / `square`, fills and `sumTo` (the reduction that is a
 * broadcast's gradient).
 *
 * Gradients follow PyTorch's conventions at the kinks: `clamp` passes g where lo ≤ x ≤ hi
 * (inclusive), `minimum` / `maximum` split g equally (g/2 each) on exact ties.
 *
 * @module
 */
import binarySrc from "./binary.wgsl" with { type: "text" };
import unarySrc from "./unary.wgsl" with { type: "text" };
import sumToSrc from "./sum_to.wgsl" with { type: "text" };
import fillSrc from "./fill.wgsl" with { type: "text" };
import vec4Src from "./binary_vec4.wgsl" with { type: "text" };
import unaryVec4Src from "./unary_vec4.wgsl" with { type: "text" };
import selectGradSrc from "./select_grad.wgsl" with { type: "text" };
import selectGradVec4Src from "./select_grad_vec4.wgsl" with { type: "text" };
import { noGrad, record } from "../core/autograd.ts";
import { f32, grid, kernel, type ParamValue, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, numel, type Tensor } from "../core/tensor.ts";

const binaryKernel = kernel("binary", binarySrc, "binary");
const unaryKernel = kernel("unary", unarySrc);
const sumToKernel = kernel("sum_to", sumToSrc);
const fillKernel = kernel("fill", fillSrc);
const binaryVec4Kernel = kernel("binary_vec4", vec4Src);
const unaryVec4Kernel = kernel("unary_vec4", unaryVec4Src);
const selectGradKernel = kernel("select_grad", selectGradSrc);
const selectGradVec4Kernel = kernel("select_grad_vec4", selectGradVec4Src);

/**
 * Binary OP codes (binary.wgsl / binary_vec4.wgsl). `scaledMul` (alpha·a·b) and
 * `clampGrad` (a where alpha ≤ b ≤ beta, else 0) are backward helpers.
 */
const OPS = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  min: 4,
  max: 5,
  scaledMul: 6,
  clampGrad: 7,
} as const;

/** Unary OP codes (unary.wgsl / unary_vec4.wgsl); alpha and beta are the op's scalars. */
const UNARY = { affine: 0, exp: 1, clamp: 2, square: 3 } as const;

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

/** One dispatch: `a OP b` (alpha, beta: the scalars of the backward helper OPs). */
function binary(
  op: keyof typeof OPS,
  a: Tensor,
  b: Tensor,
  shape: readonly number[] = broadcastShape(a.shape, b.shape),
  alpha = 0,
  beta = 0,
): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  if (a.size === out.size && b.size === out.size && out.size % 4 === 0) {
    launchReads(binaryVec4Kernel, {
      params: [u32(out.size / 4), f32(alpha), f32(beta)],
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
    f32(alpha),
    f32(beta),
  ];
  launchReads(binaryKernel, {
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
  launchReads(sumToKernel, {
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

/** One dispatch: `f(x)` for a unary OP with scalars alpha, beta (vec4 when size % 4 == 0). */
function unary(op: keyof typeof UNARY, x: Tensor, alpha = 0, beta = 0): Tensor {
  const out = empty(x.shape);
  if (out.size === 0) return out;
  const vec4 = x.size % 4 === 0;
  const units = vec4 ? x.size / 4 : x.size;
  launchReads(vec4 ? unaryVec4Kernel : unaryKernel, {
    params: [u32(units), f32(alpha), f32(beta)],
    bindings: [x.binding(), out.binding()],
    workgroups: grid(Math.ceil(units / 256)),
    overrides: { OP: UNARY[op] },
  });
  return out;
}

function affine(x: Tensor, alpha: number, beta: number): Tensor {
  return unary("affine", x, alpha, beta);
}

/** alpha · x. */
export function scale(x: Tensor, alpha: number): Tensor {
  return record(affine(x, alpha, 0), [x], (g) => [affine(g, alpha, 0)]);
}

/** x + beta (a scalar). */
export function addScalar(x: Tensor, beta: number): Tensor {
  return record(affine(x, 1, beta), [x], (g) => [g]);
}

/** eˣ. Backward: g · eˣ, reusing the output (one dispatch). */
export function exp(x: Tensor): Tensor {
  const out = unary("exp", x);
  return record(out, [x], (g) => [binary("mul", g, out)]);
}

/** x² (elementwise). Backward: 2x · g (one dispatch). */
export function square(x: Tensor): Tensor {
  return record(unary("square", x), [x], (g) => [binary("scaledMul", g, x, x.shape, 2)]);
}

/**
 * Clamp every element to [lo, hi], as `torch.clamp(x, lo, hi)` = min(max(x, lo), hi): NaN
 * stays NaN, and lo > hi gives hi everywhere. `lo` / `hi` are rounded to f32 and may be
 * ±Infinity for a one-sided clamp.
 *
 * Gradient (PyTorch's convention exactly): g where lo ≤ x ≤ hi — inclusive, so an x exactly
 * at a bound gets the full gradient — and 0 outside (one dispatch).
 */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  const out = unary("clamp", x, lo, hi);
  return record(out, [x], (g) => [binary("clampGrad", g, x, x.shape, lo, hi)]);
}

/**
 * Elementwise min(a, b), broadcasting like {@link add}; NaN propagates (as torch.minimum).
 *
 * Gradient (torch.minimum's): g to the smaller input, 0 to the larger; on an exact tie
 * a == b each input gets g/2. One dispatch for both inputs, plus a `sumTo` per broadcast one.
 */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return minMax("min", a, b);
}

/**
 * Elementwise max(a, b), broadcasting like {@link add}; NaN propagates (as torch.maximum).
 *
 * Gradient (torch.maximum's): g to the larger input, 0 to the smaller; on an exact tie
 * a == b each input gets g/2. One dispatch for both inputs, plus a `sumTo` per broadcast one.
 */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minMax("max", a, b);
}

function minMax(op: "min" | "max", a: Tensor, b: Tensor): Tensor {
  const out = binary(op, a, b);
  return record(out, [a, b], (g) => {
    const [ga, gb] = selectGrad(op, g, a, b, out.shape, a.requiresGrad, b.requiresGrad);
    return [ga && sumToOwned(ga, a.shape), gb && sumToOwned(gb, b.shape)];
  });
}

/**
 * The gradients of min/max(a, b) with respect to a and b, both in the output's `shape`, from
 * one dispatch; an input that needs none gets null (the kernel skips that output, which is
 * bound to a scratch buffer).
 */
function selectGrad(
  op: "min" | "max",
  g: Tensor,
  a: Tensor,
  b: Tensor,
  shape: readonly number[],
  wantA: boolean,
  wantB: boolean,
): [Tensor | null, Tensor | null] {
  const n = g.size;
  const ga = wantA ? empty(shape) : null;
  const gb = wantB ? empty(shape) : null;
  const sides = Number(wantA) | (Number(wantB) << 1);
  if (n === 0 || sides === 0) return [ga, gb];
  const scratch = ga && gb ? null : empty([4]);
  const bindings = [
    g.binding(),
    a.binding(),
    b.binding(),
    (ga ?? scratch!).binding(),
    (gb ?? scratch!).binding(),
  ];
  if (a.size === n && b.size === n && n % 4 === 0) {
    launchReads(selectGradVec4Kernel, {
      params: [u32(n / 4)],
      bindings,
      workgroups: grid(Math.ceil(n / 4 / 256)),
      overrides: { OP: OPS[op], SIDES: sides },
    });
  } else {
    const o4 = pad4(shape);
    launchReads(selectGradKernel, {
      params: [
        u32(n),
        u32(0),
        u32(0),
        u32(0),
        ...o4.map(u32),
        ...stridesOver(a.shape, o4).map(u32),
        ...stridesOver(b.shape, o4).map(u32),
      ],
      bindings,
      workgroups: grid(Math.ceil(n / 256)),
      overrides: { OP: OPS[op], SIDES: sides, SAME: Number(a.size === n && b.size === n) },
    });
  }
  scratch?.dispose();
  return [ga, gb];
}

/** A new f32 tensor filled with `value`. */
export function fill(shape: readonly number[], value: number): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  launchReads(fillKernel, {
    params: [u32(out.size), f32(value)],
    bindings: [out.binding()],
    workgroups: grid(Math.ceil(out.size / 256)),
  });
  return out;
}

export const zeros = (shape: readonly number[]): Tensor => fill(shape, 0);
export const ones = (shape: readonly number[]): Tensor => fill(shape, 1);
