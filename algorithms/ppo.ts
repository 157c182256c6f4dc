/**
 * PPO with a learned critic and GAE — Open-Reasoner-Zero's recipe. Given one step's scored
 * rollouts, in order:
 *
 * 1. Old log-probs and entropies of the policy that sampled, by a training forward (ORZ
 *    recomputes them too rather than trusting vLLM's: orz/ppo/trainer.py:384-399).
 * 2. Values V(s_t) of the state before each response token (critic forward,
 *    orz/ppo/models.py:426-446 reads `values[:, :-1]`).
 * 3. Reference log-probs, only when `kl.mode` ≠ none (ORZ always builds a reference and then
 *    gives it coefficient 0: orz_7b_ppo.py:155-159; we build none).
 * 4. Token rewards: the score on the last token (orz_7b_ppo.py:306-312), −coef·KL on every
 *    token when `kl.mode` = reward.
 * 5. GAE(γ, λ) with next value 0 at each sequence end; returns = A + V
 *    (orz/ppo/utils.py:270-287). ORZ: γ = λ = 1, so A_t = R − V(s_t).
 * 6. Advantage normalisation over the whole buffer (ORZ: one mean and population std over
 *    every token, orz/ppo/utils.py:293-319).
 * 7. Critic update first (orz/ppo/trainer.py:142-151): `critic.update_steps` shuffled
 *    mini-batches of the clipped value loss (ORZ: 12, value clip 0.2, actors.py:97-106,
 *    822-856).
 * 8. Policy update: the clipped surrogate (clip 0.2, actors.py:110-131), `actor.update_steps`
 *    optimizer steps (ORZ: 1, so the ratio is ≈ 1 and the clip rarely acts), skipped for the
 *    first `critic.warmup_steps` steps.
 *
 * @module
 */
import {
  explainedVariance,
  gae,
  normalizeAdvantages,
  type Ragged,
  tokenRewards,
} from "./advantages.ts";
import { klTokens } from "./kl.ts";
import type { Learner } from "./learner.ts";
import { type AlgorithmResult, ratioLogprobs, rolloutStats } from "./common.ts";
import type { Scored } from "./types.ts";

export async function ppoStep(
  learner: Learner,
  buffer: Scored[],
  step: number,
): Promise<AlgorithmResult> {
  const { cfg } = learner;
  // 1–3. Scores of the sampled tokens under the policy, the critic and the reference.
  const old = await learner.logprobs(learner.policy, buffer);
  const values = await learner.values(buffer);
  const ref = learner.ref ? (await learner.logprobs(learner.ref, buffer)).logprobs : undefined;

  // 4. Token rewards.
  const kl = ref
    ? buffer.map((_, i) => klTokens(old.logprobs[i], ref[i], cfg.kl.estimator))
    : undefined;
  const rewards = buffer.map((s, i) =>
    tokenRewards(
      s.response.length,
      s.score,
      cfg.kl.mode === "reward" ? kl![i].map((k) => -cfg.kl.coef * k) : undefined,
    )
  );

  // 5. GAE and returns.
  const raw: Ragged = [];
  const returns: Ragged = [];
  buffer.forEach((_, i) => {
    const g = gae(rewards[i], values[i], cfg.gae.gamma, cfg.gae.lambda);
    raw.push(g.advantages);
    returns.push(g.returns);
  });

  // 6. Normalisation.
  const norm = cfg.advantage.norm as "batch" | "group" | "group_std" | "none";
  const advantages = normalizeAdvantages(raw, buffer.map((s) => s.group), norm, cfg.advantage.eps);

  // 7. Critic, then 8. policy.
  const critic = await learner.updateCritic(buffer, values, returns, step);
  const actorOn = step > cfg.critic.warmup_steps;
  const actor = actorOn
    ? await learner.updatePolicy(buffer, {
      oldLogprobs: ratioLogprobs(old.logprobs, buffer, step),
      advantages,
      refLogprobs: ref,
    }, step)
    : {};
  return {
    metrics: {
      ...rolloutStats(buffer, old, ref),
      ...critic,
      ...actor,
      "value/mean": mean(values),
      "value/explained_variance": explainedVariance(values, returns),
      "advantage/mean_raw": mean(raw),
      "returns/mean": mean(returns),
    },
    advantages,
  };
}

function mean(xs: Ragged): number {
  let s = 0, n = 0;
  for (const x of xs) for (const v of x) (s += v, n++);
  return n ? s / n : 0;
}
