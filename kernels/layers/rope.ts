/**
 * Rotary position embedding (RoPE), Hugging Face "rotate half" convention as used by Llama
 * and Qwen2: for i < D/2, angle = pos · inv_freq[i] and the pair (x[i], x[i + D/2]) is
 * rotated by that angle.
 *
 * Layout: `x` is `[B, T, nHeads, D]` (any leading shape whose element count is
 * `positions.size · nHeads · D` works, e.g. `[B·T, nHeads, D]`), `positions` an i32 tensor
 * `[B, T]` of arbitrary positions (left padding, KV-cache offsets). The output has x's shape.
 *
 * Precision, matching Hugging Face's f32 computation:
 * - `inv_freq[i] = 1 / theta^(2i/D)` is computed on the CPU exactly as PyTorch does in f32
 *   (f32 exponent, f32 power, f32 reciprocal; bit-identical barring a rare 1-ulp `powf`
 *   difference) and uploaded once per (theta, D);
 * - the angle is the f32 product `f32(pos) · inv_freq[i]`, as HF's f32 matmul computes it.
 *   That product is rounded to ulp(angle)/2 (≈ 1.2e-4 rad at angle 4000), an error HF has
 *   too; compared with exact float64 angles RoPE outputs therefore differ by up to
 *   ~|x|·ulp(angle), which is inherent to f32 RoPE, not to this kernel;
 * - cos/sin of that f32 angle are accurate to ≈1e-7 absolute for |angle| < ~1e5 (own range
 *   reduction and polynomials in rope.wgsl; WGSL builtins are unspecified that far out).
 *
 * The backward pass is the rotation by −angle (the same kernel with sin negated).
 *
 * @module
 */
import src from "./rope.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { type BufferBinding, f32, grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, keep, type Tensor, tensor } from "../core/tensor.ts";

const ropeKernel = kernel("rope", src);

export interface RopeOptions {
  /** Base of the geometric frequency ladder (`rope_theta`: 10000 Llama 2, 1e6 Qwen2.5). */
  theta: number;
  /** Rotary dimension = head dimension (the last dimension of x). */
  headDim: number;
  /**
   * Inverse frequencies to use instead of `theta^(-2i/D)` (length D/2), for `rope_scaling`
   * variants that rescale them (e.g. Llama 3's). Keep the same array object across calls:
   * its upload is cached per object.
   */
  invFreq?: Float32Array;
}

/** `inv_freq` as PyTorch computes it in f32: `1 / theta ** (arange(0, D, 2).float() / D)`. */
export function ropeInvFreq(theta: number, headDim: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    out[i] = Math.fround(1 / Math.fround(Math.pow(Math.fround(theta), exponent)));
  }
  return out;
}

const tables = new Map<string, Tensor>();
const customTables = new WeakMap<Float32Array, Tensor>();
let dummy: Tensor | undefined;

/** The uploaded inverse-frequency table, zero padded to a multiple of 4 (vec4 reads). */
function invFreqTable(opts: RopeOptions): Tensor {
  const key = `${opts.theta}/${opts.headDim}`;
  const cached = opts.invFreq ? customTables.get(opts.invFreq) : tables.get(key);
  if (cached) return cached;
  const freqs = opts.invFreq ?? ropeInvFreq(opts.theta, opts.headDim);
  if (freqs.length !== opts.headDim / 2) {
    throw new Error(
      `rope: invFreq has ${freqs.length} entries, want headDim/2 = ${opts.headDim / 2}`,
    );
  }
  const padded = new Float32Array(Math.ceil(freqs.length / 4) * 4);
  padded.set(freqs);
  const t = keep(tensor(padded));
  if (opts.invFreq) customTables.set(opts.invFreq, t);
  else tables.set(key, t);
  return t;
}

/** Bind all of `t` with the size rounded up to 16 bytes (the kernel views memory as vec4). */
function bind4(t: Tensor): BufferBinding {
  const size = Math.max(16, Math.ceil(t.size / 4) * 16);
  if (size > gpu().maxBindingBytes) {
    throw new Error(`rope: [${t.shape}] exceeds one storage binding; use fewer tokens per call`);
  }
  return { buffer: t.buffer, size };
}

function headsOf(x: Tensor, positions: Tensor, headDim: number, name: string): number {
  if (x.shape.at(-1) !== headDim) {
    throw new Error(`rope: ${name} [${x.shape}] does not end in headDim ${headDim}`);
  }
  const heads = x.size / (positions.size * headDim);
  if (!Number.isInteger(heads) || heads < 1) {
    throw new Error(`rope: ${name} [${x.shape}] does not match ${positions.size} positions`);
  }
  return heads;
}

/** Encode the rotation of q (and k) by ±angle; returns the rotated tensors. */
function rotate(
  q: Tensor,
  k: Tensor | null,
  positions: Tensor,
  opts: RopeOptions,
  sign: 1 | -1,
): [Tensor, Tensor | null] {
  const d = opts.headDim;
  if (d % 2 !== 0) throw new Error(`rope: headDim ${d} is odd`);
  if (positions.dtype !== "i32") {
    throw new Error(`rope: positions must be i32, got ${positions.dtype}`);
  }
  const nq = headsOf(q, positions, d, "q");
  const nk = k ? headsOf(k, positions, d, "k") : 0;
  const qOut = empty(q.shape);
  const kOut = k ? empty(k.shape) : null;
  if (positions.size === 0) return [qOut, kOut];
  dummy ??= keep(empty([4]));
  const wg = gpu().isCpu ? 8 : 32;
  launchReads(ropeKernel, {
    params: [u32(positions.size), u32(nq), u32(nk), u32(d), f32(sign)],
    bindings: [
      positions.binding(),
      bind4(invFreqTable(opts)),
      bind4(q),
      bind4(k ?? q),
      bind4(qOut),
      bind4(kOut ?? dummy),
    ],
    workgroups: grid(Math.ceil((positions.size * Math.ceil(d / 2 / 4)) / wg)),
    overrides: { WG: wg, ALIGNED: Number((d / 2) % 4 === 0) },
  });
  return [qOut, kOut];
}

/** RoPE of `x` ([..., nHeads, headDim]) at `positions` (i32, one per token). Differentiable in x. */
export function rope(x: Tensor, positions: Tensor, opts: RopeOptions): Tensor {
  const [out] = rotate(x, null, positions, opts, 1);
  return record(out, [x, positions], (g) => [rotate(g, null, positions, opts, -1)[0], null]);
}

/**
 * RoPE of queries `q` ([B, T, nHeads, D]) and keys `k` ([B, T, nKvHeads, D]) in one
 * dispatch: cos/sin are computed once per (token, frequency) and shared by all heads.
 * Returns `[rope(q), rope(k)]`; each is differentiable in its input.
 */
export function ropeQK(
  q: Tensor,
  k: Tensor,
  positions: Tensor,
  opts: RopeOptions,
): [Tensor, Tensor] {
  const [qOut, kOut] = rotate(q, k, positions, opts, 1);
  const back = (g: Tensor) => [rotate(g, null, positions, opts, -1)[0], null];
  return [record(qOut, [q, positions], back), record(kOut!, [k, positions], back)];
}
