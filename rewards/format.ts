/**
 * The `format` reward, for ablations that add one (ORZ itself does not): 1 when the
 * response is exactly `<think> … </think> <answer> … </answer>` with non-empty parts and
 * no stray tags, else 0. When the prompt already opened `<think>` (ORZ's template ends with
 * it), the response is read as if it began with it.
 *
 * @module
 */

import { capTail } from "./limits.ts";
import type { RewardResult, Sample } from "./types.ts";

/** Options of the `format` reward. */
export interface FormatOptions {
  /** Also require a `\boxed{}` inside the answer (ORZ's answer format). */
  requireBoxed: boolean;
  /** Only a sample that finished with `stop` can score. */
  requireStop: boolean;
}

/** The defaults. */
export const DEFAULT_FORMAT_OPTIONS: Readonly<FormatOptions> = Object.freeze({
  requireBoxed: false,
  requireStop: true,
});

const TAGS = /<\/?(?:think|answer)>/g;

/** Scores one sample's format; never throws. */
export function format(
  sample: Sample,
  options?: Partial<FormatOptions>,
): RewardResult<{ reason: string }> {
  const opts = { ...DEFAULT_FORMAT_OPTIONS, ...options };
  const no = (reason: string) => ({ score: 0, details: { reason } });
  let text = capTail(String(sample?.response ?? ""));
  if (/<think>\s*$/.test(capTail(String(sample?.prompt ?? ""), 200)) && !/^\s*<think>/.test(text)) {
    text = "<think>" + text;
  }
  if (opts.requireStop && sample?.finish !== "stop") return no(`finish=${sample?.finish}`);
  const tags = text.match(TAGS) ?? [];
  if (tags.join("") !== "<think></think><answer></answer>") {
    return no(
      `tags ${tags.slice(0, 6).join("") || "none"} are not <think></think><answer></answer>`,
    );
  }
  const m = /^\s*<think>([\s\S]*)<\/think>\s*<answer>([\s\S]*)<\/answer>\s*$/.exec(text);
  if (!m) return no("text outside <think>…</think> <answer>…</answer>");
  if (!m[1].trim()) return no("empty <think>");
  if (!m[2].trim()) return no("empty <answer>");
  if (opts.requireBoxed && !/\\boxed\s*\{/.test(m[2])) return no("no \\boxed{} in <answer>");
  return { score: 1, details: { reason: "well-formed" } };
}
