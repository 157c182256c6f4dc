/**
 * Seeded shuffling and the prompt stream a trainer draws batches from.
 *
 * The stream's whole position is two integers (epoch, cursor), so a checkpoint saves it
 * and a resumed run draws exactly the prompts the uninterrupted run would have.
 *
 * @module
 */

import { seededUniform } from "../models/init.ts";
import type { Problem } from "./types.ts";

/**
 * A 32-bit seed from a seed and a counter (here, the epoch), so consecutive epochs get
 * unrelated orders rather than the PRNG's neighbouring streams (murmur3's finaliser).
 */
export function mixSeed(seed: number, counter: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(counter >>> 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A shuffled copy of `items` (Fisher–Yates), the same for the same seed. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rand = seededUniform(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Where a {@link PromptStream} is: the epoch, and how many of its problems are drawn. */
export interface StreamState {
  epoch: number;
  cursor: number;
}

/**
 * An endless stream of problems: each epoch is a fresh seeded shuffle of all of them
 * (epoch e uses `mixSeed(seed, e)`), and a draw that runs past an epoch's end continues
 * into the next, so every problem is seen once per epoch.
 *
 * @example
 * ```ts
 * import { PromptStream } from "./shuffle.ts";
 * const problems = [1, 2, 3].map((i) => ({ id: `p:${i}`, question: `q${i}`, gold: `${i}` }));
 * const stream = new PromptStream(problems, 7);
 * stream.next(2);
 * const saved = stream.state();
 * PromptStream.restore(problems, 7, saved).next(4); // the same as stream.next(4)
 * ```
 */
export class PromptStream {
  readonly problems: readonly Problem[];
  readonly seed: number;
  #epoch = 0;
  #cursor = 0;
  #order: Problem[];

  constructor(problems: readonly Problem[], seed: number) {
    if (problems.length === 0) throw new RangeError("PromptStream: no problems to draw from");
    this.problems = problems;
    this.seed = seed;
    this.#order = this.#epochOrder(0);
  }

  /** A stream over the same problems and seed, continuing from a saved {@link state}. */
  static restore(problems: readonly Problem[], seed: number, state: StreamState): PromptStream {
    const stream = new PromptStream(problems, seed);
    stream.restore(state);
    return stream;
  }

  #epochOrder(epoch: number): Problem[] {
    return shuffle(this.problems, mixSeed(this.seed, epoch));
  }

  /** The next `n` problems, crossing into the next epoch when this one runs out. */
  next(n: number): Problem[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`PromptStream.next: bad n ${n}`);
    const out: Problem[] = [];
    while (out.length < n) {
      if (this.#cursor === this.#order.length) this.restore({ epoch: this.#epoch + 1, cursor: 0 });
      const take = Math.min(n - out.length, this.#order.length - this.#cursor);
      out.push(...this.#order.slice(this.#cursor, this.#cursor + take));
      this.#cursor += take;
    }
    return out;
  }

  /** The position to save; {@link restore} returns to it. */
  state(): StreamState {
    return { epoch: this.#epoch, cursor: this.#cursor };
  }

  /** Moves to a saved position (the same problems and seed are the caller's promise). */
  restore(state: StreamState): void {
    const { epoch, cursor } = state;
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(`PromptStream.restore: bad epoch ${epoch}`);
    }
    if (!Number.isInteger(cursor) || cursor < 0 || cursor > this.problems.length) {
      throw new RangeError(
        `PromptStream.restore: cursor ${cursor} outside 0..${this.problems.length}`,
      );
    }
    if (epoch !== this.#epoch) this.#order = this.#epochOrder(epoch);
    this.#epoch = epoch;
    this.#cursor = cursor;
  }
}
