/**
 * The README's config reference, generated from `RunConfigSchema` (config.ts) so that it
 * cannot drift from the schema: one table per top-level section with each dotted key, its
 * type (enum values listed, `null` marked where allowed), its default and its `.describe()`
 * text. `tests/config_test.ts` checks that README.md holds exactly this text.
 *
 *   deno task config-doc                      # rewrite README.md between the markers
 *   deno run -A tools/config_reference.ts     # print the reference
 *
 * @module
 */
import { z } from "zod";
import { RunConfigSchema } from "../config.ts";

/** The README markers the reference lives between. */
export const START_MARKER = "<!-- config-reference:start -->";
/** See {@link START_MARKER}. */
export const END_MARKER = "<!-- config-reference:end -->";

/** One row of a section's table. */
interface Row {
  key: string;
  type: string;
  defaultValue: unknown;
  description: string;
}

/** A schema with its wrappers (default, nullable, optional) peeled off. */
interface Peeled {
  // deno-lint-ignore no-explicit-any
  inner: any;
  nullable: boolean;
  /** The outermost description found on the way in. */
  description: string;
  /** The innermost ZodDefault's value, if any. */
  hasDefault: boolean;
  defaultValue: unknown;
}

// deno-lint-ignore no-explicit-any
function peel(schema: any): Peeled {
  const out: Peeled = {
    inner: schema,
    nullable: false,
    description: "",
    hasDefault: false,
    defaultValue: undefined,
  };
  let s = schema;
  for (;;) {
    if (!out.description && s.description) out.description = s.description;
    if (s instanceof z.ZodDefault) {
      if (!out.hasDefault) [out.hasDefault, out.defaultValue] = [true, s._def.defaultValue()];
    } else if (s instanceof z.ZodNullable) out.nullable = true;
    else if (!(s instanceof z.ZodOptional)) break;
    s = s._def.innerType;
  }
  out.inner = s;
  return out;
}

/** `integer ≥ 1`, `number in [0, 1]`, `number > 0`, … from a ZodNumber's checks. */
function numberType(s: z.ZodNumber): string {
  let type = "number";
  let low: { value: number; inclusive: boolean } | null = null;
  let high: { value: number; inclusive: boolean } | null = null;
  for (const check of s._def.checks) {
    if (check.kind === "int") type = "integer";
    else if (check.kind === "min") low = { value: check.value, inclusive: check.inclusive };
    else if (check.kind === "max") high = { value: check.value, inclusive: check.inclusive };
  }
  if (low && high) {
    return `${type} in ${low.inclusive ? "[" : "("}${low.value}, ${high.value}${
      high.inclusive ? "]" : ")"
    }`;
  }
  if (low) return `${type} ${low.inclusive ? "≥" : ">"} ${low.value}`;
  if (high) return `${type} ${high.inclusive ? "≤" : "<"} ${high.value}`;
  return type;
}

// deno-lint-ignore no-explicit-any
function typeName(schema: any): string {
  const { inner, nullable } = peel(schema);
  let type: string;
  if (inner instanceof z.ZodString) type = "string";
  else if (inner instanceof z.ZodBoolean) type = "boolean";
  else if (inner instanceof z.ZodNumber) type = numberType(inner);
  else if (inner instanceof z.ZodEnum) {
    type = (inner.options as string[]).map((o) => `\`${o}\``).join(" \\| ");
  } else if (inner instanceof z.ZodTuple) {
    type = `[${inner.items.map(typeName).join(", ")}]`;
  } else if (inner instanceof z.ZodArray) type = `${typeName(inner.element)}[]`;
  else if (inner instanceof z.ZodObject) type = "section";
  else throw new Error(`config_reference: no type name for ${inner?.constructor?.name}`);
  return nullable ? `${type} \\| \`null\`` : type;
}

/**
 * Rows for `schema` at `path` and, for a section, its keys. Each default is the key's own:
 * a section given in part gets its other keys' defaults, not the section's default
 * (`data.train: {count: 9}` has task null, not the section default's "parity").
 */
// deno-lint-ignore no-explicit-any
function rowsOf(schema: any, path: string[]): Row[] {
  const peeled = peel(schema);
  const row: Row = {
    key: path.join("."),
    type: typeName(schema),
    defaultValue: peeled.defaultValue,
    description: peeled.description,
  };
  if (!(peeled.inner instanceof z.ZodObject)) return [row];
  const rows = path.length > 1 ? [row] : []; // a top-level section is its table's heading
  for (const [key, child] of Object.entries(peeled.inner.shape)) {
    rows.push(...rowsOf(child, [...path, key]));
  }
  return rows;
}

/** Markdown-safe table cell text: pipes escaped; `<` outside code spans as `&lt;`. */
function cell(text: string): string {
  if (text === "") return "—";
  return text.replace(/\s+/g, " ").split("`").map((part, i) =>
    i % 2 === 1 ? part : part.replaceAll("<", "&lt;").replaceAll(">", "&gt;")
  ).join("`").replaceAll("|", "\\|");
}

function defaultCell(value: unknown): string {
  return value === undefined ? "—" : `\`${JSON.stringify(value)}\``;
}

/**
 * The config reference as Markdown: one `###` table per top-level section. Wrapped in
 * `deno-fmt-ignore` comments so `deno fmt` keeps the README byte-identical to it.
 */
export function configReference(): string {
  const lines = [
    "<!-- deno-fmt-ignore-start -->",
    "",
    "Each key can be set in a preset's YAML or with `--set key=value` (the value is read as " +
    "YAML: `--set train.steps=5`, `--set rollout.stop=[]`, `--set critic.value_clip=null`).",
    "",
  ];
  for (const [section, schema] of Object.entries(RunConfigSchema.shape)) {
    const peeled = peel(schema);
    lines.push(`### \`${section}\``, "");
    if (peeled.inner instanceof z.ZodObject && peeled.description) {
      lines.push(cell(peeled.description), "");
    }
    lines.push("| key | type | default | description |", "| --- | --- | --- | --- |");
    for (const row of rowsOf(schema, [section])) {
      lines.push(
        `| \`${row.key}\` | ${row.type} | ${defaultCell(row.defaultValue)} | ${
          cell(row.description)
        } |`,
      );
    }
    lines.push("");
  }
  lines.push("<!-- deno-fmt-ignore-end -->");
  return lines.join("\n") + "\n";
}

/** `text` with the part between the markers replaced by the reference. */
export function withReference(text: string, reference = configReference()): string {
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (start < 0 || end < start) {
    throw new Error(`README.md: missing ${START_MARKER} … ${END_MARKER} markers`);
  }
  return `${text.slice(0, start + START_MARKER.length)}\n${reference}${text.slice(end)}`;
}

/** The text between the markers (after the start marker's newline). */
export function referenceIn(text: string): string | null {
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (start < 0 || end < start) return null;
  return text.slice(start + START_MARKER.length, end).replace(/^\n/, "");
}

/** The README next to this tool. */
export const README_PATH: string = new URL("../README.md", import.meta.url).pathname;

if (import.meta.main) {
  const reference = configReference();
  if (Deno.args.includes("--write")) {
    const before = await Deno.readTextFile(README_PATH);
    const after = withReference(before, reference);
    if (after !== before) await Deno.writeTextFile(README_PATH, after);
    console.log(`${README_PATH}: config reference ${after === before ? "unchanged" : "updated"}`);
  } else {
    console.log(reference.trimEnd());
  }
}
