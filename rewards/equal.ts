/**
 * The equivalence layer: `equal(pred, gold)` decides whether an extracted answer means the
 * same as the reference. Strings are normalized (`normalize.ts`), parsed into structure
 * (`answer.ts`), and compared kind by kind here; single values go to `equal_values.ts`.
 *
 * Guarding against reward hacking lives here too: hedges ("1 or 2"), empty answers and
 * lists offered where one value is asked are rejected before any leniency applies.
 *
 * @module
 */

import { type Answer, isInequality, parseAnswer } from "./answer.ts";
import { Deadline, LimitError, LIMITS } from "./limits.ts";
import { goldAnswer } from "./gold.ts";
import { normalizeAnswer } from "./normalize.ts";
import { type MathOptions, withDefaults } from "./options.ts";
import { close, matrixValue } from "./cas.ts";
import { type Context, exprEqual, hasInfinity, valueOf } from "./equal_values.ts";
import type { Expr } from "./latex_parser.ts";
import { claim, intervalSet, relationEqual, toInterval } from "./equal_relations.ts";

/** The outcome of a comparison, with the reason a person auditing it would want. */
export interface Verdict {
  equal: boolean;
  reason: string;
}

const HEDGE = /(?:^|[^A-Za-z])(?:or|either)(?![A-Za-z])|\\lor(?![A-Za-z])|\\vee(?![A-Za-z])/;

/** Parsed answers by normalized text: a gold is compared with many samples of one prompt. */
const cache = new Map<string, Answer>();
const CACHE_SIZE = 4096;

/** Empties the parse cache (for benchmarks that must measure cold parsing). */
export function clearAnswerCache(): void {
  cache.clear();
}

function parsed(text: string, percent: boolean): Answer {
  const key = `${percent ? "%" : ""}${text}`;
  let a = cache.get(key);
  if (a) return a;
  a = parseAnswer(text, percent);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, a);
  return a;
}

/**
 * Compares a predicted answer with a gold answer (both strings as written: `$…$`,
 * `\boxed{}` and GSM8K `#### N` golds are unwrapped). Never throws.
 */
export function compareAnswers(
  pred: string,
  gold: string,
  options?: Partial<MathOptions>,
): Verdict {
  const opts = withDefaults(options);
  try {
    if (pred.length > LIMITS.maxAnswerChars) return { equal: false, reason: "answer too long" };
    const n = { decimalComma: opts.decimalComma };
    const p = normalizeAnswer(pred, n);
    // A gold option with its text (`(B) 12`, `B Paris`) is reduced to its letter here.
    const g = normalizeAnswer(goldAnswer(String(gold)), n);
    if (!p.text) return { equal: false, reason: "empty answer" };
    if (!g.text) return { equal: false, reason: "empty gold" };
    const gp = parsed(g.text, g.percent);
    if (HEDGE.test(p.text) && !HEDGE.test(g.text) && !multiValued(gp)) {
      // "1 or 2" against one value is a hedge. Against a list of solutions, or a set such as
      // `(-\infty,-2)\cup(3,\infty)`, "or" joins the parts of one answer; the parts must then
      // match the gold's exactly, so nothing extra can ride along.
      return { equal: false, reason: "hedged answer (or)" };
    }
    if (p.text.replace(/\s/g, "") === g.text.replace(/\s/g, "") && p.percent === g.percent) {
      return { equal: true, reason: "identical after normalization" };
    }
    const ctx: Context = { opts, deadline: new Deadline(LIMITS.budgetMs), why: "" };
    if (gp.kind === "choice") {
      // `(B) 42 km`, `B. 42`: for a multiple-choice gold the leading letter is the claim.
      const lead = /^\(([A-Za-z])\)(?:\s|$)|^([A-Z])[.:)](?:\s|$)/.exec(p.text);
      if (lead) {
        const ok = (lead[1] ?? lead[2]).toUpperCase() === gp.letter;
        return { equal: ok, reason: ok ? "same choice" : "different choice" };
      }
    }
    let ok = answersEqual(parsed(p.text, p.percent), gp, ctx);
    if (!ok && p.degrees !== g.degrees && /\\pi|π/.test(g.degrees ? p.text : g.text)) {
      // `30^\circ` and `\frac{\pi}{6}` are one angle in two units.
      const [deg, rad] = g.degrees ? [g, p] : [p, g];
      const inRadians = parsed(`(${deg.text})\\cdot\\frac{\\pi}{180}`, false);
      ok = g.degrees
        ? answersEqual(parsed(rad.text, rad.percent), inRadians, ctx)
        : answersEqual(inRadians, parsed(rad.text, rad.percent), ctx);
      if (ok) ctx.why = "same angle in degrees and radians";
    }
    return { equal: ok, reason: ctx.why || (ok ? "equal" : "not equal") };
  } catch (e) {
    return {
      equal: false,
      reason: e instanceof LimitError ? e.message : `error: ${String(e).slice(0, 80)}`,
    };
  }
}

