/**
 * Reading a run folder for a report: `metrics.jsonl` (required), `samples.jsonl`,
 * `summary.json` and `config.yaml` (each optional: a run still in progress has no summary).
 * Every problem is one Error whose message names the file, and the line for JSON Lines, so
 * the CLI can print it as one line.
 *
 * @module
 */
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";

/** One line of `metrics.jsonl`: `step` plus whatever the step logged (numbers or null). */
export type MetricLine = { step: number } & Record<string, unknown>;

/** One line of `samples.jsonl` (the trainer's `sampleLine`); all but `step` may be absent. */
export interface SampleLine {
  step: number;
  kind?: unknown;
  problem?: unknown;
  question?: unknown;
  gold?: unknown;
  response?: unknown;
  finish?: unknown;
  score?: unknown;
  correct?: unknown;
  reason?: unknown;
  tokens?: unknown;
  advantage_first?: unknown;
  advantage_last?: unknown;
}

/** What the report needs from one run folder. */
export interface RunData {
  /** The folder as given. */
  dir: string;
  /** A short name, unique among the report's runs (set by `loadRuns`). */
  label: string;
  metrics: MetricLine[];
  samples: SampleLine[];
  /** `summary.json`, or null when the run has not finished (or predates it). */
  summary: Record<string, unknown> | null;
  /** `config.yaml` (the resolved config), or null when absent. */
  config: Record<string, unknown> | null;
}

/** Load several run folders and give each a distinct label (its folder name, disambiguated). */
export async function loadRuns(dirs: readonly string[]): Promise<RunData[]> {
  if (dirs.length === 0) throw new Error("no run folders given");
  const runs: RunData[] = [];
  for (const dir of dirs) runs.push(await loadRun(dir));
  const labels = uniqueLabels(runs.map((r) => r.dir));
  runs.forEach((r, i) => (r.label = labels[i]));
  return runs;
}

/** Load one run folder. */
export async function loadRun(dir: string): Promise<RunData> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`run folder not found: ${dir}`);
    throw new Error(`${dir}: ${firstLine(e)}`);
  }
  if (!info.isDirectory) throw new Error(`not a run folder (a file): ${dir}`);
  const metricsPath = join(dir, "metrics.jsonl");
  const metricsText = await readOptional(metricsPath);
  if (metricsText === null) {
    throw new Error(`${metricsPath} not found: ${dir} is not a run folder (or no step has run)`);
  }
  const metrics = parseJsonLines(metricsPath, metricsText) as MetricLine[];
  const samplesPath = join(dir, "samples.jsonl");
  const samplesText = await readOptional(samplesPath);
  const samples = samplesText === null
    ? []
    : parseJsonLines(samplesPath, samplesText) as SampleLine[];
  const summaryPath = join(dir, "summary.json");
  const summaryText = await readOptional(summaryPath);
  let summary: Record<string, unknown> | null = null;
  if (summaryText !== null) {
    let v: unknown;
    try {
      v = JSON.parse(summaryText);
    } catch (e) {
      throw new Error(`${summaryPath}: malformed JSON (${firstLine(e)})`);
    }
    if (!isObject(v)) throw new Error(`${summaryPath}: expected a JSON object`);
    summary = v;
  }
  const configPath = join(dir, "config.yaml");
  const configText = await readOptional(configPath);
  let config: Record<string, unknown> | null = null;
  if (configText !== null) {
    let v: unknown;
    try {
      v = parseYaml(configText);
    } catch (e) {
      throw new Error(`${configPath}: malformed YAML (${firstLine(e)})`);
    }
    if (!isObject(v)) throw new Error(`${configPath}: expected a YAML mapping`);
    config = v;
  }
  return { dir, label: basename(dir), metrics, samples, summary, config };
}

/**
 * Parse JSON Lines where every line is an object with a non-negative integer `step`; blank
 * lines are skipped. A bad line throws `FILE:LINE: why`.
 */
export function parseJsonLines(path: string, text: string): Array<{ step: number }> {
  const out: Array<{ step: number }> = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const where = `${path}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: malformed JSON line (${firstLine(e)})`);
    }
    if (!isObject(v)) throw new Error(`${where}: expected a JSON object, got ${typeName(v)}`);
    const step = v.step;
    if (typeof step !== "number" || !Number.isInteger(step) || step < 0) {
      throw new Error(
        `${where}: "step" must be a non-negative integer, got ${JSON.stringify(step)}`,
      );
    }
    out.push(v as { step: number });
  }
  return out;
}

/** The value of `key` in a metric line when it is a finite number, else undefined. */
export function num(line: Record<string, unknown> | null | undefined, key: string) {
  const v = line?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Folder names, widened with parent folders (then numbered) until they are distinct. */
function uniqueLabels(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => d.replace(/[\\/]+$/, "").split(/[\\/]/).filter((p) => p !== ""));
  let depth = 1;
  let labels = parts.map((p) => p.slice(-depth).join("/") || ".");
  const maxDepth = Math.max(...parts.map((p) => p.length));
  while (new Set(labels).size < labels.length && depth < maxDepth) {
    depth++;
    labels = parts.map((p) => p.slice(-depth).join("/") || ".");
  }
  const seen = new Map<string, number>();
  return labels.map((l) => {
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    return n === 1 ? l : `${l} (${n})`;
  });
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`${path}: ${firstLine(e)}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
