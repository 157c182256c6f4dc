/**
 * The `math` reward, ORZ's whole training signal: 1 when the extracted answer equals the
 * gold and the sample finished on its own (`finish === "stop"`), else 0. No format reward.
 *
 * @example
 * ```ts
 * import { math } from "./math.ts";
 * const r = math({
 *   response: "… </think> <answer> so \\boxed{\\frac{1}{2}} </answer>",
 *   gold: "0.5",
 *   finish: "stop",
 * });
 * console.log(r.score, r.details.reason); // 1 "equal numbers"
 * ```
 *
 * @module
 */

import { compareAnswers, goldChoice } from "./equal.ts";
import { extractAnswer } from "./extract.ts";
import { LIMITS } from "./limits.ts";
import { type MathOptions, withDefaults } from "./options.ts";
import type { RewardResult, Sample } from "./types.ts";

/** What the `math` reward reports besides its score. */
export interface MathDetails {
  /** The answer string extracted from the response, or null. */
  extracted: string | null;
  /** Which extraction rule found it (or why none did). */
  method: string;
  /** Whether the extracted answer equals the gold, regardless of `finish`. */
  correct: boolean;
  /** Why it was accepted or rejected. */
  reason: string;
}

/** Scores one sample; never throws. See the module doc and `options.ts`. */
export function math(sample: Sample, options?: Partial<MathOptions>): RewardResult<MathDetails> {
  const opts = withDefaults(options);
  const finish = sample?.finish;
  const gold = sample?.gold;
  const ex = extractAnswer(String(sample?.response ?? ""), opts.extract, {
    multipleBoxed: opts.multipleBoxed,
    finish,
    unclosedAnswer: opts.unclosedAnswer,
    // Free-form prose is read for the choice it commits to when a choice is asked for.
    choice: opts.extract === "auto" && goldChoice(gold) !== null,
  });
  if (ex.answer === null) {
    return result(0, { extracted: null, method: ex.method, correct: false, reason: ex.method });
  }
  const extracted = ex.answer.slice(0, LIMITS.maxAnswerChars + 1);
  if (typeof gold !== "string" && typeof gold !== "number") {
    return result(0, {
      extracted,
      method: ex.method,
      correct: false,
      reason: "gold is not a string",
    });
  }
  let verdict = compareAnswers(extracted, String(gold), opts);
  let details = { extracted, method: ex.method, correct: verdict.equal, reason: verdict.reason };
  // A run of adjacent boxes (`\boxed{1}, \boxed{-2}`) answers a gold list of that many
  // items; for a single-valued gold only the last box counts, so this cannot hedge.
  for (let k = 2; !verdict.equal && ex.run && k <= Math.min(ex.run.length, 8); k++) {
    const joined = ex.run.slice(-k).join(", ");
    const v = compareAnswers(joined, String(gold), opts);
    if (v.equal) {
      verdict = v;
      details = {
        extracted: joined,
        method: `run of ${k} \\boxed{}`,
        correct: true,
        reason: v.reason,
      };
    }
  }
  if (!verdict.equal) return result(0, details);
  if (opts.requireStop && finish !== "stop") {
    return result(opts.truncatedScore, { ...details, reason: `correct but finish=${finish}` });
  }
  return result(1, details);
}

function result(score: number, details: MathDetails): RewardResult<MathDetails> {
  return { score, details };
}
