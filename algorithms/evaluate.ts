/**
 * Held-out evaluation: k samples per problem with the training template and sampling
 * (unless set otherwise), scored by the training reward.
 *
 * - `eval/accuracy` (avg@k): the mean score over every sample of every problem
 * - `eval/pass@k`: the share of problems with at least one sample scoring 1
 * - `eval/length_mean`, `eval/stop_ratio`: response length in tokens, share that stopped
 *
 * @module
 */
import type { Transformer } from "../models/transformer.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import type { RewardFn } from "../rewards/types.ts";
import type { Problem } from "../data/types.ts";
import { type RewardSettings, rollout, type Sampling, score } from "./rollout.ts";
import type { Metrics, Scored } from "./types.ts";

export interface EvalResult {
  metrics: Metrics;
  samples: Scored[];
}

/** Evaluate `model` on `problems` (`encode` turns a problem into prompt ids). */
export async function evaluate(
  model: Transformer,
  tokenizer: Tokenizer,
  problems: readonly Problem[],
  encode: (p: Problem) => number[],
  sampling: Sampling,
  reward: RewardSettings,
  custom?: RewardFn,
): Promise<EvalResult> {
  const prompts = problems.map((p, group) => ({ problemId: p.id, group, ids: encode(p) }));
  const trajs = await rollout(model, tokenizer, 0, prompts, sampling);
  const golds = new Map(problems.map((p) => [p.id, p.gold]));
  const scored = score(trajs, golds, reward, custom);
  const k = sampling.samples;
  let passed = 0;
  for (let g = 0; g < problems.length; g++) {
    if (scored.slice(g * k, (g + 1) * k).some((s) => s.score >= 1)) passed++;
  }
  const n = scored.length || 1;
  return {
    metrics: {
      "eval/accuracy": scored.reduce((a, s) => a + s.score, 0) / n,
      [`eval/pass@${k}`]: problems.length ? passed / problems.length : 0,
      "eval/length_mean": scored.reduce((a, s) => a + s.response.length, 0) / n,
      "eval/stop_ratio": scored.filter((s) => s.finish === "stop").length / n,
      "eval/problems": problems.length,
      "eval/samples": k,
    },
    samples: scored,
  };
}
