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
  exactClose,
  exactValue,
  finite,
  PROBE_COUNT,
  probeLiterals,
  probeScope,
  substitute,
  substituteAll,
  type Value,
} from "./cas.ts";
import { canonicalKey } from "./canonical.ts";
import { type Exact, exactRational, rationalClose } from "./exact.ts";
import { type Expr, freeVars } from "./latex_parser.ts";
import type { BigNumber } from "mathjs";
import type { Deadline } from "./limits.ts";
import type { MathOptions } from "./options.ts";

/** What a comparison needs besides the two answers. */
export interface Context {
  opts: MathOptions;
  deadline: Deadline;
  /** Set by the comparison that decided, for the details of a reward. */
  why: string;
  /** Comparing a part of a tuple, vector, matrix, list, set or interval. */
  inStructure?: boolean;
}

type ExprAnswer = Extract<Answer, { kind: "expr" }>;

/** Relative tolerance when checking an identity at probe points: round-off only. */
const IDENTITY_TOL = 1e-7;
/** An identity must hold at this many comparable probe points. */
const MIN_PROBES = 4;

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
  if (valuesEqual(p, g, ctx)) return true;
  // What evaluation cannot decide (a sum up to a free bound, `\binom{n}{k}` off the integers),
  // structure can: the same tree up to the order of terms and factors, or a sum or product
  // equal part by part. Both can only accept what is equal.
  if (canonicalKey(p.expr) === canonicalKey(g.expr)) {
    ctx.why = "the same expression up to the order of terms and factors";
    return true;
  }
  if (seriesEqual(p.expr, g.expr, ctx)) {
    ctx.why = "sums or products with equal bounds and equal terms";
    return true;
  }
  return false;
}

/**
 * `\sum_{k=a}^{b} f(k)` equals `\sum_{j=a'}^{b'} g(j)` when `a = a'`, `b = b'` and `f = g` as
 * expressions (the index renamed to one variable); likewise for `\prod`.
 */
function seriesEqual(a: Expr, b: Expr, ctx: Context): boolean {
  if (a.t !== "series" || b.t !== "series" || a.op !== b.op) return false;
  const index: Expr = { t: "sym", name: "\u03b9" }; // a name the parser never produces
  const pairs: [Expr, Expr][] = [
    [a.lo, b.lo],
    [a.hi, b.hi],
    [substitute(a.body, a.index, index), substitute(b.body, b.index, index)],
  ];
  const answer = (e: Expr): ExprAnswer => ({
    kind: "expr",
    expr: e,
    vars: [...freeVars(e)].sort(),
    percent: false,
  });
  return pairs.every(([x, y]) => exprEqual(answer(x), answer(y), ctx));
}

/** Equality by value: numbers exactly or within tolerance, expressions at probe points. */
function valuesEqual(p: ExprAnswer, g: ExprAnswer, ctx: Context): boolean {
  if (g.vars.length === 0) return numbersEqual(p, g, ctx);
  if (!identityHolds(compiledOf(p.expr), compiledOf(g.expr), g.vars, ctx)) return false;
  // Doubles forgive round-off (1e-7 here); a decimal-free identity must hold exactly, or
  // `x^2+10^{-9}` would pass for `x^2`.
  if (hasDecimal(p.expr) || hasDecimal(g.expr)) return true;
  return exactAtProbes(p.expr, g.expr, g.vars, ctx, "identity");
}

/** The exact value of a variable-free expression: a rational if it is one, else 64 digits. */
type ExactNumber = { rational: Exact } | { digits: BigNumber };

function exactNumber(e: Expr): ExactNumber | null {
  const rational = exactRational(e);
  if (rational) return { rational };
  const digits = exactValue(e);
  return digits ? { digits } : null;
}

/** 64-digit values agree to 40 digits (or both vanish to 50 decimals: `\sin\pi`). */
const DIGITS_TOL = 1e-40;
const DIGITS_ZERO = 1e-50;

function bigOf(x: ExactNumber): BigNumber | null {
  if ("digits" in x) return x.digits;
  const { n, d } = x.rational;
  const num: Expr = { t: "num", text: (n < 0n ? -n : n).toString() };
  return exactValue({
    t: "bin",
    op: "/",
    a: n < 0n ? { t: "neg", a: num } : num,
    b: { t: "num", text: d.toString() },
  });
}

