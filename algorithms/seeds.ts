/**
 * Every random choice of a run is a pure function of (run seed, step, purpose), so a run
 * resumed at step k draws exactly what the uninterrupted run drew: no RNG state to carry
 * beyond the step counter and the data cursor.
 *
 * @module
 */
import { mixSeed, shuffle } from "../data/shuffle.ts";

/** Purposes, so two uses of one step never share a stream. */
export const STREAM = {
  rollout: 1,
  actor: 2,
  critic: 3,
  eval: 4,
  init: 5,
  critic_head: 6,
  corpus: 7,
} as const;

/** The seed of one use: `seed` mixed with each part in turn (data/shuffle.ts's mixer). */
export function streamSeed(seed: number, ...parts: number[]): number {
  return parts.reduce((h, p) => mixSeed(h, p), seed >>> 0) & 0x7fffffff;
}

/** A seeded permutation of 0 … n−1. */
export function permutation(n: number, seed: number): number[] {
  return shuffle(Array.from({ length: n }, (_, i) => i), seed);
}
