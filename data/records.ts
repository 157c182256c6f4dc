/**
 * Reading a data file into raw records, each with the location its errors should name:
 * `path:LINE` for JSONL (one JSON value a line), `path: record N` for a JSON array.
 *
 * @module
 */

import { DataError } from "./errors.ts";

/** One parsed record and where it came from. */
export interface SourceRecord {
  /** The parsed JSON value. */
  value: unknown;
  /** 0-based position among the file's records (blank JSONL lines do not count). */
  index: number;
  /** Prefix for messages about this record: `path:LINE` or `path: record N`. */
  at: string;
}

/** Long enough to show what went wrong, short enough to stay one readable line. */
const MAX_DETAIL = 160;

function detail(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}...` : text;
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new DataError(`${path}: no such file`);
    throw new DataError(`${path}: cannot read (${detail(err)})`);
  }
}

function jsonLines(path: string, text: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim(); // also drops a CRLF file's "\r"
    if (line === "") continue;
    const at = `${path}:${i + 1}`;
    try {
      records.push({ value: JSON.parse(line), index: records.length, at });
    } catch (err) {
      throw new DataError(`${at}: invalid JSON (${detail(err)})`);
    }
  }
  return records;
}

function jsonArray(path: string, text: string): SourceRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${path}: invalid JSON (${detail(err)})`);
  }
  if (!Array.isArray(value)) {
    throw new DataError(`${path}: expected a JSON array of records, got ${typeName(value)}`);
  }
  return value.map((v, i) => ({ value: v, index: i, at: `${path}: record ${i}` }));
}

/** `null`, `array`, or `typeof`: the word a message about a wrong type should use. */
export function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/**
 * Every record of a `.jsonl` or `.json` file, in order. Throws a {@link DataError} for a
 * missing, unreadable, empty or malformed file, naming the file and the line or record.
 */
export async function readRecords(path: string): Promise<SourceRecord[]> {
  const isLines = path.endsWith(".jsonl");
  if (!isLines && !path.endsWith(".json")) {
    throw new DataError(`${path}: unknown file type (expected .jsonl or .json)`);
  }
  // A UTF-8 byte-order mark would otherwise break the first record's JSON.
  const text = (await readText(path)).replace(/^\uFEFF/, "");
  if (text.trim() === "") throw new DataError(`${path}: empty file`);
  const records = isLines ? jsonLines(path, text) : jsonArray(path, text);
  if (records.length === 0) throw new DataError(`${path}: no records`);
  return records;
}
