/**
 * Throughput of the rewards on MATH500-style answers. `bench/main.ts` calls
 * {@link benchRewards} and prints the numbers; run alone with
 * `deno run -A bench/rewards_bench.ts`.
 *
 * @module
 */

import { compareAnswers, countdown, math } from "../rewards/mod.ts";
import { clearAnswerCache } from "../rewards/equal.ts";

/** MATH500-style (prediction, gold) pairs covering the answer shapes of that set. */
const PAIRS: [string, string][] = [
  ["\\frac{14}{3}", "\\frac{14}{3}"],
  ["4.6667", "\\frac{14}{3}"],
  ["90", "90^\\circ"],
  ["\\sqrt{117}", "3\\sqrt{13}"],
  ["\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"],
  ["6-5i", "6 - 5i"],
  ["x=5", "5"],
  ["1,-2", "-2, 1"],
  ["\\dfrac{3}{56}", "\\frac{3}{56}"],
  ["2220", "2220"],
  ["p-q", "p - q"],
  ["(x-1)(x^4+x^2+1)", "x^5 - x^4 + x^3 - x^2 + x - 1"],
  ["\\text{Evelyn}", "\\text{Evelyn}"],
  ["10,080", "10,\\!080"],
  [
    "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}",
    "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}",
  ],
  ["(3,4]", "(3,4]"],
  ["1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}"],
  ["(-\\infty, 0]", "(-\\infty,0]"],
  ["2k+2", "2(k+1)"],
  ["\\text{(C)}", "C"],
  ["0.15", "\\frac{3}{20}"],
  ["52_8", "52_8"],
  ["\\$32,\\!348", "32348"],
  ["864 \\mbox{ inches}^2", "864"],
  ["(2,12) \\cup (12,102)", "(2,12)\\cup(12,102)"],
  ["-\\frac{\\pi}{6}", "-\\frac{\\pi}{6}"],
  ["y = 2x + 3", "y=3+2x"],
  ["\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1+\\sqrt5, 1-\\sqrt5\\}"],
  ["x^3+3x-6", "x^3+3x-6"],
  ["17", "16"],
];

/** Runs `f` repeatedly for about `ms` milliseconds; returns calls per second. */
function rate(f: () => number, ms = 600): number {
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    calls += f();
    now = performance.now();
  }
  return Math.round(calls / ((now - start) / 1000));
}

/**
 * Pairs from the real MATH500 answers when ../shared/data is present: each answer against
 * the next one, so both sides are parsed (a wrong answer is the common case early in RL).
 */
function math500Pairs(): [string, string][] {
  try {
    const url = new URL("../../shared/data/math500/test.jsonl", import.meta.url);
    const answers: string[] = Deno.readTextFileSync(url).trim().split("\n").map((l) =>
      JSON.parse(l).answer
    );
    return answers.map((a, i) =>
      [`\\boxed{${answers[(i + 1) % answers.length]}}`, a] as [string, string]
    );
  } catch {
    return [];
  }
}

/** Measures the rewards; returns named throughputs (calls per second). */
export async function benchRewards(): Promise<Record<string, number>> {
  await Promise.resolve();
  const orz = PAIRS.map(([p, g]) => ({
    response: `<think>…</think> <answer>\\boxed{${p}}</answer>`,
    gold: g,
  }));
  const real = math500Pairs();
  // Warm-up: module compilation and JIT are not what we measure.
  for (const [p, g] of PAIRS) compareAnswers(p, g);
  const results: Record<string, number> = {
    // Cold: the parse cache is emptied every pass, so every answer is parsed and compiled.
    reward_math_verify_per_s: rate(() => {
      clearAnswerCache();
      for (const [p, g] of PAIRS) compareAnswers(p, g);
      return PAIRS.length;
    }),
    // Warm: the same golds again, as when a prompt has several samples.
    reward_math_verify_cached_per_s: rate(() => {
      for (const [p, g] of PAIRS) compareAnswers(p, g);
      return PAIRS.length;
    }),
    reward_math_full_per_s: rate(() => {
      clearAnswerCache();
      for (const s of orz) math({ ...s, finish: "stop" });
      return orz.length;
    }),
    reward_countdown_per_s: rate(() => {
      for (let i = 0; i < 20; i++) {
        countdown({
          response: "<answer>8 * 6 / (4 - 2)</answer>",
          gold: { target: 24, numbers: [2, 4, 6, 8] },
          finish: "stop",
        });
      }
      return 20;
    }),
  };
  if (real.length) {
    results.reward_math500_verify_per_s = rate(() => {
      clearAnswerCache();
      for (const [p, g] of real) compareAnswers(p, g);
      return real.length;
    }, 1000);
  }
  return results;
}

if (import.meta.main) console.log(await benchRewards());
