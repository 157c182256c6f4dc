/**
 * zerokit: Open-Reasoner-Zero-style RL on base language models, computed by WGSL kernels
 * over Deno's WebGPU. The same modules serve the CLI (`cli.ts`), tests and notebooks.
 *
 * @example
 * ```ts
 * import { rewards } from "./mod.ts";
 * const r = rewards.math({ response: "<think>…</think> <answer>\\boxed{42}</answer>", gold: "42", finish: "stop" });
 * console.log(r.score); // 1
 * ```
 *
 * @module
 */
export * from "./kernels/mod.ts";
export * from "./models/mod.ts";
export * from "./rewards/mod.ts";
export * from "./data/mod.ts";
export * from "./algorithms/mod.ts";
export {
  ConfigError,
  parseConfig,
  resolveConfig,
  type RunConfig,
  RunConfigSchema,
} from "./config.ts";
