/**
 * The shapes every reward shares. The RL trainer calls a reward once per rollout, so a
 * reward is a plain synchronous function of one sample: cheap, pure (same input, same
 * output) and total (it never throws; a failure is a score of 0 with a reason).
 *
 * @module
 */

import type { FinishReason } from "../models/generate.ts";

/** One rollout to score. */
export interface Sample {
  /** The model's generated text (untrusted: any length, any characters). */
  response: string;
  /** The reference: an answer string for `math`, `{ target, numbers }` for `countdown`. */
  gold: unknown;
  /**
   * Why generation stopped (models/generate.ts: `"stop"` or `"length"`; any other string is
   * taken as not stopped): rewards that need a finished answer give 0 unless `"stop"`.
   */
  finish: FinishReason | (string & Record<never, never>);
  /** The prompt, when a reward needs it (e.g. `format` checks if it opened `<think>`). */
  prompt?: string;
}

/** A score plus a human-readable account of how it was reached. */
export interface RewardResult<D = Record<string, unknown>> {
  /** The reward; 0 or 1 for `math`, possibly fractional for configured format credit. */
  score: number;
  /** What was extracted and why it was accepted or rejected. */
  details: D & { reason: string };
}

/** A reward: a pure function of one sample and (optional, partial) options. */
// deno-lint-ignore no-explicit-any
export type RewardFn<O = any, D = any> = (sample: Sample, options?: Partial<O>) => RewardResult<D>;
