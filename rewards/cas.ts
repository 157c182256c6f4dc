/**
 * The computer-algebra layer: expression trees are printed in mathjs syntax, parsed and
 * compiled by mathjs (no `eval`, no `Function`), and evaluated, in complex arithmetic where
 * needed, at fixed probe points. Two expressions are taken as equal when they agree at every
 * probe point, the standard randomized identity test: a polynomial identity that is false
 * fails at almost every point, so a handful of generic points settles it.
 *
 * The mathjs instance is private and exposes only the functions our printer emits, with
 * factorial and binomial replaced by capped versions, so no input reaches a slow path.
 *
 * @module
 */

import { all, type BigNumber, create } from "mathjs";
import type { Expr } from "./latex_parser.ts";

const math = create(all, {});
/**
 * A second, arbitrary-precision instance (64 significant digits, exponents to ±9e15) for the
 * numbers doubles cannot tell apart: `1/2006!` and `1/2004!` both underflow to 0, and
 * `2^{64}+1` rounds to `2^{64}`. Only variable-free values at the edge of the double range
 * are re-evaluated here (see {@link exactValue}).
 */
const big = create(all, { number: "BigNumber", precision: 64 });
/** Largest factorial the arbitrary-precision instance multiplies out. */
const MAX_BIG_FACTORIAL = 5000;
/** Multiplications one exact evaluation may spend on factorials and binomials together. */
const BIG_STEP_BUDGET = 10_000;
/** Longest printed expression evaluated exactly (64-digit operations cost microseconds). */
const MAX_EXACT_PRINTED = 1500;
let bigSteps = 0;
/** Charges `n` steps to the current exact evaluation; false once the budget is spent. */
function spend(n: number): boolean {
  bigSteps += n;
  return bigSteps <= BIG_STEP_BUDGET;
}

/** The largest factorial computed by multiplication; beyond it the result is Infinity. */
const MAX_FACTORIAL = 170;
const MAX_BINOM_STEPS = 1000;

math.import({
  zk_fact(n: unknown): number {
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return NaN;
    if (!Number.isInteger(n)) return n > MAX_FACTORIAL ? Infinity : (math.gamma(n + 1) as number);
    if (n > MAX_FACTORIAL) return Infinity;
    let r = 1;
    for (let k = 2; k <= n; k++) r *= k;
    return r;
  },
  zk_binom(n: unknown, k: unknown): number {
    if (typeof n !== "number" || typeof k !== "number") return NaN;
    if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || n < 0) return NaN;
    if (k > n) return 0;
    const m = Math.min(k, n - k);
    if (m > MAX_BINOM_STEPS) return Infinity;
    let r = 1;
    for (let j = 1; j <= m; j++) r = (r * (n - m + j)) / j;
    return Math.round(r);
  },
  zk_root(x: unknown, n: unknown): unknown {
    // The real odd root of a negative number is what a contest answer means by ∛(-8).
    if (typeof x === "number" && typeof n === "number" && Number.isInteger(n) && n % 2 !== 0) {
      return Math.sign(x) * Math.abs(x) ** (1 / n);
    }
    return math.pow(x as number, math.divide(1, n as number) as number);
  },
}, { override: true });

type Big = BigNumber;
const isBig = (x: unknown): x is Big =>
  typeof x === "object" && x !== null && (x as { isBigNumber?: boolean }).isBigNumber === true;

