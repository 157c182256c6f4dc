/**
 * What crosses the boundary between rollouts and learning: plain, serialisable data. A
 * rollout takes a weights version and prompts and returns {@link Trajectory}s; scoring adds
 * a reward. Nothing else (no tensors, no model handles) crosses, so rollouts could run in
 * other processes and ship these as JSON.
 *
 * @module
 */

import type { FinishReason } from "../models/generate.ts";

/** One sampled response. */
export interface Trajectory {
  /** The problem's id (from its dataset). */
  problemId: string;
  /** Index of the prompt within its step: the samples of one prompt share it (GRPO's group). */
  group: number;
  /** Prompt token ids (template applied). */
  prompt: number[];
  /** Response token ids (through the stop string or EOS). */
  response: number[];
  /** The sampler's log-prob of each response token (behaviour policy). */
  logprobs: number[];
  /** The response's text, cut after the first stop string. */
  text: string;
  finish: FinishReason;
  /** The policy weights version that sampled it (the step at which they were current). */
  version: number;
}

/** A trajectory with its reward. */
export interface Scored extends Trajectory {
  score: number;
  /** Whether the final answer was right, regardless of how generation ended. */
  correct: boolean;
  /** The reward's account of its verdict. */
  reason: string;
}

/** Metrics of a step: stable names (README's glossary), numbers only. */
export type Metrics = Record<string, number>;
