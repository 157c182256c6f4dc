/**
 * The machinery behind every config file (config.ts's run schema, the pretraining schema,
 * sweep files): strict validation with one-line errors that name the key, the value and the
 * file, "did you mean" hints, YAML reading with line numbers, and dotted `key=value`
 * overrides checked against the schema before they apply.
 *
 * @module
 */
import { z } from "zod";
import { parseDocument } from "yaml";

/** A config problem: the message names the key (and file or `--set`), one line. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Plain nested data, before validation. */
export type Raw = Record<string, unknown>;

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = d[j];
      d[j] = next;
    }
  }
  return d[b.length];
}

/** The valid keys of the object schema at `path`, or null where there is none. */
// deno-lint-ignore no-explicit-any
export type AnySchema = z.ZodType<any, any, any>;

function keysAt(path: (string | number)[], schema: AnySchema): string[] | null {
  // deno-lint-ignore no-explicit-any
  let s: any = schema;
  for (const k of path) {
    s = unwrap(s);
    if (!(s instanceof z.ZodObject)) return null;
    s = s.shape[k];
    if (!s) return null;
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : null;
}

// deno-lint-ignore no-explicit-any
function unwrap(s: any): any {
  while (
    s instanceof z.ZodDefault || s instanceof z.ZodNullable || s instanceof z.ZodOptional
  ) s = s._def.innerType;
  return s;
}

function nearest(key: string, valid: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const v of valid) {
    const d = distance(key, v);
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(key.length / 2)) ? best : null;
}

function getPath(obj: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Raw | undefined)?.[k as string], obj);
}

/** Validate raw data against any strict config schema, with the same one-line errors. */
export function parseWith<S extends AnySchema>(
  schema: S,
  raw: unknown,
  source: string,
): z.infer<S> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const full = where ? `${where}.${key}` : key;
    const hint = nearest(key, keysAt(issue.path, schema) ?? []);
    const valid = hint ? `; did you mean "${where ? `${where}.` : ""}${hint}"?` : "";
    throw new ConfigError(`${source}: unknown key "${full}"${valid}`);
  }
  const value = getPath(raw, issue.path);
  const shown = value === undefined ? "" : ` = ${JSON.stringify(value)}`;
  throw new ConfigError(`${source}: key "${where || "(root)"}"${shown}: ${issue.message}`);
}

/** A YAML parse error in one line: its message without the source excerpt that follows. */
function yamlMessage(err: { message: string }): string {
  return err.message.split("\n")[0].replace(/:\s*$/, "");
}

/** Parse one `key=value` override into [path, value]; the value is read as YAML. */
export function parseOverride(text: string): [string[], unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ConfigError(`--set "${text}": expected key=value (e.g. gae.lambda=0.95)`);
  const key = text.slice(0, eq).trim();
  const path = key.split(".");
  if (path.some((p) => p === "")) throw new ConfigError(`--set "${text}": malformed key "${key}"`);
  const doc = parseDocument(text.slice(eq + 1));
  if (doc.errors.length > 0) {
    throw new ConfigError(`--set ${key}: cannot read the value (${yamlMessage(doc.errors[0])})`);
  }
  return [path, doc.toJS()];
}

/** Set `path` in `obj` to `value`, creating objects on the way (a copy; `obj` is untouched). */
function withValue(obj: Raw, path: string[], value: unknown, label: string): Raw {
  const [head, ...rest] = path;
  const out: Raw = { ...obj };
  if (rest.length === 0) {
    out[head] = value;
    return out;
  }
  const child = out[head];
  if (
    child !== undefined && child !== null && (typeof child !== "object" || Array.isArray(child))
  ) {
    throw new ConfigError(`${label}: "${head}" is not a section`);
  }
  out[head] = withValue((child ?? {}) as Raw, rest, value, label);
  return out;
}

/** Check that a `--set` key exists in the schema before applying it (typo hints). */
function checkKey(path: string[], label: string, schema: AnySchema): void {
  for (let i = 0; i < path.length; i++) {
    const valid = keysAt(path.slice(0, i), schema);
    if (valid === null) return; // inside a free-form value (none today)
    if (!valid.includes(path[i])) {
      const prefix = path.slice(0, i).join(".");
      const hint = nearest(path[i], valid);
      const full = [...path.slice(0, i + 1)].join(".");
      throw new ConfigError(
        `${label}: unknown key "${full}"` +
          (hint ? `; did you mean "${prefix ? `${prefix}.` : ""}${hint}"?` : ""),
      );
    }
  }
}

/** Apply `--set` overrides (in order) to raw config data. */
export function applyOverrides(raw: Raw, overrides: readonly string[], schema: AnySchema): Raw {
  let out = raw;
  for (const text of overrides) {
    const [path, value] = parseOverride(text);
    const label = `--set ${path.join(".")}`;
    checkKey(path, label, schema);
    out = withValue(out, path, value, label);
  }
  return out;
}

/** Read a YAML config file into raw data; errors name the file and line. */
export function readConfigFile(path: string): Raw {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`${path}: no such file`);
    throw new ConfigError(`${path}: cannot read (${(e as Error).message})`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.linePos?.[0]?.line;
    throw new ConfigError(`${path}${line ? `:${line}` : ""}: invalid YAML (${yamlMessage(err)})`);
  }
  const data = doc.toJS() ?? {};
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${path}: a config is a YAML mapping of sections (run:, train:, …)`);
  }
  return data as Raw;
}