big.import({
  zk_fact(n: unknown): unknown {
    if (!isBig(n) || !n.isFinite() || n.isNegative()) return big.bignumber(NaN);
    if (!n.isInteger()) return big.gamma(n.plus(1));
    if (n.greaterThan(MAX_BIG_FACTORIAL)) return big.bignumber(Infinity);
    if (!spend(n.toNumber())) return big.bignumber(NaN);
    let r = big.bignumber(1);
    for (let k = 2, end = n.toNumber(); k <= end; k++) r = r.times(k);
    return r;
  },
  zk_binom(n: unknown, k: unknown): unknown {
    if (!isBig(n) || !isBig(k) || !n.isInteger() || !k.isInteger() || n.isNegative()) {
      return big.bignumber(NaN);
    }
    if (k.isNegative()) return big.bignumber(NaN);
    if (k.greaterThan(n)) return big.bignumber(0);
    const m = big.min(k, n.minus(k)) as Big;
    if (m.greaterThan(MAX_BINOM_STEPS)) return big.bignumber(Infinity);
    if (!spend(m.toNumber())) return big.bignumber(NaN);
    let r = big.bignumber(1);
    for (let j = 1, end = m.toNumber(); j <= end; j++) r = r.times(n.minus(m).plus(j)).div(j);
    return r.toDecimalPlaces(0);
  },
  zk_root(x: unknown, n: unknown): unknown {
    if (isBig(x) && isBig(n) && n.isInteger() && !n.mod(2).isZero()) {
      const r = x.abs().pow(big.bignumber(1).div(n));
      return x.isNegative() ? r.neg() : r;
    }
    return big.pow(x as Big, big.divide(1, n as Big) as Big);
  },
  zk_deg(x: unknown): unknown {
    return big.multiply(x as Big, big.divide(big.bignumber(big.pi), 180) as unknown as Big);
  },
}, { override: true });

math.import({
  zk_deg(x: unknown): unknown {
    return math.multiply(x as number, Math.PI / 180);
  },
}, { override: true });

const FN_NAMES: Record<string, string> = {
  fact: "zk_fact",
  binom: "zk_binom",
  root: "zk_root",
  deg: "zk_deg",
};

/** Longest run of terms a `\sum` or `\prod` is expanded to. */
export const MAX_SERIES_TERMS = 200;

