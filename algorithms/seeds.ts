/**
 * Every random choice of a run is a pure function of (run seed, step, purpose), so a run
 * resumed at step k draws exactly what the uninterrupted run drew: no RNG state to carry
 * beyond the step counter and the data cursor.
 *
 * @module
 */
import { seededUniform } from "../models/init.ts";

/** Purposes, so two uses of one step never share a stream. */
export const STREAM = {
  rollout: 1,
  actor: 2,
  critic: 3,
  eval: 4,
  init: 5,
  critic_head: 6,
} as const;

/** A 31-bit seed mixed from integers (splitmix32-style avalanche on each part). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) & 0x7fffffff;
}

/** A seeded permutation of 0 … n−1 (Fisher–Yates). */
export function permutation(n: number, seed: number): number[] {
  const next = seededUniform(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
