/**
 * What an algorithm step returns, the registry of algorithms, and the metrics every
 * algorithm reports about its rollouts.
 *
 * @module
 */
import type { Ragged } from "./advantages.ts";
import { klValue } from "./kl.ts";
import type { Learner } from "./learner.ts";
import type { Metrics, Scored } from "./types.ts";

export interface AlgorithmResult {
  metrics: Metrics;
  /** The advantages used (per trajectory, per token), for samples.jsonl. */
  advantages: Ragged;
}

/** One algorithm: a step over a scored buffer, and whether it trains a critic. */
export interface Algorithm {
  usesCritic: boolean;
  step(learner: Learner, buffer: Scored[], step: number): Promise<AlgorithmResult>;
}

/**
 * The old log-probs of the PPO ratio: the training forward's, except for samples drawn by an
 * older policy than the step's (`distributed.max_lag` > 0), whose sampler log-probs are the
 * behaviour policy (recomputing them with today's weights would hide the lag).
 */
export function ratioLogprobs(old: Ragged, buffer: readonly Scored[], step: number): Ragged {
  return buffer.map((s, i) => (s.version < step - 1 ? Float64Array.from(s.logprobs) : old[i]));
}

/**
 * Entropy of the sampling policy, the sampler-vs-training log-prob gap (a free correctness
 * check: both score the same tokens under the same weights), and, when there is a
 * reference, the KL to it by every estimator.
 */
export function rolloutStats(
  buffer: readonly Scored[],
  old: { logprobs: Ragged; entropy: Ragged },
  ref?: Ragged,
): Metrics {
  let entropy = 0, n = 0, gap = 0, gapSum = 0;
  buffer.forEach((s, i) => {
    s.logprobs.forEach((lp, t) => {
      const d = Math.abs(lp - old.logprobs[i][t]);
      gap = Math.max(gap, d);
      gapSum += d;
      entropy += old.entropy[i][t];
      n++;
    });
  });
  const out: Metrics = {
    entropy: n ? entropy / n : 0,
    "logprob/sampler_vs_train_max_abs_diff": gap,
    "logprob/sampler_vs_train_mean_abs_diff": n ? gapSum / n : 0,
  };
  return ref ? { ...out, ...klMetrics(old.logprobs, ref) } : out;
}

/** Mean of each KL estimator over every token, from log π and log π_ref. */
export function klMetrics(logprobs: Ragged, ref: Ragged): Metrics {
  const sums = { k1: 0, k2: 0, k3: 0 };
  let n = 0;
  logprobs.forEach((lp, i) =>
    lp.forEach((v, t) => {
      const r = v - ref[i][t];
      sums.k1 += klValue(r, "k1");
      sums.k2 += klValue(r, "k2");
      sums.k3 += klValue(r, "k3");
      n++;
    })
  );
  return n ? { "kl/k1": sums.k1 / n, "kl/k2": sums.k2 / n, "kl/k3": sums.k3 / n } : {};
}
