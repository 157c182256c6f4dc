/**
 * A safe parser and exact evaluator for `+ − × ÷` and parentheses over non-negative
 * numbers, in rational arithmetic (BigInt numerator/denominator), so `(1/3)*3` is exactly 1
 * and there is no float fuzz to exploit. Used by `countdown`; no `eval`, capped in size.
 *
 * @module
 */

/** An exact rational `n/d` with `d > 0`. */
export interface Rational {
  n: bigint;
  d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  while (b) [a, b] = [b, a % b];
  return a;
}

function make(n: bigint, d: bigint): Rational {
  if (d === 0n) throw new RangeError("division by zero");
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}

/** The result of parsing: the value and the number literals used, in order. */
export interface Evaluated {
  value: Rational;
  numbers: Rational[];
}

const MAX_CHARS = 400;
const MAX_DEPTH = 32;

/**
 * Parses and evaluates `src`. Throws (a `SyntaxError` or `RangeError`) on anything outside
 * the grammar: unary minus, exponents, implicit products, unknown characters.
 */
export function evaluateArithmetic(src: string): Evaluated {
  if (src.length > MAX_CHARS) throw new RangeError("expression too long");
  const s = src.replace(/\\times|\\cdot|×|·/g, "*").replace(/\\div|÷/g, "/").replace(/\u2212/g, "-")
    .replace(/\\left|\\right/g, "").replace(/\s+/g, "");
  const numbers: Rational[] = [];
  let i = 0;
  let depth = 0;

  const expr = (): Rational => {
    let v = term();
    while (s[i] === "+" || s[i] === "-") {
      const op = s[i++];
      const r = term();
      v = op === "+"
        ? make(v.n * r.d + r.n * v.d, v.d * r.d)
        : make(v.n * r.d - r.n * v.d, v.d * r.d);
    }
    return v;
  };
  const term = (): Rational => {
    let v = factor();
    while (s[i] === "*" || s[i] === "/") {
      const op = s[i++];
      const r = factor();
      v = op === "*" ? make(v.n * r.n, v.d * r.d) : make(v.n * r.d, v.d * r.n);
    }
    return v;
  };
  const factor = (): Rational => {
    if (s[i] === "(") {
      if (++depth > MAX_DEPTH) throw new RangeError("too deeply nested");
      i++;
      const v = expr();
      if (s[i++] !== ")") throw new SyntaxError("expected )");
      depth--;
      return v;
    }
    const m = /^\d+(?:\.\d+)?/.exec(s.slice(i, i + 24));
    if (!m) throw new SyntaxError(`unexpected ${s[i] ?? "end"}`);
    i += m[0].length;
    const [whole, frac = ""] = m[0].split(".");
    const value = make(BigInt(whole + frac), 10n ** BigInt(frac.length));
    numbers.push(value);
    return value;
  };

  const value = expr();
  if (i !== s.length) throw new SyntaxError(`unexpected ${s[i]}`);
  return { value, numbers };
}

/** Exact equality of two rationals (both are kept reduced). */
export function sameRational(a: Rational, b: Rational): boolean {
  return a.n === b.n && a.d === b.d;
}

/** A rational from a JS number given in a task (integers or short decimals). */
export function rationalOf(x: number): Rational {
  const [whole, frac = ""] = String(x).split(".");
  if (/e/i.test(String(x))) throw new RangeError("number out of range");
  const neg = whole.startsWith("-");
  const digits = BigInt((neg ? whole.slice(1) : whole) + frac);
  return make(neg ? -digits : digits, 10n ** BigInt(frac.length));
}
