/**
 * Exact rational evaluation of expressions built from integer and decimal literals with
 * `+ − × ÷`, integer powers, factorials and binomials, in BigInt arithmetic. Used where
 * doubles cannot decide: `2^{2008} - 3` and `2^{2008} - 2` are the same double (both
 * overflow) and the same 64-digit number, but different integers.
 *
 * Every operation is bounded by the size of its result, so a hostile `2^{2^{64}}` or
 * `100000!` returns null (undecided) instead of running long.
 *
 * @module
 */

import type { Expr } from "./latex_parser.ts";

/** An exact rational `n/d`, `d > 0`, in lowest terms. */
export interface Exact {
  n: bigint;
  d: bigint;
}

/** Largest numerator or denominator kept, in bits (about 4,000 decimal digits). */
const MAX_BITS = 13_300;
/** Largest factorial multiplied out (1000! has 2,568 digits). */
const MAX_FACTORIAL = 1000;
/** Most multiplications a binomial may take. */
const MAX_BINOM_STEPS = 1000;

class TooBig extends Error {}

function bits(x: bigint): number {
  return (x < 0n ? -x : x).toString(16).length * 4;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
}

function make(n: bigint, d: bigint): Exact {
  if (d === 0n) throw new RangeError("division by zero");
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  const r = { n: n / g, d: d / g };
  if (bits(r.n) > MAX_BITS || bits(r.d) > MAX_BITS) throw new TooBig();
  return r;
}

function literal(text: string): Exact {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text);
  if (!m) throw new RangeError("literal");
  const [, whole, frac = "", exp = "0"] = m;
  const e = Number(exp) - frac.length;
  if (Math.abs(e) > 4000) throw new TooBig();
  const digits = BigInt((whole || "0") + frac);
  return e >= 0 ? make(digits * 10n ** BigInt(e), 1n) : make(digits, 10n ** BigInt(-e));
}

function power(base: Exact, exp: Exact): Exact {
  if (exp.d !== 1n) throw new RangeError("non-integer power");
  const k = exp.n < 0n ? -exp.n : exp.n;
  if (k === 0n) return { n: 1n, d: 1n };
  if (base.n === 0n) {
    if (exp.n < 0n) throw new RangeError("division by zero");
    return base;
  }
  const size = Math.max(bits(base.n), bits(base.d)) - 1;
  if (size > 0 && Number(k) * size > MAX_BITS) throw new TooBig();
  if (k > 100_000n) throw new TooBig(); // ±1 to a huge power: not worth the loop
  const r = make(base.n ** k, base.d ** k);
  return exp.n < 0n ? make(r.d, r.n) : r;
}

function integer(x: Exact, what: string): bigint {
  if (x.d !== 1n || x.n < 0n) throw new RangeError(what);
  return x.n;
}

function evaluate(e: Expr): Exact {
  switch (e.t) {
    case "num":
      return literal(e.text);
    case "neg": {
      const a = evaluate(e.a);
      return { n: -a.n, d: a.d };
    }
    case "bin": {
      const a = evaluate(e.a);
      const b = evaluate(e.b);
      switch (e.op) {
        case "+":
          return make(a.n * b.d + b.n * a.d, a.d * b.d);
        case "-":
          return make(a.n * b.d - b.n * a.d, a.d * b.d);
        case "*":
          return make(a.n * b.n, a.d * b.d);
        case "/":
          return make(a.n * b.d, a.d * b.n);
        case "^":
          return power(a, b);
      }
      break;
    }
    case "fn": {
      if (e.name === "fact") {
        const n = integer(evaluate(e.args[0]), "factorial");
        if (n > BigInt(MAX_FACTORIAL)) throw new TooBig();
        let r = 1n;
        for (let k = 2n; k <= n; k++) r *= k;
        return { n: r, d: 1n };
      }
      if (e.name === "binom") {
        const n = integer(evaluate(e.args[0]), "binomial");
        const k = integer(evaluate(e.args[1]), "binomial");
        if (k > n) return { n: 0n, d: 1n };
        const m = k < n - k ? k : n - k;
        if (m > BigInt(MAX_BINOM_STEPS)) throw new TooBig();
        let r = 1n;
        for (let j = 1n; j <= m; j++) r = (r * (n - m + j)) / j;
        return make(r, 1n);
      }
      break;
    }
  }
  throw new RangeError("not rational");
}

/**
 * The exact value of a variable-free rational expression, or null when it is not one
 * (roots, π, functions, variables), is undefined, or would exceed the size bounds.
 */
export function exactRational(e: Expr): Exact | null {
  try {
    return evaluate(e);
  } catch {
    return null;
  }
}

/** `|a − b| ≤ tol · max(|a|, |b|)`, with `tol` a small positive number, decided exactly. */
export function rationalClose(a: Exact, b: Exact, tol: number): boolean {
  if (a.n === b.n && a.d === b.d) return true;
  if (tol <= 0) return false;
  // tol as a fraction with 12 significant digits is exact enough for a tolerance.
  const t = literal(tol.toExponential(12).replace(/e\+?/, "e"));
  const diff = a.n * b.d - b.n * a.d; // over a.d · b.d
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const scale = abs(a.n) * b.d > abs(b.n) * a.d ? abs(a.n) * b.d : abs(b.n) * a.d;
  return abs(diff) * t.d <= scale * t.n;
}
