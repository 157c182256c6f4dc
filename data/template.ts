/**
 * Open-Reasoner-Zero's prompt template and stop strings.
 *
 * The `full` template is data that must match for a reproduction, so it is ORZ's text
 * character for character: `CustomDataset.process_dialogue` (training) and
 * `EvalCustomDataset.process_dialogue` (evaluation) in ORZ's
 * `playground/zero_setting_base.py` (Open-Reasoner-Zero/Open-Reasoner-Zero at 3fdd9a0)
 * render an instruction around the question with Jinja2, then the conversation around
 * that. Two details of that rendering are reproduced here: Python's backslash-newline
 * joins the template's first two lines with no newline, and Jinja2 drops the instruction
 * template's single trailing newline (its `keep_trailing_newline` is off by default), so
 * the question is followed directly by `\nAssistant: <think>`. `{{bos_token}}` renders as
 * "" for tokenizers without a BOS token (Qwen2.5 base), hence the `bos` option.
 *
 * @module
 */

/** ORZ's conversation preamble, up to where the instruction goes (`User: {{prompt}}`). */
const ORZ_PREAMBLE = "A conversation between User and Assistant. The User asks a question, " +
  "and the Assistant solves it. The Assistant first thinks about the reasoning process in " +
  "the mind and then provides the User with the answer. The reasoning process is enclosed " +
  "within <think> </think> and answer is enclosed within <answer> </answer> tags, " +
  "respectively, i.e., <think> reasoning process here </think> <answer> answer here " +
  "</answer>. User: ";

/** ORZ's instruction, which the question follows (`{{prompt}}` in the inner template). */
const ORZ_INSTRUCTION = "You must put your answer inside <answer> </answer> tags, i.e., " +
  "<answer> answer here </answer>. And your final answer will be extracted automatically " +
  "by the \\boxed{} tag.\nThis is the problem:\n";

/** How every prompt ends, so the model's first tokens are its reasoning. */
export const ASSISTANT_TURN = "\nAssistant: <think>";

/**
 * ORZ's stop strings: generation ends at a new turn (the base model would otherwise write
 * the user's next message) or at the closed answer. `stop` in every
 * `playground/orz_*_ppo.py` config, e.g. `playground/orz_7b_ppo.py` (`PPOExpConfig.stop`).
 */
export const ORZ_STOP_STRINGS: readonly string[] = Object.freeze([
  "User:",
  "Human:",
  "Assistant:",
  "</answer>",
]);

/** Options of {@link orzPrompt}. */
export interface PromptOptions {
  /**
   * `full` (default): ORZ's exact text. `short`: `User: {question}\nAssistant: <think>`,
   * for tiny character-level models whose context cannot afford ORZ's 400-character
   * preamble. Both end with `Assistant: <think>`.
   */
  style?: "full" | "short";
  /** The tokenizer's BOS text, for `full` (ORZ's `{{bos_token}}`); default "". */
  bos?: string;
}

/**
 * The prompt for one question, ending with `Assistant: <think>`.
 *
 * @example
 * ```ts
 * import { orzPrompt } from "./template.ts";
 * orzPrompt("parity 1 0 1", { style: "short" }); // "User: parity 1 0 1\nAssistant: <think>"
 * ```
 */
export function orzPrompt(question: string, opts: PromptOptions = {}): string {
  const style = opts.style ?? "full";
  // Concatenation, not String.replace: questions are full of `$`, which replace() expands.
  if (style === "short") return `User: ${question}${ASSISTANT_TURN}`;
  if (style !== "full") throw new Error(`orzPrompt: unknown style ${JSON.stringify(style)}`);
  return (opts.bos ?? "") + ORZ_PREAMBLE + ORZ_INSTRUCTION + question + ASSISTANT_TURN;
}
