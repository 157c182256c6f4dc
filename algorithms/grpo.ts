/**
 * GRPO: no critic; each response's advantage is its score relative to the other samples of
 * the same prompt, broadcast over its tokens. Given one step's scored rollouts:
 *
 * 1. Old log-probs and entropies of the sampling policy (training forward).
 * 2. Reference log-probs, only when `kl.mode` ≠ none.
 * 3. Group advantages: (R_i − mean_g) / (std_g + eps) for `advantage.norm` = group_std
 *    (GRPO), R_i − mean_g for `group` (Dr. GRPO). With `kl.mode` = reward, R_i is first
 *    lowered by coef · Σ_t KL_t. (ORZ's own GRPO script meant to divide by the std but a
 *    walrus-precedence slip, `if std := np.std(...) > 0`, divides by True:
 *    playground/orz_7b_ppo.py:264. Ours is the documented formula; `group` is what ORZ ran.)
 * 4. Policy update: the clipped surrogate with `loss.aggregation` (GRPO's
 *    seq_mean_token_mean, Dr. GRPO's seq_mean_token_sum_norm, or token_mean).
 *
 * @module
 */
import { groupAdvantages } from "./advantages.ts";
import { klTokens } from "./kl.ts";
import type { Learner } from "./learner.ts";
import { type AlgorithmResult, ratioLogprobs, rolloutStats } from "./common.ts";
import type { Scored } from "./types.ts";

export async function grpoStep(
  learner: Learner,
  buffer: Scored[],
  step: number,
): Promise<AlgorithmResult> {
  const { cfg } = learner;
  // 1–2.
  const old = await learner.logprobs(learner.policy, buffer);
  const ref = learner.ref ? (await learner.logprobs(learner.ref, buffer)).logprobs : undefined;
  const kl = ref
    ? buffer.map((_, i) => klTokens(old.logprobs[i], ref[i], cfg.kl.estimator))
    : undefined;

  // 3. Group-relative advantages.
  const scores = buffer.map((s, i) =>
    cfg.kl.mode === "reward" ? s.score - cfg.kl.coef * kl![i].reduce((a, b) => a + b, 0) : s.score
  );
  const advantages = groupAdvantages(
    scores,
    buffer.map((s) => s.group),
    buffer.map((s) => s.response.length),
    cfg.advantage.norm as "group" | "group_std",
    cfg.advantage.eps,
  );

  // 4. Policy update.
  const actor = await learner.updatePolicy(
    buffer,
    { oldLogprobs: ratioLogprobs(old.logprobs, buffer, step), advantages, refLogprobs: ref },
    step,
  );
  return { metrics: { ...rolloutStats(buffer, old, ref), ...actor }, advantages };
}
