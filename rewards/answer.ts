/**
 * Structural parsing of a normalized answer: is it a multiple-choice letter, a number or
 * expression, an equation or inequality, a tuple, interval, union, set, list or matrix, or
 * plain text? Expressions are parsed by `latex_parser.ts`; this file only finds structure
 * (top-level commas, brackets, relations, environments).
 *
 * @module
 */

import { type Expr, freeVars, parseLatex } from "./latex_parser.ts";
import { LimitError, LIMITS } from "./limits.ts";
import { tokenize } from "./latex_tokens.ts";

/** A parsed answer. */
export type Answer =
  | { kind: "empty" }
  | { kind: "choice"; letter: string }
  | { kind: "text"; text: string }
  | { kind: "expr"; expr: Expr; vars: string[]; int?: bigint; percent: boolean }
  | { kind: "relation"; ops: RelOp[]; sides: Answer[] }
  | { kind: "tuple" | "list" | "set"; items: Answer[] }
  | { kind: "interval"; lo: Answer; hi: Answer; loClosed: boolean; hiClosed: boolean }
  | { kind: "union"; parts: Answer[] }
  | { kind: "matrix"; rows: Answer[][] };

/** Relations, normalized: `\le`, `\leq`, `<=`, `≤` all become `<=`; `\approx` is `=`. */
export type RelOp = "=" | "≈" | "<" | "<=" | ">" | ">=" | "!=";

const REL_RE =
  /^(?:<=|>=|!=|=<|=>|=|<|>|(?:\\leqslant|\\geqslant|\\leq?|\\geq?|\\neq?|\\lt|\\gt|\\approx|\\in)(?![A-Za-z]))/;
const REL_NAMES: Record<string, RelOp | "in"> = {
  "<=": "<=",
  "=<": "<=",
  ">=": ">=",
  "=>": ">=",
  "!=": "!=",
  "\\leqslant": "<=",
  "\\geqslant": ">=",
  "\\le": "<=",
  "\\leq": "<=",
  "\\ge": ">=",
  "\\geq": ">=",
  "\\ne": "!=",
  "\\neq": "!=",
  "\\lt": "<",
  "\\gt": ">",
  "\\approx": "≈",
  "\\in": "in",
  "=": "=",
  "<": "<",
  ">": ">",
};

/**
 * Splits `s` at separators matched by `sep` (anchored) outside all brackets and
 * environments. Brackets of either shape count, so `[0,1)` is one group.
 */
export function splitTop(s: string, sep: RegExp): { parts: string[]; seps: string[] } {
  const parts: string[] = [];
  const seps: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") {
      const cmd = /^\\(?:begin|end|[{}])/.exec(s.slice(i, i + 6))?.[0];
      if (cmd === "\\begin" || cmd === "\\{") depth++;
      if (cmd === "\\end" || cmd === "\\}") depth--;
      if (cmd === "\\{" || cmd === "\\}") {
        i++; // the brace belongs to the command
        continue;
      }
    } else if (c === "(" || c === "[" || c === "{") {
      depth++;
    } else if (c === ")" || c === "]" || c === "}") {
      depth--;
    }
    if (depth !== 0) continue;
    const m = sep.exec(s.slice(i, i + 12));
    if (m) {
      parts.push(s.slice(start, i));
      seps.push(m[0]);
      start = i + m[0].length;
      i = start - 1;
      if (parts.length >= LIMITS.maxItems) throw new LimitError("items"); // one more follows
    }
  }
  parts.push(s.slice(start));
  return { parts: parts.map((p) => p.trim()), seps };
}

/** Index of the bracket closing the one at 0, counting both shapes, or -1. */
function closingIndex(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if ("([{".includes(s[i])) depth++;
    else if (")]}".includes(s[i]) && --depth === 0) return i;
  }
  return -1;
}

