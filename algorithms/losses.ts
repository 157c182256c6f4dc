/**
 * The PPO-family losses on the GPU, composed from differentiable elementwise ops, and the
 * loss aggregations as per-token weights computed on the CPU.
 *
 * Aggregation as weights: every loss here is Σ_t w_t · ℓ_t over the tokens of one optimizer
 * step, with w_t = 0 off the response. Because the weights are fixed for the whole step
 * before any micro-batch runs, summing micro-batch losses and accumulating their gradients
 * gives exactly the full-batch loss and gradient. (verl and TRL once normalised per
 * micro-batch, so gradient accumulation silently changed `token_mean`.)
 *
 * Shapes: every tensor is `[N]`, one entry per position of a packed micro-batch (N = B·T);
 * losses are `[1]`.
 *
 * @module
 */
import {
  clamp,
  exp,
  maximum,
  minimum,
  mul,
  scale,
  square,
  sub,
} from "../kernels/elementwise/elementwise.ts";
import { maskedSum } from "../kernels/reduce/reduce.ts";
import type { Tensor } from "../kernels/core/tensor.ts";
import { add } from "../kernels/elementwise/elementwise.ts";
import { type KlEstimator, klTensor } from "./kl.ts";

export type Aggregation = "token_mean" | "seq_mean_token_mean" | "seq_mean_token_sum_norm";

/**
 * Per-token weights of each sequence of an optimizer step (one number per sequence: every
 * token of sequence i gets `w[i]`):
 * - `token_mean`: 1 / Σ_i |o_i| (every token of the step counts once; ORZ, DAPO)
 * - `seq_mean_token_mean`: 1 / (n · |o_i|) (GRPO's 1/|o_i| inside a mean over sequences)
 * - `seq_mean_token_sum_norm`: 1 / (n · maxLength) (Dr. GRPO: a constant, no length bias)
 */
export function aggregationWeights(
  lengths: readonly number[],
  mode: Aggregation,
  maxLength: number,
): number[] {
  const n = lengths.length;
  if (n === 0) return [];
  if (mode === "token_mean") {
    const total = lengths.reduce((a, b) => a + b, 0);
    return lengths.map(() => (total > 0 ? 1 / total : 0));
  }
  if (mode === "seq_mean_token_mean") return lengths.map((l) => (l > 0 ? 1 / (n * l) : 0));
  return lengths.map(() => 1 / (n * maxLength));
}

export interface PolicyLossInputs {
  /** log π_θ of each sampled token (requires grad). */
  logprobs: Tensor;
  /** log π_old: the same tokens under the weights that sampled them (constant). */
  oldLogprobs: Tensor;
  advantages: Tensor;
  /** Aggregation weights (0 off the response). */
  weights: Tensor;
  clipLow: number;
  clipHigh: number;
  /** Per-token entropy of π_θ, with its bonus coefficient. */
  entropy?: { values: Tensor; coef: number };
  /** The KL-in-loss term: reference log-probs, estimator and coefficient. */
  kl?: { refLogprobs: Tensor; estimator: KlEstimator; coef: number };
}

/**
 * The clipped surrogate: ℓ_t = −min(ρ_t A_t, clip(ρ_t, 1 − low, 1 + high) A_t) with
 * ρ_t = exp(log π_θ − log π_old), plus coef·KL_t (kl.mode = loss) minus coef·H_t (entropy
 * bonus), aggregated as Σ w_t ℓ_t. Returns the loss `[1]` and the ratios `[N]` (metrics).
 */
export function policyLoss(inp: PolicyLossInputs): { loss: Tensor; ratio: Tensor } {
  const ratio = exp(sub(inp.logprobs, inp.oldLogprobs));
  const unclipped = mul(ratio, inp.advantages);
  const clipped = mul(clamp(ratio, 1 - inp.clipLow, 1 + inp.clipHigh), inp.advantages);
  let perToken = scale(minimum(unclipped, clipped), -1);
  if (inp.kl) {
    const kl = klTensor(inp.logprobs, inp.kl.refLogprobs, inp.kl.estimator);
    perToken = add(perToken, scale(kl, inp.kl.coef));
  }
  if (inp.entropy && inp.entropy.coef !== 0) {
    perToken = sub(perToken, scale(inp.entropy.values, inp.entropy.coef));
  }
  return { loss: maskedSum(perToken, inp.weights), ratio };
}

export interface ValueLossInputs {
  /** V_φ(s_t) (requires grad). */
  values: Tensor;
  /** The values computed before the update (constant). */
  oldValues: Tensor;
  /** Regression targets (GAE returns). */
  returns: Tensor;
  weights: Tensor;
  /** Clip V to V_old ± this; null: unclipped. */
  clip: number | null;
}

/**
 * ½ · max((clip(V, V_old ± c) − R)², (V − R)²), aggregated as Σ w_t ℓ_t (ORZ's clipped value
 * loss, value_clip 0.2; orz/ppo/models.py's ValueLoss). Without a clip: ½ (V − R)².
 */
export function valueLoss(inp: ValueLossInputs): Tensor {
  const err = square(sub(inp.values, inp.returns));
  let perToken = err;
  if (inp.clip !== null) {
    const vClipped = add(inp.oldValues, clamp(sub(inp.values, inp.oldValues), -inp.clip, inp.clip));
    perToken = maximum(square(sub(vClipped, inp.returns)), err);
  }
  return maskedSum(perToken, inp.weights, { scale: 0.5 });
}
