/**
 * The dataset layouts the loader knows: where each keeps its question and answer, and how
 * its answer field becomes a gold string.
 *
 * @module
 */

import { DataError } from "./errors.ts";

/** A named layout, or `fields` for explicit field paths. */
export type DataFormat = "gsm8k" | "math" | "orz" | "gpqa" | "fields";

/** Where a layout keeps its fields (dotted paths; a number indexes an array). */
export interface FormatSpec {
  question: string;
  answer: string;
  /** Turns the answer field's text into the gold; throws a message (not yet located). */
  gold?: (answer: string) => string;
  /** A record's shape check; returns what is wrong, or undefined. */
  check?: (record: unknown) => string | undefined;
}

/**
 * GSM8K's answer is a worked solution whose last line is `#### N`; the gold is N with its
 * thousands separators dropped (`1,000` → `1000`), as graders compare bare numbers.
 */
function gsm8kGold(answer: string): string {
  const mark = answer.lastIndexOf("####");
  if (mark < 0) throw new Error('has no "#### N" final answer');
  return answer.slice(mark + 4).trim().replace(/(\d),(?=\d{3}(?!\d))/g, "$1");
}

/** ORZ's training records are `[human turn, assistant turn]` pairs (ORZ asserts the 2). */
function orzPair(record: unknown): string | undefined {
  return Array.isArray(record) && record.length === 2
    ? undefined
    : "expected a [human, assistant] pair (a 2-element array)";
}

/** Each layout, as the files under ../shared/data and ORZ's data/ folder have it. */
export const FORMATS: Record<Exclude<DataFormat, "fields">, FormatSpec> = {
  /** openai/grade-school-math: `{question, answer: "... #### 18"}`. */
  gsm8k: { question: "question", answer: "answer", gold: gsm8kGold },
  /** MATH500, MATH train, AIME, AMC: `{problem, answer, ...}`; AMC answers are numbers. */
  math: { question: "problem", answer: "answer" },
  /** ORZ training: `[{from: "human", value}, {from: "assistant", ground_truth: {value}}]`. */
  orz: { question: "0.value", answer: "1.ground_truth.value", check: orzPair },
  /** ORZ eval (GPQA diamond): `{prompt: [{from, value}], final_answer: "A", ...}`. */
  gpqa: { question: "prompt.0.value", answer: "final_answer" },
};

function has(record: unknown, key: string): boolean {
  return typeof record === "object" && record !== null && key in record;
}

/**
 * The layout of a file, judged from its first record. A `{question, answer}` record
 * whose answer has no `####` is plain `fields` rather than GSM8K, so a generic Q/A file
 * loads without a gold rewrite.
 */
export function detectFormat(first: unknown, at: string): DataFormat {
  if (Array.isArray(first)) {
    if (first.length === 2 && has(first[0], "value") && has(first[1], "ground_truth")) {
      return "orz";
    }
  } else if (has(first, "prompt") && has(first, "final_answer")) {
    return "gpqa";
  } else if (has(first, "question") && has(first, "answer")) {
    const answer = (first as { answer: unknown }).answer;
    return typeof answer === "string" && answer.includes("####") ? "gsm8k" : "fields";
  } else if (has(first, "problem") && has(first, "answer")) {
    return "math";
  }
  const fields = typeof first === "object" && first !== null
    ? Object.keys(first).join(", ") || "none"
    : "none";
  throw new DataError(
    `${at}: cannot detect the format (fields: ${fields}); pass format, or question and answer`,
  );
}
