/**
 * Equality of single values: numbers and expressions. Numbers compare exactly when the
 * gold is an integer (so 10001 never passes for 10000, a known flaw of a bare relative
 * tolerance), else within `relTol`. Expressions with variables compare by evaluation at
 * probe points (see `cas.ts`), which requires the same free variables on both sides.
 *
 * @module
 */

import type { Answer } from "./answer.ts";
import {
  close,
  compile,
  type Compiled,
  finite,
  PROBE_COUNT,
  probeScope,
  type Value,
} from "./cas.ts";
import type { Expr } from "./latex_parser.ts";
import type { Deadline } from "./limits.ts";
import type { MathOptions } from "./options.ts";

/** What a comparison needs besides the two answers. */
export interface Context {
  opts: MathOptions;
  deadline: Deadline;
  /** Set by the comparison that decided, for the details of a reward. */
  why: string;
}

type ExprAnswer = Extract<Answer, { kind: "expr" }>;

/** Relative tolerance when checking an identity at probe points: round-off only. */
const IDENTITY_TOL = 1e-7;
/** An identity must hold at this many comparable probe points. */
const MIN_PROBES = 4;
/** Probes from this index on are negative; complex-branch disagreements there are skipped. */
const FIRST_NEGATIVE_PROBE = 6;

const compiled = new WeakMap<Expr, Compiled>();
function compiledOf(e: Expr): Compiled {
  let c = compiled.get(e);
  if (!c) compiled.set(e, c = compile(e));
  return c;
}

/** Evaluates a variable-free expression. */
export function valueOf(e: Expr): Value {
  return compiledOf(e)({});
}

/** The values a number may stand for: `50\%` may mean 50 or 0.5 under `percent: flexible`. */
function readings(a: ExprAnswer, v: Value, ctx: Context): Value[] {
  if (!a.percent || ctx.opts.percent === "strict") return [v];
  return [v, { re: v.re / 100, im: v.im / 100 }];
}

/** Is `p` (prediction) equal to `g` (gold) as single values? */
export function exprEqual(p: ExprAnswer, g: ExprAnswer, ctx: Context): boolean {
  ctx.deadline.check();
  if (p.vars.join(",") !== g.vars.join(",")) {
    ctx.why = `different variables: {${p.vars}} vs {${g.vars}}`;
    return false;
  }
  if (g.vars.length === 0) return numbersEqual(p, g, ctx);
  return identityHolds(compiledOf(p.expr), compiledOf(g.expr), g.vars, ctx);
}

function numbersEqual(p: ExprAnswer, g: ExprAnswer, ctx: Context): boolean {
  if (p.int !== undefined && g.int !== undefined && !p.percent && !g.percent) {
    ctx.why = "equal integers";
    return p.int === g.int;
  }
  // An integer gold is an exact claim: only round-off is forgiven, not a near miss.
  const tol = g.int !== undefined ? 1e-12 : ctx.opts.relTol;
  const pv = valueOf(p.expr);
  const gv = valueOf(g.expr);
  if (!finite(pv) || !finite(gv)) {
    // Only a written infinity is infinite: `12:00` and `1:00` (both x/0) are undefined.
    const ok = hasInfinity(p.expr) && hasInfinity(g.expr) && close(pv, gv, 0);
    ctx.why = ok ? "equal infinities" : "undefined or infinite value";
    return ok;
  }
  for (const a of readings(p, pv, ctx)) {
    for (const b of readings(g, gv, ctx)) {
      if (close(a, b, tol)) {
        ctx.why = "equal numbers";
        return true;
      }
    }
  }
  ctx.why = `numbers differ: ${fmt(pv)} vs ${fmt(gv)}`;
  return false;
}

/** Does the expression contain a written `\infty`? */
export function hasInfinity(e: Expr): boolean {
  if (e.t === "const") return e.name === "inf";
  if (e.t === "bin") return hasInfinity(e.a) || hasInfinity(e.b);
  if (e.t === "neg") return hasInfinity(e.a);
  return e.t === "fn" && e.args.some(hasInfinity);
}

function fmt(v: Value): string {
  return v.im === 0 ? String(v.re) : `${v.re}${v.im < 0 ? "-" : "+"}${Math.abs(v.im)}i`;
}

/** Do two compiled expressions agree at the probe points? */
export function identityHolds(p: Compiled, g: Compiled, vars: string[], ctx: Context): boolean {
  let agreed = 0;
  for (let k = 0; k < PROBE_COUNT; k++) {
    ctx.deadline.check();
    const scope = probeScope(vars, k);
    const a = p(scope);
    const b = g(scope);
    // Poles and undefined points say nothing either way (removable singularities differ).
    if (!finite(a) || !finite(b)) continue;
    if (close(a, b, IDENTITY_TOL, 1e-9)) {
      agreed++;
    } else if (k >= FIRST_NEGATIVE_PROBE && (a.im !== 0 || b.im !== 0)) {
      continue; // e.g. x^{2/3} vs (∛x)²: principal branches differ for x < 0
    } else {
      ctx.why = `expressions differ at probe ${k}`;
      return false;
    }
  }
  ctx.why = agreed >= MIN_PROBES
    ? `identity holds at ${agreed} probe points`
    : "too few comparable probe points";
  return agreed >= MIN_PROBES;
}

/**
 * Is `p` a non-zero constant multiple of `g` at every probe point? Used for equations:
 * `2x+4y-3=0` and `y=-x/2+3/4` describe the same line because their sides' differences
 * are proportional.
 */
export function proportional(p: Compiled, g: Compiled, vars: string[], ctx: Context): boolean {
  let ratio: Value | null = null;
  let agreed = 0;
  for (let k = 0; k < PROBE_COUNT; k++) {
    ctx.deadline.check();
    const scope = probeScope(vars, k);
    const a = p(scope);
    const b = g(scope);
    if (!Number.isFinite(a.re) || !Number.isFinite(b.re) || a.im !== 0 || b.im !== 0) continue;
    if (Math.abs(b.re) < 1e-9 || Math.abs(a.re) < 1e-9) {
      if (Math.abs(b.re) < 1e-9 && Math.abs(a.re) < 1e-9) continue;
      return false;
    }
    const r: Value = { re: a.re / b.re, im: 0 };
    if (ratio && !close(r, ratio, 1e-6)) return false;
    ratio ??= r;
    agreed++;
  }
  return agreed >= MIN_PROBES - 1;
}

/** Compiles an expression for callers outside this file (equations, inequalities). */
export function compiledExpr(e: Expr): Compiled {
  return compiledOf(e);
}
