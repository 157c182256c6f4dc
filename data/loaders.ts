/**
 * Loading problem sets (GSM8K, MATH500, MATH train, AIME, AMC, GPQA, ORZ's own format, or
 * any JSON/JSONL with named fields) into {@link Problem}s.
 *
 * Every failure is a one-line {@link DataError} naming the file and the line or record, so
 * a bad row in a 7k-line file is found without a debugger.
 *
 * @module
 */

import { DataError } from "./errors.ts";
import { type DataFormat, detectFormat, FORMATS, type FormatSpec } from "./formats.ts";
import { readRecords, type SourceRecord, typeName } from "./records.ts";
import type { Problem } from "./types.ts";

export { DataError };
export type { DataFormat };

/** Options of {@link loadProblems}. */
export interface LoadOptions {
  /** The layout; `auto` (default) judges it from the first record. */
  format?: "auto" | DataFormat;
  /** The question's field path (dotted, e.g. `prompt.0.value`); implies `fields` under auto. */
  question?: string;
  /** The answer's field path (dotted, e.g. `ground_truth.value`). */
  answer?: string;
  /** Keep at most this many problems (the first ones). */
  limit?: number;
}

/** What {@link loadProblemsWithReport} found. */
export interface LoadReport {
  problems: Problem[];
  /** The layout used: the one passed, or the one detected. */
  format: DataFormat;
  /** Records left out because their answer is empty or null (MATH train has four). */
  skipped: number;
}

const MISSING = Symbol("missing");

/** The value at a dotted path (`1.ground_truth.value`), or MISSING. */
function getPath(record: unknown, path: string): unknown {
  let node = record;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null || !(key in node)) return MISSING;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function fileStem(path: string): string {
  const base = path.split(/[\\/]/).pop()!;
  return base.replace(/\.jsonl?$/, "");
}

function resolveSpec(
  path: string,
  first: SourceRecord,
  opts: LoadOptions,
): { format: DataFormat; spec: FormatSpec } {
  const named = opts.question !== undefined || opts.answer !== undefined;
  let format = opts.format ?? "auto";
  if (format === "auto") format = named ? "fields" : detectFormat(first.value, first.at);
  if (format === "fields") {
    // Auto-detected `fields` means a plain {question, answer} file.
    const question = opts.question ?? (named ? undefined : "question");
    const answer = opts.answer ?? (named ? undefined : "answer");
    if (question === undefined || answer === undefined) {
      throw new DataError(`${path}: format "fields" needs both question and answer field names`);
    }
    return { format, spec: { question, answer } };
  }
  const spec = FORMATS[format];
  if (!spec) throw new DataError(`${path}: unknown format ${JSON.stringify(format)}`);
  return {
    format,
    spec: { ...spec, question: opts.question ?? spec.question, answer: opts.answer ?? spec.answer },
  };
}

/** The record's other top-level fields, for subject, level, choices and the like. */
function metaOf(value: unknown, spec: FormatSpec, source: string): Record<string, unknown> {
  const meta: Record<string, unknown> = { source };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return meta;
  const used = new Set([spec.question.split(".")[0], spec.answer.split(".")[0]]);
  for (const [k, v] of Object.entries(value)) if (!used.has(k)) meta[k] = v;
  return meta;
}

/** The problem in one record, or null when its answer is empty (to be skipped). */
function toProblem(rec: SourceRecord, spec: FormatSpec, source: string): Problem | null {
  const fail = (msg: string): never => {
    throw new DataError(`${rec.at}: ${msg}`);
  };
  if (typeof rec.value !== "object" || rec.value === null) {
    fail(`expected a JSON object, got ${typeName(rec.value)}`);
  }
  const shape = spec.check?.(rec.value);
  if (shape) fail(shape);

  const question = getPath(rec.value, spec.question);
  if (question === MISSING) fail(`missing field "${spec.question}"`);
  if (typeof question !== "string") {
    fail(`field "${spec.question}" must be a string, got ${typeName(question)}`);
  }
  if ((question as string).trim() === "") fail(`field "${spec.question}" is empty`);

  const answer = getPath(rec.value, spec.answer);
  if (answer === MISSING) fail(`missing field "${spec.answer}"`);
  if (answer === null || answer === "") return null;
  if (typeof answer !== "string" && typeof answer !== "number") {
    fail(`field "${spec.answer}" must be a string or number, got ${typeName(answer)}`);
  }
  // JSON numbers (AMC writes 142.0) become their shortest form: "142".
  let gold = String(answer).trim();
  if (spec.gold) {
    try {
      gold = spec.gold(gold);
    } catch (err) {
      fail(`field "${spec.answer}" ${(err as Error).message}`);
    }
  }
  if (gold === "") return null;

  const meta = metaOf(rec.value, spec, source);
  if (spec.gold) meta.solution = answer; // e.g. GSM8K's worked solution
  return { id: `${source}:${rec.index}`, question: question as string, gold, meta };
}

/**
 * The problems in a `.jsonl` or `.json` file and how many records were skipped for an
 * empty answer. Ids are `${file name without extension}:${record index}`, so they stay the
 * same whatever is skipped or limited; `meta.source` is that file name (ORZ's `file_name`).
 */
export async function loadProblemsWithReport(
  path: string,
  opts: LoadOptions = {},
): Promise<LoadReport> {
  const limit = opts.limit ?? Infinity;
  if (!(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) {
    throw new DataError(`${path}: limit must be a non-negative integer, got ${opts.limit}`);
  }
  const records = await readRecords(path);
  const { format, spec } = resolveSpec(path, records[0], opts);
  const source = fileStem(path);
  const problems: Problem[] = [];
  let skipped = 0;
  for (const rec of records) {
    if (problems.length >= limit) break;
    const problem = toProblem(rec, spec, source);
    if (problem) problems.push(problem);
    else skipped++;
  }
  return { problems, format, skipped };
}

/**
 * The problems in a `.jsonl` (one JSON object a line, blank lines skipped) or `.json`
 * (an array) file. Records with an empty answer are left out; see
 * {@link loadProblemsWithReport} for how many.
 *
 * @example
 * ```ts ignore
 * const test = await loadProblems("../shared/data/gsm8k/test.jsonl");
 * test[0].gold; // "18"
 * ```
 */
export async function loadProblems(path: string, opts: LoadOptions = {}): Promise<Problem[]> {
  return (await loadProblemsWithReport(path, opts)).problems;
}
