/**
 * Seeded counter-based random numbers: Philox-4x32-10 on the GPU (kernels/wgsl/philox.wgsl) and the same
 * generator on the CPU, bit for bit, for references and tests.
 *
 * A draw is a pure function of (seed, stream, step, index, domain) — see the layout in
 * philox.wgsl — so results do not depend on batch composition or dispatch shape. Kernels that
 * draw random numbers prepend `PHILOX_WGSL` (kernels/wgsl/headers.ts) to their source.
 *
 * @module
 */
import src from "./rng.wgsl" with { type: "text" };
import { gpu } from "../core/device.ts";
import { PHILOX_WGSL } from "../wgsl/headers.ts";
import { grid, kernel, launch, u32 } from "../core/runtime.ts";
import { empty, type Tensor } from "../core/tensor.ts";

const fillKernel = kernel("rng_fill", PHILOX_WGSL + src, "fill");

/** Consumers of the generator; each gets its own counter space (the 4th counter word). */
export const RNG_DOMAIN = { fill: 0, sampler: 1 } as const;

/** Where draws come from: `seed` (integer < 2^53), a `stream` (sequence id), a `step`. */
export interface RngCounter {
  seed: number;
  stream?: number;
  step?: number;
  domain?: number;
}

/** The Philox key for a seed: its low and high 32-bit halves. */
export function philoxKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`rng seed must be a non-negative integer, got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** High 32 bits of a·b for u32 a, b (16-bit halves keep every product exact in a double). */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** CPU Philox-4x32-10 (Random123's `philox4x32`): four u32 words for a counter and key. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let c0 = counter[0] >>> 0, c1 = counter[1] >>> 0, c2 = counter[2] >>> 0, c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(0xD2511F53, c0), lo0 = Math.imul(0xD2511F53, c0) >>> 0;
    const hi1 = mulhi32(0xCD9E8D57, c2), lo1 = Math.imul(0xCD9E8D57, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9E3779B9) >>> 0;
    k1 = (k1 + 0xBB67AE85) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** A uniform float in [0, 1) from a random word's top 24 bits (exact in f32). */
export function u01(bits: number): number {
  return (bits >>> 8) / 16777216;
}

/** CPU reference of {@link randomBits}: `n` words laid out as the GPU lays them out. */
export function philoxBitsCpu(n: number, c: RngCounter): Uint32Array {
  const key = philoxKey(c.seed);
  const out = new Uint32Array(n);
  for (let block = 0; block * 4 < n; block++) {
    const w = philox4x32([block, c.stream ?? 0, c.step ?? 0, c.domain ?? RNG_DOMAIN.fill], key);
    for (let j = 0; j < 4 && block * 4 + j < n; j++) out[block * 4 + j] = w[j];
  }
  return out;
}

function fill(n: number, c: RngCounter, asFloat: boolean): Tensor {
  if (n * 4 > gpu().maxBindingBytes) throw new Error(`rng: ${n} words exceed one storage binding`);
  const out = empty([n], asFloat ? "f32" : "u32");
  const [k0, k1] = philoxKey(c.seed);
  if (n === 0) return out;
  launch(fillKernel, {
    params: [
      u32(n),
      u32(c.stream ?? 0),
      u32(c.step ?? 0),
      u32(c.domain ?? RNG_DOMAIN.fill),
      u32(k0),
      u32(k1),
    ],
    bindings: [out.binding()],
    workgroups: grid(Math.ceil(n / 4 / 256)),
    overrides: { WG: 256, AS_FLOAT: asFloat ? 1 : 0 },
  });
  return out;
}

/** `n` raw random words (u32): word i = philox4x32((⌊i/4⌋, stream, step, domain), key)[i mod 4]. */
export function randomBits(n: number, c: RngCounter): Tensor {
  return fill(n, c, false);
}

/** `n` uniform floats in [0, 1): {@link u01} of the words of {@link randomBits}. */
export function randomUniform(n: number, c: RngCounter): Tensor {
  return fill(n, c, true);
}
