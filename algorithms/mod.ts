/**
 * The RL core: PPO with a learned critic and GAE (Open-Reasoner-Zero), the GRPO family, KL
 * options, the losses, rollouts, the trainer loop with checkpoints and exact resume, and
 * held-out evaluation.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "../config.ts";
 * import { initGpu } from "../kernels/core/device.ts";
 * import { train } from "./mod.ts";
 * await initGpu();
 * const preset = new URL("../configs/tiny_parity_ppo.yaml", import.meta.url).pathname;
 * const cfg = resolveConfig(preset, [
 *   "train.steps=2",
 *   "data.eval.count=32",
 *   `run.dir=${Deno.makeTempDirSync()}`,
 * ]);
 * const result = await train(cfg, { quiet: true });
 * console.log(result.history.at(-1)?.["reward/mean"]);
 * ```
 *
 * @module
 */
export {
  type AdvantageNorm,
  explainedVariance,
  gae,
  groupAdvantages,
  normalizeAdvantages,
  type Ragged,
  tokenRewards,
} from "./advantages.ts";
export { type KlEstimator, klTensor, klTokens, klValue } from "./kl.ts";
export { type Aggregation, aggregationWeights, policyLoss, valueLoss } from "./losses.ts";
export { chunks, Packed, slices, type TokenPair } from "./batch.ts";
export { Learner, type PolicyTargets, warmupLr } from "./learner.ts";
export { type Algorithm, type AlgorithmResult, klMetrics, rolloutStats } from "./common.ts";
export { ppoStep } from "./ppo.ts";
export { grpoStep } from "./grpo.ts";
export { type AlgorithmName, algorithms } from "./registry.ts";
export {
  type RewardSettings,
  rollout,
  type RolloutPrompt,
  type Sampling,
  score,
} from "./rollout.ts";
export { type EvalResult, evaluate } from "./evaluate.ts";
export {
  latestCheckpoint,
  listCheckpoints,
  readRunState,
  type RunState,
  saveCheckpoint,
} from "./checkpoint.ts";
export { buildModels, cloneModel, loadDataset, promptEncoder, taskTokenizer } from "./setup.ts";
export {
  bufferStats,
  resumeRun,
  runDir,
  TIMING_KEYS,
  train,
  type TrainOptions,
  type TrainResult,
} from "./trainer.ts";
export type { Metrics, Scored, Trajectory } from "./types.ts";