/** a = b exactly (two rationals) or to {@link DIGITS_TOL} (otherwise); null: undecided. */
function exactlyEqual(a: ExactNumber, b: ExactNumber): boolean | null {
  if ("rational" in a && "rational" in b) {
    return a.rational.n * b.rational.d === b.rational.n * a.rational.d; // need not be reduced
  }
  const x = bigOf(a);
  const y = bigOf(b);
  if (!x || !y) return null;
  if (x.abs().lessThan(DIGITS_ZERO) && y.abs().lessThan(DIGITS_ZERO)) return true;
  return exactClose(x, y, DIGITS_TOL);
}

/**
 * Re-checks, exactly, what doubles found at the probe points: `identity` (p = g) or
 * `proportional` (p = c·g for one constant c). Rational values are compared exactly at every
 * probe; other values to 40 digits at the first probe where both have a real 64-digit value
 * only (a fractional power takes ~15 ms there, and one point suffices to expose an added
 * `10^{-9}`). Probes where a side has no exact real value (a complex branch, a pole, a size
 * bound) decide nothing.
 */
function exactAtProbes(
  p: Expr,
  g: Expr,
  vars: string[],
  ctx: Context,
  mode: "identity" | "proportional",
): boolean {
  let first: [ExactNumber, ExactNumber] | null = null;
  let digitsChecked = false;
  for (let k = 0; k < PROBE_COUNT; k++) {
    ctx.deadline.check();
    const at = probeLiterals(vars, k);
    const pk = substituteAll(p, at);
    const gk = substituteAll(g, at);
    const pr = exactRational(pk);
    const gr = pr && exactRational(gk);
    let a: ExactNumber | null;
    let b: ExactNumber | null;
    if (pr && gr) [a, b] = [{ rational: pr }, { rational: gr }];
    else if (digitsChecked) continue;
    else {
      a = exactNumber(pk);
      b = a && exactNumber(gk);
    }
    if (!a || !b) continue;
    let ok: boolean | null | undefined;
    if (mode === "identity") ok = exactlyEqual(a, b);
    else if (!first) {
      first = [a, b];
      continue;
    } else {
      const lhs = product(a, first[1]); // a/b = a0/b0 as a·b0 = a0·b
      const rhs = lhs && product(first[0], b);
      ok = rhs && exactlyEqual(lhs, rhs);
    }
    if (!(pr && gr) && ok !== null && ok !== undefined) digitsChecked = true;
    if (ok === false) {
      ctx.why = `${mode === "identity" ? "expressions" : "equations"} differ exactly at probe ${k}`;
      return false;
    }
  }
  return true;
}

function product(a: ExactNumber, b: ExactNumber): ExactNumber | null {
  if ("rational" in a && "rational" in b) {
    return { rational: { n: a.rational.n * b.rational.n, d: a.rational.d * b.rational.d } };
  }
  const x = bigOf(a);
  const y = bigOf(b);
  return x && y ? { digits: x.times(y) } : null;
}

function numbersEqual(p: ExprAnswer, g: ExprAnswer, ctx: Context): boolean {
  if (numbersEqualAsWritten(p, g, ctx)) return true;
  const mode = ctx.opts.decimalRounding;
  if (mode === "all" || (mode === "structures" && ctx.inStructure)) {
    if (roundsTo(p, g)) {
      ctx.why = "equal after rounding to the decimal's places";
      return true;
    }
  }
  return false;
}

/** A decimal literal `±m / 10^places` as written, with its significant digits. */
interface Decimal {
  m: bigint;
  places: number;
  significant: number;
}

/** The rounding rule applies only to decimals this precise: 0.3 and 0.01 say too little. */
const MIN_PLACES = 2;
const MIN_SIGNIFICANT = 2;

function decimalLiteral(a: ExprAnswer): Decimal | null {
  if (a.percent) return null;
  const neg = a.expr.t === "neg";
  const e = a.expr.t === "neg" ? a.expr.a : a.expr;
  const d = e.t === "num" ? /^(\d*)\.(\d+)$/.exec(e.text) : null;
  if (!d) return null;
  const m = BigInt((d[1] || "0") + d[2]);
  const significant = (d[1] + d[2]).replace(/^0+/, "").length;
  return { m: neg ? -m : m, places: d[2].length, significant };
}

/**
 * Math-Verify's rule for rounded decimals, stated exactly: a decimal `D` with `k` places equals
 * a value `v` when `v` rounds to `D` at `k` places, i.e. `|v − D| ≤ ½·10^{−k}` (either way of
 * rounding a tie). The coarser decimal sets `k`, so the prediction may be more precise than a
 * decimal gold but never less; that decimal needs {@link MIN_PLACES} places and
 * {@link MIN_SIGNIFICANT} significant digits. Rational values are compared in BigInt, others
 * at 64 digits; undecidable values do not round.
 */
