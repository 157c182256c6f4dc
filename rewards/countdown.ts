/**
 * The `countdown` reward (TinyZero's task): given numbers and a target, the equation in the
 * last `<answer>` block must use every given number exactly once, only `+ − × ÷` and
 * parentheses, and equal the target exactly. Partial credit for a well-formed but wrong
 * answer is `formatScore` (TinyZero: 0.1; default 0, as ORZ gives no format reward).
 *
 * @example
 * ```ts
 * import { countdown } from "./countdown.ts";
 * const r = countdown({
 *   response: "<think>…</think> <answer>(6 - 2) * 5</answer>",
 *   gold: { target: 20, numbers: [2, 5, 6] },
 *   finish: "stop",
 * });
 * console.log(r.score); // 1
 * ```
 *
 * @module
 */

import { evaluateArithmetic, type Rational, rationalOf, sameRational } from "./arithmetic.ts";
import { answerBlock } from "./extract.ts";
import { capTail } from "./limits.ts";
import type { RewardResult, Sample } from "./types.ts";

/** Options of the `countdown` reward. */
export interface CountdownOptions {
  /** Score of an answer that is an equation but wrong (TinyZero uses 0.1). */
  formatScore: number;
  /** Only a sample that finished with `stop` can score 1. */
  requireStop: boolean;
}

/** The defaults: ORZ-style, no partial credit. */
export const DEFAULT_COUNTDOWN_OPTIONS: Readonly<CountdownOptions> = Object.freeze({
  formatScore: 0,
  requireStop: true,
});

/** What `countdown` reports besides its score. */
export interface CountdownDetails {
  equation: string | null;
  value: string | null;
  reason: string;
}

/** A countdown task: reach `target` from `numbers`. */
export interface CountdownTask {
  target: number;
  numbers: number[];
}

function readTask(gold: unknown): CountdownTask | null {
  let g = gold;
  if (typeof g === "string") {
    try {
      g = JSON.parse(g);
    } catch {
      return null;
    }
  }
  if (!g || typeof g !== "object") return null;
  const o = g as Record<string, unknown>;
  const numbers = o.numbers ?? o.nums;
  if (typeof o.target !== "number" || !Array.isArray(numbers)) return null;
  if (!numbers.every((x) => typeof x === "number" && Number.isFinite(x))) return null;
  return { target: o.target, numbers: numbers as number[] };
}

/** Longer answers are not an equation over a handful of numbers; refused before any regex. */
const MAX_EQUATION_CHARS = 400;

const key = (r: Rational) => `${r.n}/${r.d}`;

/** Scores one countdown sample; never throws. */
export function countdown(
  sample: Sample,
  options?: Partial<CountdownOptions>,
): RewardResult<CountdownDetails> {
  const opts = { ...DEFAULT_COUNTDOWN_OPTIONS, ...options };
  const task = readTask(sample?.gold);
  if (!task) {
    return {
      score: 0,
      details: { equation: null, value: null, reason: "gold is not {target, numbers}" },
    };
  }
  const block = answerBlock(capTail(String(sample?.response ?? "")), sample?.finish);
  if (block === null || !block.trim()) {
    return { score: 0, details: { equation: null, value: null, reason: "no <answer> equation" } };
  }
  if (block.length > MAX_EQUATION_CHARS) {
    return { score: 0, details: { equation: null, value: null, reason: "answer too long" } };
  }
  // `… = 24` at the end restates the target; the left side is the equation. Restating
  // anything else is a false claim, left in so that it fails to parse.
  const restated = /\s*=\s*(-?\d+(?:\.\d+)?)\s*\.?$/.exec(block.trim());
  const equation = restated && Number(restated[1]) === task.target
    ? block.trim().slice(0, restated.index)
    : block.trim();
  const partial = (reason: string, value: string | null = null) => ({
    score: opts.formatScore,
    details: { equation, value, reason },
  });
  let evaluated;
  try {
    evaluated = evaluateArithmetic(equation);
  } catch (e) {
    return partial(`not an arithmetic expression: ${(e as Error).message}`);
  }
  const value = key(evaluated.value);
  const used = evaluated.numbers.map(key).sort();
  let given: string[];
  try {
    given = task.numbers.map((x) => key(rationalOf(x))).sort();
  } catch {
    return { score: 0, details: { equation, value, reason: "task numbers out of range" } };
  }
  if (used.join() !== given.join()) {
    return partial(`numbers used [${used}] are not exactly [${given}]`, value);
  }
  if (!sameRational(evaluated.value, rationalOf(task.target))) {
    return partial(`equals ${value}, not ${task.target}`, value);
  }
  if (opts.requireStop && sample.finish !== "stop") {
    return partial(`correct but finish=${sample.finish}`, value);
  }
  return {
    score: 1,
    details: { equation, value, reason: "uses each number once and hits the target" },
  };
}
