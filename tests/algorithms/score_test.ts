import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { resolveConfig } from "../../config.ts";
import { type RewardSettings, score } from "../../algorithms/rollout.ts";
import type { Trajectory } from "../../algorithms/types.ts";

const traj = (text: string): Trajectory => ({
  problemId: "p",
  group: 0,
  prompt: [1],
  response: [2],
  logprobs: [-1],
  text,
  finish: "stop",
  version: 0,
});

Deno.test("score: the reward's config switches reach the verifier", () => {
  const cfg = resolveConfig({ model: { path: "bases/parity" } });
  deepStrictEqual(
    [cfg.reward.unclosed_answer, cfg.reward.decimal_rounding],
    ["reject", "structures"],
  );
  const base: RewardSettings = { name: "math", extract: "orz", truncatedReward: 0 };
  // An <answer> block never closed: ORZ's rule (the default) scores 0; "stop" reads it.
  const unclosed = [traj("<think> 6·7 </think> <answer> \\boxed{42}")];
  const golds = new Map([["p", "42"]]);
  strictEqual(score(unclosed, golds, base)[0].score, 0);
  strictEqual(score(unclosed, golds, { ...base, unclosedAnswer: "reject" })[0].score, 0);
  strictEqual(score(unclosed, golds, { ...base, unclosedAnswer: "stop" })[0].score, 1);
  // Rounded decimals inside a tuple against exact fractions: accepted unless switched off.
  const rounded = [traj("<think> … </think> <answer> \\boxed{(0.33, 0.67)} </answer>")];
  const exact = new Map([["p", "\\left(\\frac{1}{3}, \\frac{2}{3}\\right)"]]);
  strictEqual(score(rounded, exact, base)[0].score, 1);
  strictEqual(score(rounded, exact, { ...base, decimalRounding: "off" })[0].score, 0);
});