function roundsTo(p: ExprAnswer, g: ExprAnswer): boolean {
  if (p.percent || g.percent) return false;
  const dp = decimalLiteral(p);
  const dg = decimalLiteral(g);
  let d: Decimal;
  let other: ExprAnswer;
  if (dg && (!dp || dp.places >= dg.places)) [d, other] = [dg, p];
  else if (dp && !dg) [d, other] = [dp, g];
  else return false; // the prediction is coarser than a decimal gold
  if (d.places < MIN_PLACES || d.significant < MIN_SIGNIFICANT) return false;
  const scale = 10n ** BigInt(d.places);
  const r = exactRational(other.expr);
  if (r) {
    const diff = r.n * scale - d.m * r.d; // (v − D)·10^k·den
    return (diff < 0n ? -diff : diff) * 2n <= r.d;
  }
  const v = exactValue(other.expr);
  const dv = bigOf({ rational: { n: d.m, d: scale } });
  const half = bigOf({ rational: { n: 1n, d: 2n * scale } });
  return v !== null && dv !== null && half !== null && v.minus(dv).abs().lessThanOrEqualTo(half);
}

function numbersEqualAsWritten(p: ExprAnswer, g: ExprAnswer, ctx: Context): boolean {
  if (p.int !== undefined && g.int !== undefined && !p.percent && !g.percent) {
    const ok = p.int === g.int;
    ctx.why = ok ? "equal integers" : `integers differ: ${p.int} vs ${g.int}`;
    return ok;
  }
  // `relTol` forgives a rounded decimal (0.3333 for 1/3). When neither side has a decimal
  // (or a percent), nothing was rounded: only round-off is forgiven, so \frac{1}{23427} is
  // not \frac{1}{23426} and \frac{99}{70} is not \sqrt2. An integer gold is exact too.
  const rounded = p.percent || g.percent || hasDecimal(p.expr) || hasDecimal(g.expr);
  const exact = g.int !== undefined || !rounded;
  if (exact && !p.percent && !g.percent && !hasInfinity(p.expr) && !hasInfinity(g.expr)) {
    // Nothing was rounded (or the gold is an integer): two rationals are compared exactly,
    // so `1+10^{-20}` is not 1 and `\frac{1}{10^{12}}` is not 0.
    const pr = exactRational(p.expr);
    const gr = pr && exactRational(g.expr);
    if (pr && gr) {
      const ok = rationalClose(pr, gr, 0);
      ctx.why = ok ? "equal numbers (exact)" : "numbers differ (exact)";
      return ok;
    }
  }
  const tol = exact ? 1e-12 : ctx.opts.relTol;
  const pv = valueOf(p.expr);
  const gv = valueOf(g.expr);
  const doubt = [doubtful(pv, p.expr), doubtful(gv, g.expr, g.int !== undefined)];
  if (doubt.some((d) => d > 0) && !hasInfinity(p.expr) && !hasInfinity(g.expr)) {
    // Doubles cannot decide here (`1/2006!` and `1/2004!` both underflow to 0). Rational
    // arithmetic can, exactly, when both sides are rational (`2^{2008}-3` vs `2^{2008}-2`);
    // otherwise 64 significant digits usually can.
    const pr = p.percent ? null : exactRational(p.expr);
    const gr = pr && !g.percent ? exactRational(g.expr) : null;
    if (pr && gr) {
      const ok = rationalClose(pr, gr, gr.d === 1n || !rounded ? 0 : tol);
      ctx.why = ok ? "equal numbers (exact)" : "numbers differ (exact)";
      return ok;
    }
    const pe = p.percent ? null : exactValue(p.expr);
    const ge = g.percent ? null : exactValue(g.expr);
    if (pe && ge) {
      // 64 digits hold an integer gold exactly: only the last digits' round-off is forgiven.
      const ok = exactClose(pe, ge, exact ? DIGITS_TOL : tol);
      ctx.why = ok ? "equal numbers (exact)" : "numbers differ (exact)";
      return ok;
    }
    // Without exact values, doubles only decide when at most one side is a computed zero.
    if (doubt.includes(HARD) || (doubt[0] === SOFT && doubt[1] === SOFT)) {
      ctx.why = "numbers beyond double precision";
      return false;
    }
  }
  if (!finite(pv) || !finite(gv)) {
    // Only a written infinity is infinite: `12:00` and `1:00` (both x/0) are undefined.
    const ok = hasInfinity(p.expr) && hasInfinity(g.expr) && close(pv, gv, 0);
    ctx.why = ok ? "equal infinities" : "undefined or infinite value";
    return ok;
  }
  // Tiny values are compared relatively too: 2^{-99} is not 2^{-98}. Only a zero gold
  // forgives round-off in absolute terms (`\sin\pi` is 1.2e-16).
  const absTol = gv.re === 0 && gv.im === 0 ? 1e-12 : 0;
  for (const a of readings(p, pv, ctx)) {
    for (const b of readings(g, gv, ctx)) {
      if (close(a, b, tol, absTol)) {
        if (!rounded && !confirmedExactly(p.expr, g.expr)) {
          ctx.why = "numbers differ (64 digits)";
          return false;
        }
        ctx.why = "equal numbers";
        return true;
      }
    }
  }
  ctx.why = `numbers differ: ${fmt(pv)} vs ${fmt(gv)}`;
  return false;
}

