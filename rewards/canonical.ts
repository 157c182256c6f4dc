/**
 * A canonical text of an expression tree, equal for two trees that differ only by the order
 * of the terms of a sum or the factors of a product, by how those are grouped, or by the
 * name of a summation index: `\sum_{k=1}^{n} k\binom{n}{k}` and `\sum_{j=1}^{n}\binom{n}{j} j`
 * have one key. Equal keys mean equal values (commutativity and associativity of scalar `+`
 * and `·`), so this can only accept. It decides what evaluation cannot: a sum up to a free
 * bound, or `\binom{n}{k}` at non-integer probe points. Products with a matrix keep their
 * order. Linear in the tree (at most `LIMITS.maxNodes` nodes) up to the sorting.
 *
 * @module
 */

import type { Expr } from "./latex_parser.ts";

/** Keys by tree: a list's items are compared pairwise, so each key is asked for often. */
const keys = new WeakMap<Expr, string>();

/** The canonical key of an expression; see the module doc. */
export function canonicalKey(e: Expr): string {
  let k = keys.get(e);
  if (k === undefined) keys.set(e, k = key(e, new Map()));
  return k;
}

function key(e: Expr, bound: Map<string, string>): string {
  switch (e.t) {
    case "num":
      return `#${e.text}`;
    case "sym":
      return bound.get(e.name) ?? `$${e.name}`;
    case "const":
      return `@${e.name}`;
    case "neg":
      return `-(${key(e.a, bound)})`;
    case "bin": {
      if (e.op === "+" || e.op === "-") {
        const terms: string[] = [];
        collectTerms(e, true, bound, terms);
        return `+[${terms.sort().join(",")}]`;
      }
      if (e.op === "*") {
        const factors: Expr[] = [];
        collectFactors(e, factors);
        const keys = factors.map((f) => key(f, bound));
        return `*[${(factors.some(hasMatrix) ? keys : keys.sort()).join(",")}]`;
      }
      return `${e.op}(${key(e.a, bound)},${key(e.b, bound)})`;
    }
    case "fn":
      return `${e.name}(${e.args.map((a) => key(a, bound)).join(",")})`;
    case "mat":
      return `[${e.rows.map((r) => r.map((a) => key(a, bound)).join("&")).join(";")}]`;
    case "series": {
      // The index is a bound variable: named by its depth, so `k` and `j` read alike.
      const inner = new Map(bound).set(e.index, `%${bound.size}`);
      return `${e.op}[${key(e.lo, bound)},${key(e.hi, bound)}](${key(e.body, inner)})`;
    }
  }
}

/** The signed terms of a sum, flattened: `a - (b + c)` is `+a, -b, -c`. */
function collectTerms(e: Expr, plus: boolean, bound: Map<string, string>, out: string[]): void {
  if (e.t === "bin" && (e.op === "+" || e.op === "-")) {
    collectTerms(e.a, plus, bound, out);
    collectTerms(e.b, e.op === "+" ? plus : !plus, bound, out);
  } else if (e.t === "neg") {
    collectTerms(e.a, !plus, bound, out);
  } else {
    out.push(`${plus ? "+" : "-"}${key(e, bound)}`);
  }
}

function collectFactors(e: Expr, out: Expr[]): void {
  if (e.t === "bin" && e.op === "*") {
    collectFactors(e.a, out);
    collectFactors(e.b, out);
  } else {
    out.push(e);
  }
}

function hasMatrix(e: Expr): boolean {
  if (e.t === "mat") return true;
  if (e.t === "bin") return hasMatrix(e.a) || hasMatrix(e.b);
  if (e.t === "neg") return hasMatrix(e.a);
  return e.t === "fn" && e.args.some(hasMatrix);
}
