/**
 * Data: problem sets from JSON/JSONL files (GSM8K, MATH500, MATH train, AIME, AMC, GPQA,
 * ORZ's format, or named fields), ORZ's prompt template and stop strings, a seeded prompt
 * stream that resumes exactly, and synthetic tasks with disjoint train / held-out splits.
 *
 * @example
 * ```ts
 * import { formatResponse, orzPrompt, PromptStream, syntheticProblems } from "./mod.ts";
 * const train = syntheticProblems("parity", {
 *   split: "train",
 *   difficulty: [2, 6],
 *   count: 64,
 *   seed: 1,
 * });
 * const stream = new PromptStream(train, 1);
 * const [p] = stream.next(1);
 * orzPrompt(p.question, { style: "short" }); // "User: parity 1 1 0 0 1 0\nAssistant: <think>"
 * formatResponse(train[0], "worked"); // " 0>0 0>0 1>1 </think> <answer>1</answer>"
 * ```
 *
 * @module
 */

export type { Problem } from "./types.ts";
export { DataError } from "./errors.ts";
export type { DataFormat } from "./formats.ts";
export {
  type LoadOptions,
  loadProblems,
  loadProblemsWithReport,
  type LoadReport,
} from "./loaders.ts";
export { ASSISTANT_TURN, ORZ_STOP_STRINGS, orzPrompt, type PromptOptions } from "./template.ts";
export { mixSeed, PromptStream, shuffle, type StreamState } from "./shuffle.ts";
export {
  formatResponse,
  HELDOUT_FRACTION,
  type Split,
  splitOf,
  syntheticAlphabet,
  type SyntheticMeta,
  type SyntheticOptions,
  type SyntheticProblem,
  syntheticProblems,
} from "./synthetic.ts";
export {
  chainMod3,
  parity,
  type SyntheticInstance,
  type SyntheticTask,
  type SyntheticTaskName,
  tasks,
} from "./synthetic_tasks.ts";
