/**
 * Rewards: plain, synchronous, pure functions of one sample, registered by name so a run
 * config picks one with a single key.
 *
 * @example
 * ```ts
 * import { equal, rewards } from "./mod.ts";
 * equal("\\frac{1}{2}", "0.5"); // true
 * rewards.math({ response: "<answer>\\boxed{4}</answer>", gold: "4", finish: "stop" }).score; // 1
 * ```
 *
 * @module
 */

import { countdown } from "./countdown.ts";
import { format } from "./format.ts";
import { math } from "./math.ts";
import type { RewardFn } from "./types.ts";

/** Every reward by name. Adding one is one line here. */
export const rewards = { math, countdown, format } satisfies Record<string, RewardFn>;

/** A registered reward's name. */
export type RewardName = keyof typeof rewards;

export { countdown, format, math };
export { compareAnswers, equal, type Verdict } from "./equal.ts";
export { extractAnswer, type Extraction, type ExtractMode } from "./extract.ts";
export { DEFAULT_MATH_OPTIONS, type MathOptions, MathOptionsSchema } from "./options.ts";
export { type CountdownOptions, DEFAULT_COUNTDOWN_OPTIONS } from "./countdown.ts";
export { DEFAULT_FORMAT_OPTIONS, type FormatOptions } from "./format.ts";
export type { RewardFn, RewardResult, Sample } from "./types.ts";
