/**
 * Shared test helpers: seeded random data, float64 comparison with a reported error, and a
 * finite-difference gradient check of a GPU op against its float64 CPU reference.
 *
 * @module
 */
import assert from "node:assert/strict";
import { backward } from "../kernels/core/autograd.ts";
import { initGpu } from "../kernels/core/device.ts";
import { type DType, readAll, type Tensor, tensor } from "../kernels/core/tensor.ts";
import { setTextureReads } from "../kernels/core/texture_reads.ts";
import { seededUniform } from "../models/init.ts";

export { assert };

/** Initialise WebGPU once for a test file (top-level await). */
export const gpuReady = initGpu();

/**
 * Register a kernel test twice: as this adapter runs it (on a CPU adapter its kernels read
 * their inputs through textures, kernels/core/texture_reads.ts) and with texture reads off
 * (the storage-buffer kernels a GPU runs), so both paths keep their float64 and
 * finite-difference checks.
 */
export function bothReadPaths(name: string, fn: () => void | Promise<void>): void {
  Deno.test(name, fn);
  Deno.test(`${name} [buffer reads]`, async () => {
    setTextureReads(false);
    try {
      await fn();
    } finally {
      setTextureReads(undefined);
    }
  });
}

/** A small, fast, seeded PRNG (mulberry32) returning floats in [0, 1). */
export const rng: (seed: number) => () => number = seededUniform;

let seedCounter = Date.now() % 100000;
/** A fresh seed per call, printed on failure via the message helpers below. */
export function freshSeed(): number {
  return seedCounter++;
}

/** Standard-normal samples (Box–Muller) as float64, times `scale`. */
export function randn(n: number, seed: number = freshSeed(), scale = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * scale;
  }
  return out;
}

/** Uniform integers in [0, hi). */
export function randInt(n: number, hi: number, seed: number = freshSeed()): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * hi));
}

/** Round float64 values through float32 (what the GPU actually sees). */
export function f32round(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(new Float32Array(Array.from(x)));
}

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  label?: string;
}

/** Max normwise relative error: max|a−e| / max(max|e|, atol). */
export function maxRelError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-12,
): number {
  let num = 0;
  let den = atol;
  for (let i = 0; i < expected.length; i++) {
    num = Math.max(num, Math.abs(actual[i] - expected[i]));
    den = Math.max(den, Math.abs(expected[i]));
  }
  return num / den;
}

/**
 * Assert |a−e| ≤ atol + rtol·|e| elementwise; the message names the worst element and the
 * max relative error. Returns the max relative error so tests can log it.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, label = "" }: CloseOptions = {},
): number {
  assert.equal(
    actual.length,
    expected.length,
    `${label}: length ${actual.length} vs ${expected.length}`,
  );
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const ratio = mismatch(actual[i], expected[i], rtol, atol);
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = i;
    }
  }
  const rel = maxRelError(actual, expected);
  if (worstRatio > 1) {
    assert.fail(
      `${label}: element ${worst}: got ${actual[worst]}, want ${expected[worst]} ` +
        `(rtol ${rtol}, atol ${atol}); max relative error ${rel.toExponential(2)}`,
    );
  }
  return rel;
}

/**
 * |a − e| / (atol + rtol·|e|), never NaN: a non-finite expected value is matched only by the
 * same value (±Infinity, or NaN by NaN), and a NaN or infinite actual against a finite
 * expected value is an infinite mismatch. (A NaN ratio once reset the running worst, so an
 * expected Infinity after a failing element hid the failure.)
 */
export function mismatch(a: number, e: number, rtol: number, atol: number): number {
  if (!Number.isFinite(e)) return a === e || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Infinity;
  if (!Number.isFinite(a)) return Infinity;
  return Math.abs(a - e) / (atol + rtol * Math.abs(e));
}

/** Upload float64 data as an f32 (or integer) tensor. */
export function upload(data: ArrayLike<number>, shape: number[], dtype: DType = "f32"): Tensor {
  const arr = dtype === "f32"
    ? Float32Array.from(data)
    : dtype === "i32"
    ? Int32Array.from(data)
    : Uint32Array.from(data);
  return tensor(arr, shape, dtype);
}

export async function download(t: Tensor): Promise<Float64Array> {
  const [d] = await readAll([t]);
  return Float64Array.from(d);
}

export interface GradInput {
  shape: number[];
  /** Values (float64); random normal if omitted. */
  data?: ArrayLike<number>;
  dtype?: DType;
  /** Check the gradient of this input (default: true for f32). */
  grad?: boolean;
}

export interface GradCheckOptions {
  /** Finite-difference step (float64). */
  h?: number;
  rtol?: number;
  atol?: number;
  /** Forward tolerance vs the reference. */
  forwardRtol?: number;
  forwardAtol?: number;
  label?: string;
  seed?: number;
}

/**
 * Check a GPU op's forward against `ref` (float64), and its backward against central finite
 * differences of `ref` in float64: for a random upstream gradient R, the gradient of
 * Σ ref(x)·R with respect to every input element. Inputs are rounded to f32 first so that
 * both sides see the same numbers. Returns the max relative errors.
 */
export async function gradCheck(
  op: (...xs: Tensor[]) => Tensor,
  ref: (...xs: Float64Array[]) => Float64Array,
  inputs: GradInput[],
  opts: GradCheckOptions = {},
): Promise<{ forward: number; grads: number[] }> {
  const { h = 1e-6, rtol = 2e-3, atol = 1e-4, label = "gradCheck" } = opts;
  const seed = opts.seed ?? freshSeed();
  const values = inputs.map((inp, i) =>
    Float64Array.from(
      inp.data ?? f32round(randn(inp.shape.reduce((a, b) => a * b, 1), seed + 101 * i)),
    )
  );
  const tensors = inputs.map((inp, i) => {
    const t = upload(values[i], inp.shape, inp.dtype ?? "f32");
    t.requiresGrad = inp.grad ?? (inp.dtype ?? "f32") === "f32";
    return t;
  });
  const expected = ref(...values);
  const out = op(...tensors);
  const upstream = f32round(randn(out.size, seed + 7));
  const gOut = upload(upstream, [...out.shape]);
  const forwardValues = await download(out);
  const forward = assertClose(forwardValues, expected, {
    rtol: opts.forwardRtol ?? 1e-4,
    atol: opts.forwardAtol ?? 1e-5,
    label: `${label} forward (seed ${seed})`,
  });
  backward(out, gOut);
  const grads: number[] = [];
  for (let i = 0; i < inputs.length; i++) {
    if (!tensors[i].requiresGrad) continue;
    assert.ok(tensors[i].grad, `${label}: input ${i} received no gradient`);
    const got = await download(tensors[i].grad!);
    const numeric = new Float64Array(values[i].length);
    const x = values[i];
    for (let k = 0; k < x.length; k++) {
      const keep = x[k];
      x[k] = keep + h;
      const plus = dot(ref(...values), upstream);
      x[k] = keep - h;
      const minus = dot(ref(...values), upstream);
      x[k] = keep;
      numeric[k] = (plus - minus) / (2 * h);
    }
    grads.push(
      assertClose(got, numeric, {
        rtol,
        atol,
        label: `${label} grad of input ${i} (seed ${seed})`,
      }),
    );
  }
  for (const t of [...tensors, out, gOut]) t.dispose();
  return { forward, grads };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