/** A stable text key of an answer (JSON with BigInts as strings), for structural identity. */
export function answerKey(a: Answer): string {
  return JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Parses a normalized answer string. Never throws on content; limits throw LimitError. */
export function parseAnswer(s: string, percent = false): Answer {
  s = s.trim();
  if (!s) return { kind: "empty" };
  // Lowercase letters count as choices only up to d, so `e` stays Euler's number.
  const choice = /^\(?([A-Za-d])\)?\.?$/.exec(s) ?? /^\\text\{\(?([A-Z])\)?\}$/.exec(s);
  if (choice) return { kind: "choice", letter: choice[1].toUpperCase() };
  // `{1,3}`: braces around the whole answer only group (TeX prints no braces).
  if (s[0] === "{" && closingIndex(s) === s.length - 1) return parseAnswer(s.slice(1, -1), percent);

  const union = splitTop(s, /^(?:\\cup|∪)(?![A-Za-z])/);
  if (union.parts.length > 1) {
    return { kind: "union", parts: union.parts.map((p) => parseAnswer(p, percent)) };
  }
  // "or" separates alternatives only here, in parsing: a prediction that hedges with "or"
  // against a gold without one was already rejected (see `equal.ts`).
  const system = solutionGroups(s, percent);
  if (system) return system;
  const list = splitTop(s, /^(?:,\s*(?:and|or)\s+|,|;|\s+and\s+|\s*\bor\b\s*)/);
  if (list.parts.length > 1) {
    if (list.parts.some((p) => !p)) return text(s);
    const items = flatten(list.parts.map((p) => parseItem(p, percent)));
    // `x < -2 \text{ or } x > 3` is one set, the union of its inequalities.
    if (list.seps.every((sep) => /or/.test(sep)) && items.every(isInequality)) {
      return { kind: "union", parts: items };
    }
    return { kind: "list", items };
  }
  return parseItem(s, percent);
}

/** An inequality between expressions (`x > 3`, `1 \le |z| \le 2`). */
export function isInequality(a: Answer): boolean {
  return a.kind === "relation" && a.ops.every((o) => o !== "=" && o !== "≈" && o !== "!=");
}

/**
 * `p=5, q=2; p=7, q=2`: solutions of a system, one group per solution, each a list of
 * `name = value`. Read as the tuples `(5, 2), (7, 2)`, in the order the names are given.
 */
function solutionGroups(s: string, percent: boolean): Answer | null {
  const groups = splitTop(s, /^;/).parts;
  if (groups.length < 2) return null;
  const tuples: Answer[] = [];
  for (const group of groups) {
    const parts = splitTop(group, /^,/).parts;
    if (parts.length < 2) return null;
    const values: Answer[] = [];
    for (const part of parts) {
      const rel = splitTop(part, /^=(?![<>])/);
      if (rel.parts.length !== 2 || !/^[A-Za-z](?:_\{?\w+\}?)?$/.test(rel.parts[0])) return null;
      values.push(parseItem(rel.parts[1], percent));
    }
    tuples.push({ kind: "tuple", items: values });
  }
  return { kind: "list", items: tuples };
}

/** `a \pm b` parses to a two-item list; inside a list or set its items join the parent. */
function flatten(items: Answer[]): Answer[] {
  return items.flatMap((a) => (a.kind === "list" ? a.items : [a]));
}

function text(s: string): Answer {
  const t = s.replace(/\s+/g, "").replace(/^\\text\{(.*)\}$/, "$1");
  return { kind: "text", text: t.length > 1 ? t.toLowerCase() : t };
}

function parseItem(s: string, percent: boolean): Answer {
  s = s.trim();
  if (!s) return { kind: "empty" };
  const pm = /\\(pm|mp)(?![A-Za-z])|±/.exec(s);
  if (pm) {
    // Each ± doubles the items; three (eight roots) is plenty, more is an attack.
    if ((s.match(/\\(?:pm|mp)(?![A-Za-z])|±/g) ?? []).length > 3) {
      throw new LimitError("too many ±");
    }
    const plus = s.slice(0, pm.index) + (pm[1] === "mp" ? "-" : "+") +
      s.slice(pm.index + pm[0].length);
    const minus = s.slice(0, pm.index) + (pm[1] === "mp" ? "+" : "-") +
      s.slice(pm.index + pm[0].length);
    return { kind: "list", items: flatten([parseItem(plus, percent), parseItem(minus, percent)]) };
  }

  const rel = splitTop(s, REL_RE);
  if (rel.parts.length > 1) return relation(rel.parts, rel.seps, percent);

  const system = /^\\begin\{(cases|aligned|align\*?|gathered|gather\*?)\}([\s\S]*)\\end\{\1\}$/
    .exec(s);
  if (system && !/\\end\{/.test(system[2])) {
    // A system written as cases is the list of its rows (alignment marks dropped).
    const rows = splitTop(system[2].trim().replace(/\\\\\s*$/, ""), /^\\\\/).parts;
    const items = rows.filter((r) => r).map((r) => parseItem(r.replace(/&/g, " "), percent));
    return items.length === 1 ? items[0] : { kind: "list", items };
  }
  const env = /^\\begin\{([pbBV]?matrix|array)\}([\s\S]*)\\end\{\1\}$/.exec(s);
  // Only when one environment spans the whole answer: `A + B` is arithmetic, parsed below.
  if (env && !/\\end\{/.test(env[2])) {
    return matrix(env[1] === "array" ? env[2].replace(/^\s*\{[^{}]*\}/, "") : env[2]);
  }

  if (s.startsWith("\\{") && s.endsWith("\\}")) {
    const inner = s.slice(2, -2).trim();
    if (!inner) return { kind: "set", items: [] };
    const items = splitTop(inner, /^,/).parts.map((p) => parseItem(p, percent));
    return { kind: "set", items: flatten(items) };
  }
  if (/^\\(?:emptyset|varnothing)$|^\{\s*\}$/.test(s)) return { kind: "set", items: [] };

  if ("([".includes(s[0]) && ")]".includes(s[s.length - 1]) && closingIndex(s) === s.length - 1) {
    const items = splitTop(s.slice(1, -1), /^[,;]/).parts;
    if (items.length === 2 && (s[0] === "[" || s[s.length - 1] === "]")) {
      return {
        kind: "interval",
        lo: parseItem(items[0], false),
        hi: parseItem(items[1], false),
        loClosed: s[0] === "[",
        hiClosed: s[s.length - 1] === "]",
      };
    }
    if (items.length > 1) return { kind: "tuple", items: items.map((p) => parseItem(p, false)) };
    // `\left[\begin{array}…\end{array}\right]`, `(\{1,2\})`: brackets around a structure.
    const inner = parseItem(items[0], percent);
    if (inner.kind !== "expr" && inner.kind !== "text") return inner;
  }

  const base = /^(\d+)_\{?(\d+)\}?$/.exec(s);
  if (base) return { kind: "text", text: `${base[1]}_${base[2]}` };
  return expression(s, percent);
}

/** A number or expression, or text when it does not parse. */
function expression(s: string, percent: boolean): Answer {
  // A word (`Monday`, `\text{no solution}`) is text, not a product of its letters: as a
  // product, anagrams would be equal (`evens` = `seven`). Two letters stay a product (`xy`).
  if (/^[A-Za-z]+(?: [A-Za-z]+)*$/.test(s) && s.replace(/ /g, "").length >= 3) {
    const toks = tokenize(s);
    if (toks && toks.every((t) => t.kind === "id")) return text(s);
  }
  const spaced = /^(-?)(\d+) (\d+)\/(\d+)$/.exec(s);
  if (spaced && Number(spaced[3]) < Number(spaced[4])) {
    // `1 1/2`: a mixed number written in plain text, as in word-problem answers.
    s = `${spaced[1]}\\frac{${Number(spaced[2]) * Number(spaced[4]) + Number(spaced[3])}}{${
      spaced[4]
    }}`;
  }
  const mixed = /^(-?)(\d+)\s*\\frac\{?(\d+)\}?\{?(\d+)\}?$/.exec(s);
  if (mixed && Number(mixed[3]) < Number(mixed[4]) && /\\frac\{\d+\}\{\d+\}|\\frac\d\d/.test(s)) {
    // `1\frac{4}{5}` is the mixed number 9/5, as in MATH's golds, not 1 × 4/5.
    s = `${mixed[1]}\\frac{${Number(mixed[2]) * Number(mixed[4]) + Number(mixed[3])}}{${mixed[4]}}`;
  }
  try {
    const expr = parseLatex(s);
    const vars = [...freeVars(expr)].sort();
    const int = /^-?\d+$/.test(s.replace(/\s/g, "")) ? BigInt(s.replace(/\s/g, "")) : undefined;
    return { kind: "expr", expr, vars, int, percent };
  } catch (e) {
    if (e instanceof LimitError) throw e;
    return text(s);
  }
}

function relation(parts: string[], seps: string[], percent: boolean): Answer {
  const ops = seps.map((s) => REL_NAMES[s]);
  if (ops.includes("in")) {
    // `x \in [2, 7]` means the set; anything fancier is compared as text.
    const last = parts[parts.length - 1];
    return ops.length === 1 && /^[A-Za-z]$/.test(parts[0])
      ? parseAnswer(last, percent)
      : text(parts.join(""));
  }
  if (parts.some((p) => !p)) return text(parts.join(""));
  return { kind: "relation", ops: ops as RelOp[], sides: parts.map((p) => parseItem(p, percent)) };
}

function matrix(body: string): Answer {
  const rows = splitTop(body.trim().replace(/\\\\\s*$/, ""), /^\\\\/).parts;
  return {
    kind: "matrix",
    rows: rows.map((r) => splitTop(r, /^&/).parts.map((c) => parseItem(c, false))),
  };
}