/** A mathjs-safe identifier for a variable name such as `x_1` or `theta`. */
export function varId(name: string): string {
  return "v_" + name.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0)}_`);
}

/**
 * Prints an {@link Expr} in mathjs syntax, fully parenthesised. `exact` keeps number literals
 * as written (for the arbitrary-precision instance) instead of rounding them to doubles.
 */
export function toMathjs(e: Expr, exact = false): string {
  const go = (x: Expr) => toMathjs(x, exact);
  switch (e.t) {
    case "num":
      return exact ? e.text.replace(/^\./, "0.").replace(/\.$/, "") : String(Number(e.text));
    case "sym":
      return varId(e.name);
    case "const":
      return e.name === "inf" ? "Infinity" : e.name;
    case "neg":
      return `(-${go(e.a)})`;
    case "bin":
      return `(${go(e.a)} ${e.op} ${go(e.b)})`;
    case "fn":
      return `${FN_NAMES[e.name] ?? e.name}(${e.args.map(go).join(", ")})`;
    case "mat":
      return `[${e.rows.map((r) => `[${r.map(go).join(", ")}]`).join(", ")}]`;
    case "series":
      return series(e, exact);
  }
}

/**
 * `\sum_{k=a}^{b} f(k)` / `\prod`: expanded term by term when both bounds are integer
 * literals at most {@link MAX_SERIES_TERMS} apart; otherwise NaN, so the answer equals
 * nothing (a sum up to a free `n` is not evaluated, and never accepted by accident).
 */
function series(e: Extract<Expr, { t: "series" }>, exact: boolean): string {
  const bound = (x: Expr): number | null =>
    x.t === "num" && /^\d+$/.test(x.text)
      ? Number(x.text)
      : x.t === "neg" && x.a.t === "num" && /^\d+$/.test(x.a.text)
      ? -Number(x.a.text)
      : null;
  if (hasSeries(e.body)) return "NaN"; // nested series: k·m terms is too many to print
  const lo = bound(e.lo);
  const hi = bound(e.hi);
  if (lo === null || hi === null || hi - lo + 1 > MAX_SERIES_TERMS) return "NaN";
  if (hi < lo) return e.op === "sum" ? "0" : "1";
  const terms: string[] = [];
  for (let k = lo; k <= hi; k++) {
    terms.push(toMathjs(substitute(e.body, e.index, { t: "num", text: String(k) }), exact));
  }
  return `(${terms.join(e.op === "sum" ? " + " : " * ")})`;
}

function hasSeries(e: Expr): boolean {
  if (e.t === "series") return true;
  if (e.t === "neg") return hasSeries(e.a);
  if (e.t === "bin") return hasSeries(e.a) || hasSeries(e.b);
  if (e.t === "fn") return e.args.some(hasSeries);
  return e.t === "mat" && e.rows.some((r) => r.some(hasSeries));
}

/** The expression with every occurrence of the variable `name` replaced by `value`. */
export function substitute(e: Expr, name: string, value: Expr): Expr {
  switch (e.t) {
    case "sym":
      return e.name === name ? value : e;
    case "neg":
      return { t: "neg", a: substitute(e.a, name, value) };
    case "bin":
      return { ...e, a: substitute(e.a, name, value), b: substitute(e.b, name, value) };
    case "fn":
      return { ...e, args: e.args.map((a) => substitute(a, name, value)) };
    case "mat":
      return { t: "mat", rows: e.rows.map((r) => r.map((a) => substitute(a, name, value))) };
    case "series":
      return e.index === name ? e : {
        ...e,
        lo: substitute(e.lo, name, value),
        hi: substitute(e.hi, name, value),
        body: substitute(e.body, name, value),
      };
    default:
      return e;
  }
}

/** A complex value; real results have `im === 0`. */
export interface Value {
  re: number;
  im: number;
}

/** A compiled expression: evaluate it at a scope of variable values. */
export type Compiled = (scope: Record<string, number>) => Value;

/** Compiles an {@link Expr}. Evaluation never throws: failures are NaN. */
export function compile(e: Expr): Compiled {
  const src = toMathjs(e);
  if (src.length > MAX_PRINTED) return () => ({ re: NaN, im: NaN });
  const code = math.parse(src).compile();
  return (scope) => {
    try {
      return toValue(code.evaluate({ ...scope }));
    } catch {
      return { re: NaN, im: NaN };
    }
  };
}

/** Literal characters of output beyond which an expression is not sent to mathjs. */
const MAX_PRINTED = 20_000;

/**
 * The value of a variable-free expression in 64-digit arithmetic, or null when it is not a
 * finite real number there (complex, undefined, infinite, or too large to print).
 */
export function exactValue(e: Expr): Big | null {
  try {
    const src = toMathjs(e, true);
    if (src.length > MAX_EXACT_PRINTED) return null;
    bigSteps = 0;
    const r = big.parse(src).compile().evaluate({});
    return isBig(r) && r.isFinite() ? r : null;
  } catch {
    return null;
  }
}

/** Are two arbitrary-precision values equal within a relative tolerance (0 only equals 0)? */
export function exactClose(a: Big, b: Big, relTol: number): boolean {
  const scale = a.abs().greaterThan(b.abs()) ? a.abs() : b.abs();
  return a.minus(b).abs().lessThanOrEqualTo(scale.times(relTol));
}

/**
 * Evaluates a variable-free expression whose result is a matrix (`A + B`, `A B`), as rows
 * of values; null when the result is not a matrix or evaluation fails.
 */
export function matrixValue(e: Expr): Value[][] | null {
  if (!smallMatrixPowers(e)) return null;
  try {
    const r = math.parse(toMathjs(e)).compile().evaluate({});
    if (!math.isMatrix(r)) return null;
    const rows = (r as { toArray(): unknown[] }).toArray();
    return rows.map((row) => (Array.isArray(row) ? row.map(toValue) : [toValue(row)]));
  } catch {
    return null;
  }
}

const MAX_MATRIX_POWER = 64;

/**
 * Does every power of a matrix have a small literal integer exponent? mathjs reduces a
 * matrix exponent to 32 bits, so `A^{10^{300}}` would silently become `A^0`.
 */
function smallMatrixPowers(e: Expr): boolean {
  const hasMatrix = (x: Expr): boolean =>
    x.t === "mat" || (x.t === "bin" && (hasMatrix(x.a) || hasMatrix(x.b))) ||
    (x.t === "neg" && hasMatrix(x.a)) || (x.t === "fn" && x.args.some(hasMatrix));
  const literal = (x: Expr): boolean =>
    (x.t === "num" && /^\d+$/.test(x.text) && Number(x.text) <= MAX_MATRIX_POWER) ||
    (x.t === "neg" && literal(x.a));
  if (e.t === "bin") {
    if (e.op === "^" && hasMatrix(e.a) && !literal(e.b)) return false;
    return smallMatrixPowers(e.a) && smallMatrixPowers(e.b);
  }
  if (e.t === "neg") return smallMatrixPowers(e.a);
  if (e.t === "fn") return e.args.every(smallMatrixPowers);
  return true;
}

// Compile both instances once at load, so the first real answer does not pay for it.
compile({ t: "bin", op: "/", a: { t: "num", text: "1" }, b: { t: "num", text: "2" } })({});
compile({ t: "fn", name: "sqrt", args: [{ t: "sym", name: "x" }] })({ [varId("x")]: -0.5 });
exactValue({ t: "fn", name: "fact", args: [{ t: "num", text: "3" }] });

function toValue(r: unknown): Value {
  if (typeof r === "number") return { re: r, im: 0 };
  if (typeof r === "boolean") return { re: r ? 1 : 0, im: 0 };
  if (r && typeof r === "object" && "re" in r && "im" in r) {
    const c = r as { re: number; im: number };
    return { re: c.re, im: c.im };
  }
  return { re: NaN, im: NaN };
}

/** Is the value finite in both parts? */
export function finite(v: Value): boolean {
  return Number.isFinite(v.re) && Number.isFinite(v.im);
}

/**
 * Are two values equal within a relative tolerance? Infinities equal only themselves;
 * NaN equals nothing (an undefined answer is never right).
 */
export function close(a: Value, b: Value, relTol: number, absTol = 1e-12): boolean {
  if (!finite(a) || !finite(b)) {
    return a.im === 0 && b.im === 0 && Math.abs(a.re) === Infinity && a.re === b.re;
  }
  const diff = Math.hypot(a.re - b.re, a.im - b.im);
  const scale = Math.max(Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
  return diff <= Math.max(relTol * scale, absTol);
}

/**
 * Generic probe values, well away from 0, ±1 and small integers, where coincidences and
 * removable singularities live. Mostly positive: real roots and logs of negative numbers
 * take principal complex branches that equal expressions may not share.
 */
const PROBES = [0.5377, 1.8339, 2.7694, 0.8622, 1.3188, 3.5784, -0.4336, -1.3077];

/** The scope for probe `k`: each variable gets its own value so `x+y` ≠ `2x`. */
export function probeScope(vars: string[], k: number): Record<string, number> {
  const scope: Record<string, number> = {};
  vars.forEach((v, j) => {
    scope[varId(v)] = PROBES[(k + 3 * j) % PROBES.length] + 0.0173 * j;
  });
  return scope;
}

/** How many probe points exist. */
export const PROBE_COUNT = PROBES.length;

/**
 * Probe `k` of {@link probeScope} as exact decimal literals, one per variable (the same
 * points, written out: 0.5377 + 0.0173·j is the literal `0.5550` for j = 1), for exact
 * re-evaluation of an expression at a probe point.
 */
export function probeLiterals(vars: string[], k: number): Map<string, Expr> {
  const out = new Map<string, Expr>();
  vars.forEach((v, j) => {
    const units = Math.round(PROBES[(k + 3 * j) % PROBES.length] * 1e4) + 173 * j; // × 1e-4
    const abs = Math.abs(units);
    const text = `${Math.floor(abs / 1e4)}.${String(abs % 1e4).padStart(4, "0")}`;
    const num: Expr = { t: "num", text };
    out.set(v, units < 0 ? { t: "neg", a: num } : num);
  });
  return out;
}

/** `e` with each variable in `values` replaced by its expression. */
export function substituteAll(e: Expr, values: Map<string, Expr>): Expr {
  let out = e;
  for (const [name, value] of values) out = substitute(out, name, value);
  return out;
}
