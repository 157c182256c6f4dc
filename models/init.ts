/**
 * Seeded random initialisation of new models (Hugging Face's scheme: linear and embedding
 * weights ~ N(0, initializer_range²), biases 0, RMSNorm weights 1).
 *
 * @module
 */

/** mulberry32: a small seeded generator; enough for initial weights, not for sampling. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` samples of N(0, std²) from `next` (Box–Muller, both outputs used). */
export function normalSamples(n: number, std: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(next(), 1e-300))) * std;
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** The initial values of one named Hugging Face tensor. */
export function initialValues(
  name: string,
  shape: number[],
  std: number,
  next: () => number,
): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith("norm.weight")) return new Float32Array(n).fill(1);
  if (name.endsWith(".bias")) return new Float32Array(n);
  return normalSamples(n, std, next);
}
