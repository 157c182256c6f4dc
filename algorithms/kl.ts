/**
 * Per-token KL estimators between the policy π and the reference π_ref, from log-probs of
 * the sampled tokens (Schulman, "Approximating KL divergence"). With r = log π − log π_ref:
 *
 * - k1 = r                      unbiased for KL(π‖π_ref), high variance, can be negative
 * - k2 = ½ r²                   biased, low variance, ≥ 0
 * - k3 = e^{−r} − 1 + r         unbiased, low variance, ≥ 0 (the default; GRPO's choice)
 *
 * `kl.mode` uses them in one of two places, never both (a trap some frameworks fell into):
 * `reward` folds −coef·k into each token's reward before GAE (computed on the CPU, no
 * gradient: it is part of the return); `loss` adds +coef·mean(k) to the policy loss with the
 * gradient flowing through log π (so minimising the loss lowers the KL).
 *
 * @module
 */
import { addScalar, exp, scale, square, sub } from "../kernels/elementwise/elementwise.ts";
import type { Tensor } from "../kernels/core/tensor.ts";

export type KlEstimator = "k1" | "k2" | "k3";

/** One estimator of log-ratio r, in float64. */
export function klValue(r: number, estimator: KlEstimator): number {
  switch (estimator) {
    case "k1":
      return r;
    case "k2":
      return 0.5 * r * r;
    case "k3":
      return Math.expm1(-r) + r;
  }
}

/** Per-token estimates for one sequence (float64). */
export function klTokens(
  logprobs: ArrayLike<number>,
  refLogprobs: ArrayLike<number>,
  estimator: KlEstimator,
): Float64Array {
  return Float64Array.from(
    { length: logprobs.length },
    (_, t) => klValue(logprobs[t] - refLogprobs[t], estimator),
  );
}

/**
 * The estimator on the GPU, differentiable in `logprobs` (the reference is a constant):
 * `[N]` log π and log π_ref → `[N]` per-token KL.
 */
export function klTensor(logprobs: Tensor, refLogprobs: Tensor, estimator: KlEstimator): Tensor {
  const r = sub(logprobs, refLogprobs);
  if (estimator === "k1") return r;
  if (estimator === "k2") return scale(square(r), 0.5);
  // k3 = e^{−r} − 1 + r
  return sub(addScalar(exp(scale(r, -1)), -1), scale(r, -1));
}
