/**
 * Every switch of the math verifier, with its default and why. Sources disagree on these
 * (ORZ, Qwen2.5-Math's grader, math-verify, verl), so each is a documented policy rather
 * than a buried choice. The zod schema lets a run config validate and default them; the
 * reward itself takes the plain object and fills gaps from {@link DEFAULT_MATH_OPTIONS}.
 *
 * @module
 */

import { z } from "zod";

/** Schema of the `math` reward's options, each with its default and a description. */
export const MathOptionsSchema = z.object({
  extract: z.enum(["orz", "boxed", "answer", "auto"]).default("orz").describe(
    "orz: last \\boxed{} inside the last <answer></answer>; boxed: last \\boxed{} anywhere; " +
      "answer: the last <answer></answer> block's whole content; " +
      "auto: boxed, answer tags, 'the answer is', '#### N', 'A: N', last $…$, last number",
  ),
  requireStop: z.boolean().default(true).describe(
    "score 1 only when generation finished with 'stop'; a truncated sample scores truncatedScore",
  ),
  truncatedScore: z.number().default(0).describe("score of a correct but truncated sample"),
  multipleBoxed: z.enum(["last", "agree", "join"]).default("last").describe(
    "several \\boxed{}: last = only the last counts (ORZ, Qwen); agree = all must be equal " +
      "or the answer is rejected; join = read them together as one list",
  ),
  listOrder: z.enum(["unordered", "ordered"]).default("unordered").describe(
    "bare comma lists (`1, -2`) compared as multisets or in order; tuples `(a,b)`, " +
      "intervals and matrices are always ordered, sets `\\{…\\}` never",
  ),
  decimalComma: z.boolean().default(false).describe(
    "read a lone `3,5` as 3.5 instead of the list 3, 5 (thousands `1,000` always join)",
  ),
  relTol: z.number().min(0).max(0.1).default(1e-4).describe(
    "relative tolerance when a side has a decimal or percent, i.e. a rounded number (ORZ/Qwen " +
      "use 1e-4); integer golds and decimal-free expressions compare exactly",
  ),
  percent: z.enum(["flexible", "strict"]).default("flexible").describe(
    "flexible: `50\\%` equals 50 and 0.5; strict: `50\\%` equals only 50 (the sign is a unit)",
  ),
  unclosedAnswer: z.enum(["reject", "stop"]).default("reject").describe(
    "orz mode, an <answer> block never closed by </answer>: reject = no answer (ORZ's regex " +
      "needs the tag, and its generator keeps the stop string); stop = read it when finish is stop",
  ),
  decimalRounding: z.enum(["structures", "all", "off"]).default("structures").describe(
    "a decimal with at least 2 places and 2 significant digits also equals an exact value that " +
      "rounds to it (0.33 for 1/3): structures = inside tuples, vectors, matrices, lists, sets " +
      "and intervals; all = single values too (Math-Verify-like); off = relTol only",
  ),
});

/** Options of the `math` reward and of {@link equal}. */
export type MathOptions = z.infer<typeof MathOptionsSchema>;

/** The defaults, as a plain object (what `MathOptionsSchema.parse({})` returns). */
export const DEFAULT_MATH_OPTIONS: Readonly<MathOptions> = Object.freeze(
  MathOptionsSchema.parse({}),
);

/** Fills missing keys from the defaults without paying for a zod parse per call. */
export function withDefaults(options?: Partial<MathOptions>): MathOptions {
  if (!options) return DEFAULT_MATH_OPTIONS;
  const out: Record<string, unknown> = { ...DEFAULT_MATH_OPTIONS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out as MathOptions;
}
