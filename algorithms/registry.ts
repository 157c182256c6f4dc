/**
 * The algorithms by config name. Adding one is a new file with a step function and one line
 * here.
 *
 * @module
 */
import type { Algorithm } from "./common.ts";
import { grpoStep } from "./grpo.ts";
import { ppoStep } from "./ppo.ts";

export const algorithms = {
  ppo: { usesCritic: true, step: ppoStep },
  grpo: { usesCritic: false, step: grpoStep },
} satisfies Record<string, Algorithm>;

export type AlgorithmName = keyof typeof algorithms;