/**
 * The letter of a multiple-choice gold (`B`, `(B)`, `\text{B}`, `B Paris`, an explanation that
 * commits to `B`), or null when the gold is not a choice. Never throws.
 */
export function goldChoice(gold: unknown): string | null {
  if (typeof gold !== "string") return null;
  try {
    const g = normalizeAnswer(goldAnswer(gold), { decimalComma: false });
    const a = parsed(g.text, g.percent);
    return a.kind === "choice" ? a.letter : null;
  } catch {
    return null;
  }
}

/** Does a gold ask for several values or a set (a list, set, union or inequality)? */
function multiValued(g: Answer): boolean {
  return (g.kind === "list" || g.kind === "set") && g.items.length > 1 ||
    g.kind === "union" || g.kind === "interval" || isInequality(g);
}

/** Is `pred` the same answer as `gold`? See {@link compareAnswers}. */
export function equal(pred: string, gold: string, options?: Partial<MathOptions>): boolean {
  return compareAnswers(pred, gold, options).equal;
}

/** The single value of an answer, if it is one (`x = 5` and a one-item list count). */
function single(a: Answer): Answer | null {
  if (a.kind === "expr") return a;
  if ((a.kind === "list" || a.kind === "tuple" || a.kind === "set") && a.items.length === 1) {
    return single(a.items[0]);
  }
  const c = claim(a, false);
  return c ? single(c) : null;
}

/** Structural equality, dispatched on the gold's kind. */
export function answersEqual(p: Answer, g: Answer, ctx: Context): boolean {
  ctx.deadline.check();
  if (p.kind === "relation" && g.kind !== "relation") {
    // `x = 2 + 3 = 5` against a value: the chain's conclusion is the claim.
    const c = claim(p, false);
    if (c) return answersEqual(c, g, ctx);
  }
  switch (g.kind) {
    case "empty":
      return false;
    case "choice":
      return choiceOf(p) === g.letter;
    case "text":
      if (p.kind === "text" && p.text === g.text) return true;
      // A base-b gold `52_8` also accepts the bare digits `52`.
      return /^\d+_\d+$/.test(g.text) && p.kind === "expr" && p.int !== undefined &&
        g.text.startsWith(`${p.int}_`);
    case "expr": {
      const v = single(p);
      if (v?.kind === "expr") return exprEqual(v, g, ctx);
      ctx.why = p.kind === "list" ? "a list where one value is asked" : `${p.kind} vs value`;
      return false;
    }
    case "relation": {
      const gs = isInequality(g) && !toInterval(g, ctx) ? intervalSet(g, ctx) : null;
      if (gs) return sameIntervals(intervalSet(p, ctx), gs, ctx);
      return relationEqual(p, g, ctx, answersEqual);
    }
    case "interval": {
      const pi = p.kind === "tuple" && p.items.length === 2 && !g.loClosed && !g.hiClosed
        ? {
          kind: "interval" as const,
          lo: p.items[0],
          hi: p.items[1],
          loClosed: false,
          hiClosed: false,
        }
        : toInterval(p, ctx);
      if (pi) return intervalsEqual(pi, g, ctx);
      return sameIntervals(intervalSet(p, ctx), [g], ctx);
    }
    case "union": {
      const gs = intervalSet(g, ctx);
      if (gs) return sameIntervals(intervalSet(p, ctx), gs, ctx);
      return p.kind === "union" && unordered(p.parts, g.parts, ctx);
    }
    case "tuple": {
      // `(0, 1)` may be an open interval: `0 < x < 1` and `(0,1)` then agree.
      const set = g.items.length === 2 && p.kind !== "tuple" ? intervalSet(p, ctx) : null;
      const pi = set?.length === 1 ? set[0] : null;
      if (pi && !pi.loClosed && !pi.hiClosed) return ordered([pi.lo, pi.hi], g.items, ctx);
      return ordered(vector(p) ?? [], g.items, ctx);
    }
    case "list": {
      const items = p.kind === "list" || p.kind === "set"
        ? p.items
        : p.kind === "tuple"
        ? p.items
        : null;
      if (!items) {
        ctx.why = "a single value where a list is asked";
        return false;
      }
      return ctx.opts.listOrder === "ordered" || p.kind === "tuple"
        ? ordered(items, g.items, ctx)
        : unordered(items, g.items, ctx);
    }
    case "set":
      return (p.kind === "set" || p.kind === "list") && unordered(p.items, g.items, ctx);
    case "matrix": {
      if (p.kind === "expr" && p.vars.length === 0) return matrixEqual(p.expr, g, ctx);
      if (p.kind !== "matrix") {
        return g.rows.every((r) => r.length === 1) &&
          ordered(vector(p) ?? [], g.rows.map((r) => r[0]), ctx);
      }
      return p.rows.length === g.rows.length &&
        p.rows.every((row, i) => ordered(row, g.rows[i], ctx));
    }
  }
}