/**
 * Doubles agreed up to round-off on decimal-free values; do 64 digits agree too? (`\pi` and
 * `\pi + 10^{-15}` are one double.) True when the values have no 64-digit real form.
 */
function confirmedExactly(p: Expr, g: Expr): boolean {
  const a = exactNumber(p);
  const b = a && exactNumber(g);
  return !a || !b || exactlyEqual(a, b) !== false;
}

/** Does the expression contain a written `\infty`? */
export function hasInfinity(e: Expr): boolean {
  if (e.t === "const") return e.name === "inf";
  if (e.t === "bin") return hasInfinity(e.a) || hasInfinity(e.b);
  if (e.t === "neg") return hasInfinity(e.a);
  if (e.t === "series") return [e.lo, e.hi, e.body].some(hasInfinity);
  return e.t === "fn" && e.args.some(hasInfinity);
}

/** Does the expression contain a decimal literal (`0.33`, `1.2e3`), that is, a rounded number? */
function hasDecimal(e: Expr): boolean {
  switch (e.t) {
    case "num":
      return /[.eE]/.test(e.text);
    case "neg":
      return hasDecimal(e.a);
    case "bin":
      return hasDecimal(e.a) || hasDecimal(e.b);
    case "fn":
      return e.args.some(hasDecimal);
    case "series":
      return hasDecimal(e.body);
    default:
      return false;
  }
}

/** Doubles lose integers past 2^53 and all magnitudes past about 1e±300. */
const MAX_EXACT_DOUBLE = 2 ** 53;

const SOFT = 1;
const HARD = 2;

/**
 * How far to trust a double: 0 fully; {@link SOFT} for an exact 0 computed from something
 * other than a literal (`1 - 1`, or an underflow such as `1/2006!`) or a computed value past
 * 2^53; {@link HARD} when it is infinite or NaN, beyond 1e±200, or an integer gold past 2^53.
 */
function doubtful(v: Value, e: Expr, integer = false): number {
  const m = Math.hypot(v.re, v.im);
  if (!Number.isFinite(m)) return HARD;
  const literal = e.t === "num" || (e.t === "neg" && e.a.t === "num");
  if (m === 0) return literal ? 0 : SOFT;
  if (m < 1e-200 || m > 1e200 || (integer && m > MAX_EXACT_DOUBLE)) return HARD;
  // `3^{40} - 1` and `3^{40} - 2` are one double: computed values past 2^53 are re-checked.
  return m > MAX_EXACT_DOUBLE && !literal && !hasDecimal(e) ? SOFT : 0;
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
    } else if ((a.im !== 0 || b.im !== 0) && Object.values(scope).some((v) => v < 0)) {
      // e.g. x^{2/3} vs (∛x)², or (a/b)^{3/2} vs a^{3/2}/b^{3/2}: principal branches
      // differ where a variable is negative; such a point decides nothing.
      continue;
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
export function proportional(
  p: Compiled,
  g: Compiled,
  vars: string[],
  ctx: Context,
  exprs?: [Expr, Expr],
): boolean {
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
  if (agreed < MIN_PROBES - 1) return false;
  // As for identities: proportional up to round-off is not proportional when nothing was
  // rounded (`x^2+y^2=1+10^{-9}` is not `x^2+y^2=1`).
  return !exprs || hasDecimal(exprs[0]) || hasDecimal(exprs[1]) ||
    exactAtProbes(exprs[0], exprs[1], vars, ctx, "proportional");
}

/** Compiles an expression for callers outside this file (equations, inequalities). */
export function compiledExpr(e: Expr): Compiled {
  return compiledOf(e);
}
