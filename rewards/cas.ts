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

import { all, create } from "mathjs";
import type { Expr } from "./latex_parser.ts";

const math = create(all, {});

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

const FN_NAMES: Record<string, string> = {
  fact: "zk_fact",
  binom: "zk_binom",
  root: "zk_root",
};

/** A mathjs-safe identifier for a variable name such as `x_1` or `theta`. */
export function varId(name: string): string {
  return "v_" + name.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0)}_`);
}

/** Prints an {@link Expr} in mathjs syntax, fully parenthesised. */
export function toMathjs(e: Expr): string {
  switch (e.t) {
    case "num":
      return String(Number(e.text));
    case "sym":
      return varId(e.name);
    case "const":
      return e.name === "inf" ? "Infinity" : e.name;
    case "neg":
      return `(-${toMathjs(e.a)})`;
    case "bin":
      return `(${toMathjs(e.a)} ${e.op} ${toMathjs(e.b)})`;
    case "fn":
      return `${FN_NAMES[e.name] ?? e.name}(${e.args.map(toMathjs).join(", ")})`;
    case "mat":
      return `[${e.rows.map((r) => `[${r.map(toMathjs).join(", ")}]`).join(", ")}]`;
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
  const code = math.parse(toMathjs(e)).compile();
  return (scope) => {
    try {
      return toValue(code.evaluate({ ...scope }));
    } catch {
      return { re: NaN, im: NaN };
    }
  };
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