/** A matrix expression (`A + B`, `A B`) evaluated by the CAS against a gold matrix. */
function matrixEqual(e: Expr, g: Extract<Answer, { kind: "matrix" }>, ctx: Context): boolean {
  const m = matrixValue(e);
  if (!m || m.length !== g.rows.length) return false;
  return g.rows.every((row, i) =>
    m[i].length === row.length &&
    row.every((cell, j) =>
      cell.kind === "expr" && cell.vars.length === 0 &&
      close(m[i][j], valueOf(cell.expr), ctx.opts.relTol)
    )
  );
}

/** A tuple, list or one-column/one-row matrix read as a sequence of values. */
function vector(a: Answer): Answer[] | null {
  if (a.kind === "tuple" || a.kind === "list") return a.items;
  if (a.kind === "matrix") {
    if (a.rows.every((r) => r.length === 1)) return a.rows.map((r) => r[0]);
    if (a.rows.length === 1) return a.rows[0];
  }
  return null;
}

function choiceOf(p: Answer): string | null {
  if (p.kind === "choice") return p.letter;
  if (p.kind === "expr" && p.expr.t === "sym" && /^([A-Z]|[a-d])$/.test(p.expr.name)) {
    return p.expr.name.toUpperCase();
  }
  if (p.kind === "text") {
    // `(B) 42`, `B. 42`, `B) 42`: the letter leads and nothing else claims a letter.
    const m = /^\(?([a-z])\)/.exec(p.text) ?? /^([a-z])[.:]/.exec(p.text);
    return m ? m[1].toUpperCase() : null;
  }
  return null;
}

function ordered(ps: Answer[], gs: Answer[], ctx: Context): boolean {
  if (ps.length !== gs.length) {
    ctx.why = `${ps.length} items vs ${gs.length}`;
    return false;
  }
  return inStructure(ctx, () => gs.every((g, i) => answersEqual(ps[i], g, ctx)));
}

/** Runs `f` with `ctx.inStructure` set: the parts of a structure may be rounded decimals. */
function inStructure<T>(ctx: Context, f: () => T): T {
  const outer = ctx.inStructure;
  ctx.inStructure = true;
  try {
    return f();
  } finally {
    ctx.inStructure = outer;
  }
}

/** Drops items equal to an earlier one: a solution listed twice is still one solution. */
function distinct(items: Answer[], ctx: Context): Answer[] {
  const kept: Answer[] = [];
  for (const a of items) if (!kept.some((k) => answersEqual(a, k, ctx))) kept.push(a);
  return kept;
}

/** Set equality of distinct items; greedy matching is exact because equality is transitive. */
function unordered(ps: Answer[], gs: Answer[], ctx: Context): boolean {
  if (ps.length !== gs.length) {
    ps = distinct(ps, ctx);
    gs = distinct(gs, ctx);
  }
  if (ps.length !== gs.length) {
    ctx.why = `${ps.length} items vs ${gs.length}`;
    return false;
  }
  const used = new Array(ps.length).fill(false);
  return inStructure(ctx, () => {
    for (const g of gs) {
      const i = ps.findIndex((p, j) => !used[j] && answersEqual(p, g, ctx));
      if (i < 0) return false;
      used[i] = true;
    }
    return true;
  });
}

type Interval = Extract<Answer, { kind: "interval" }>;

/** The same union of intervals, in any order (both sides already as interval lists). */
function sameIntervals(ps: Interval[] | null, gs: Interval[], ctx: Context): boolean {
  if (!ps || ps.length !== gs.length) return false;
  const used = new Array(ps.length).fill(false);
  return gs.every((g) => {
    const i = ps.findIndex((p, j) => !used[j] && intervalsEqual(p, g, ctx));
    if (i >= 0) used[i] = true;
    return i >= 0;
  });
}

function intervalsEqual(p: Interval, g: Interval, ctx: Context): boolean {
  // Closedness matters only at finite ends: `[2, \infty]` is sloppy, not a different set.
  const finite = (a: Answer) => !(a.kind === "expr" && hasInfinity(a.expr));
  if (finite(g.lo) && p.loClosed !== g.loClosed) return false;
  if (finite(g.hi) && p.hiClosed !== g.hiClosed) return false;
  return inStructure(ctx, () => answersEqual(p.lo, g.lo, ctx) && answersEqual(p.hi, g.hi, ctx));
}
