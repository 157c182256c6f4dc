/**
 * Equations and inequalities. `x = 3` against `3`; `y = 2x+3` against `2x - y + 3 = 0`
 * (proportional sides); `x \ge 5`, `5 \le x`, `-x \le -5` and `[5, \infty)` all against
 * each other (each is turned into an interval of its one variable).
 *
 * @module
 */

import { type Answer, answerKey, type RelOp } from "./answer.ts";
import { varId } from "./cas.ts";
import { compiledExpr, type Context, proportional } from "./equal_values.ts";
import type { Expr } from "./latex_parser.ts";

type Relation = Extract<Answer, { kind: "relation" }>;
type Interval = Extract<Answer, { kind: "interval" }>;
type ExprAnswer = Extract<Answer, { kind: "expr" }>;
type Equal = (p: Answer, g: Answer, ctx: Context) => boolean;

const INEQUALITY: RelOp[] = ["<", "<=", ">", ">="];
const FLIP: Record<string, RelOp> = {
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
  "=": "=",
  "≈": "≈",
  "!=": "!=",
};

const INF: ExprAnswer = {
  kind: "expr",
  expr: { t: "const", name: "inf" },
  vars: [],
  percent: false,
};
const NEG_INF: ExprAnswer = {
  kind: "expr",
  expr: { t: "neg", a: INF.expr },
  vars: [],
  percent: false,
};

/**
 * Is this the name of a quantity rather than a formula: `x`, `x_1`, `AB`, `|AB|`, `f(x)`,
 * `NO/BO`, or a tuple of names `(p, q)`? Names have no numbers and no sums.
 */
export function isName(a: Answer): boolean {
  if (a.kind === "tuple") return a.items.every(isName);
  return a.kind === "expr" && nameExpr(a.expr);
}
function nameExpr(e: Expr): boolean {
  if (e.t === "sym") return true;
  if (e.t === "bin") return (e.op === "*" || e.op === "/") && nameExpr(e.a) && nameExpr(e.b);
  return e.t === "fn" && e.name === "abs" && nameExpr(e.args[0]);
}
function isConstant(a: Answer): a is ExprAnswer {
  return a.kind === "expr" && a.vars.length === 0;
}

/**
 * The value a chain of equalities claims, or null. `x = 2 + 3 = 5` claims 5; an
 * approximation defers to the exact value before it (`x = 1/3 \approx 0.33` claims 1/3).
 * A gold must start with a name (`|AB| = 1` asks for 1, but `a + 3z = 0` is an equation);
 * a prediction's chain is a derivation whose conclusion is the claim, whatever its start.
 */
export function claim(a: Answer, requireName: boolean): Answer | null {
  if (a.kind !== "relation" || !a.ops.every((o) => o === "=" || o === "≈")) return null;
  if (requireName && (!isName(a.sides[0]) || a.sides.length < 2)) {
    // `\frac{\sqrt3}{3} \approx 0.577`: a chain of constants states its exact value.
    if (!a.sides.every(isConstant)) return null;
  }
  const firstApprox = a.ops.indexOf("≈");
  if (firstApprox < 0) return a.sides[a.sides.length - 1];
  // The exact value is the last side before the first `≈` that is not a bare name:
  // `x = 1/3 ≈ 0.33` claims 1/3, `x ≈ 0.33` can only claim 0.33.
  for (let i = firstApprox; i >= 0; i--) if (!isName(a.sides[i])) return a.sides[i];
  return a.sides[a.sides.length - 1];
}

/**
 * Does `lhs` name the function that `rhs` defines: `y` or `f(x)` (read as `f·x`) for a
 * right side in x? Then `f(x) = 2x+3` and `y = 2x+3` state the same function.
 */
function dependentName(lhs: Answer, rhs: Answer): boolean {
  if (lhs.kind !== "expr" || rhs.kind !== "expr" || rhs.vars.length === 0) return false;
  const e = lhs.expr;
  if (e.t === "sym") return !rhs.vars.includes(e.name);
  if (e.t !== "bin" || e.op !== "*" || e.a.t !== "sym" || rhs.vars.includes(e.a.name)) return false;
  return lhs.vars.filter((v) => v !== (e.a as { name: string }).name).join() === rhs.vars.join();
}

/** Compares with a relation gold; `eq` is the general comparison, passed in to avoid a cycle. */
export function relationEqual(p: Answer, g: Relation, ctx: Context, eq: Equal): boolean {
  if (g.ops.every((o) => o === "=" || o === "≈")) {
    const gc = claim(g, true);
    const rhsMentionsLhs = gc?.kind === "expr" && g.sides[0].kind === "expr" &&
      g.sides[0].vars.some((v) => gc.vars.includes(v));
    // `f(x) = x^2` mentions x on both sides, but defines f: it asks for x^2 like `y = x^2`.
    if (gc && (!rhsMentionsLhs || dependentName(g.sides[0], gc))) {
      // `x = 5` asks for 5: accept `5`, `x = 5`, and `x = 2 + 3 = 5`, but not `y = 5`.
      if (p.kind !== "relation") return eq(p, gc, ctx);
      const pc = claim(p, false);
      // `a = b = x = 0` names three quantities with one value: `x = 0` names one of them.
      const named = answerKey(p.sides[0]);
      const sameName = g.sides.slice(0, -1).some((s, i) =>
        (i === 0 || isName(s)) && answerKey(s) === named
      ) || (dependentName(p.sides[0], gc) && dependentName(g.sides[0], gc));
      if (pc && sameName) return eq(pc, gc, ctx);
    }
    return p.kind === "relation" && equationsEqual(p, g, ctx);
  }
  if (g.ops.every((o) => INEQUALITY.includes(o))) {
    const gi = toInterval(g, ctx);
    if (gi) return eq(p, gi, ctx);
  }
  // Anything else (`x \ne 3`, `f(2) < f(1) < f(4)`): the same relation, side by side,
  // read forwards or backwards.
  if (p.kind !== "relation" || p.sides.length !== g.sides.length) return false;
  const forwards = p.ops.every((o, i) => o === g.ops[i]) &&
    p.sides.every((s, i) => eq(s, g.sides[i], ctx));
  if (forwards) return true;
  const n = p.sides.length;
  return p.ops.every((o, i) => FLIP[o] === g.ops[n - 2 - i]) &&
    p.sides.every((s, i) => eq(s, g.sides[n - 1 - i], ctx));
}

/** `lhs - rhs` of an equation of two expressions, or null. */
function difference(r: Relation): ExprAnswer | null {
  if (r.ops.length !== 1 || r.ops[0] === "!=" || INEQUALITY.includes(r.ops[0])) return null;
  const [a, b] = r.sides;
  if (a.kind !== "expr" || b.kind !== "expr") return null;
  const vars = [...new Set([...a.vars, ...b.vars])].sort();
  return { kind: "expr", expr: { t: "bin", op: "-", a: a.expr, b: b.expr }, vars, percent: false };
}

function equationsEqual(p: Relation, g: Relation, ctx: Context): boolean {
  const dp = difference(p);
  const dg = difference(g);
  if (!dp || !dg || dg.vars.length === 0 || dp.vars.join() !== dg.vars.join()) return false;
  const ok = proportional(compiledExpr(dp.expr), compiledExpr(dg.expr), dg.vars, ctx, [
    dp.expr,
    dg.expr,
  ]);
  ctx.why = ok ? "equivalent equations" : "different equations";
  return ok;
}

function constant(x: number): ExprAnswer {
  return { kind: "expr", expr: { t: "num", text: String(x) }, vars: [], percent: false };
}

/** One-sided interval from `x op c`. */
function ray(op: RelOp, c: Answer): Interval | null {
  switch (op) {
    case "<":
    case "<=":
      return { kind: "interval", lo: NEG_INF, hi: c, loClosed: false, hiClosed: op === "<=" };
    case ">":
    case ">=":
      return { kind: "interval", lo: c, hi: INF, loClosed: op === ">=", hiClosed: false };
  }
  return null;
}

/**
 * The interval an answer denotes, when it denotes one: an interval itself, `x < c`,
 * `c \le x`, `a < x \le b`, or a linear `-x > -1` (solved numerically and checked linear).
 */
export function toInterval(a: Answer, ctx: Context): Interval | null {
  if (a.kind === "interval") return a;
  if (a.kind !== "relation" || !a.ops.every((o) => INEQUALITY.includes(o))) return null;
  const [s0, s1, s2] = a.sides;
  // `|x| < 3` bounds x on both sides: it is not the ray `x < 3` (see `absoluteSet`).
  const bare = (x: Answer) => isName(x) && !(x.kind === "expr" && x.expr.t === "fn");
  if (a.sides.length === 2) {
    if (bare(s0) && isConstant(s1)) return ray(a.ops[0], s1);
    if (isConstant(s0) && bare(s1)) return ray(FLIP[a.ops[0]], s0);
    return linear(s0, a.ops[0], s1, ctx);
  }
  if (a.sides.length === 3 && isConstant(s0) && bare(s1) && isConstant(s2)) {
    const up = a.ops.every((o) => o[0] === "<");
    const down = a.ops.every((o) => o[0] === ">");
    if (!up && !down) return null;
    const [lo, hi] = up ? [s0, s2] : [s2, s0];
    const [loOp, hiOp] = up ? a.ops : [a.ops[1], a.ops[0]];
    return { kind: "interval", lo, hi, loClosed: loOp.endsWith("="), hiClosed: hiOp.endsWith("=") };
  }
  return null;
}

/** `f(x) op g(x)` with `f - g` linear in its one variable, as a ray. */
function linear(l: Answer, op: RelOp, r: Answer, ctx: Context): Interval | null {
  if (l.kind !== "expr" || r.kind !== "expr" || !algebraic(l.expr) || !algebraic(r.expr)) {
    return null;
  }
  const vars = [...new Set([...l.vars, ...r.vars])];
  if (vars.length !== 1) return null;
  ctx.deadline.check();
  const diff: Expr = { t: "bin", op: "-", a: l.expr, b: r.expr };
  const f = compiledExpr(diff);
  const at = (x: number) => f({ [varId(vars[0])]: x }).re;
  // Checked on both sides of 0: |x| is linear on x ≥ 0 alone.
  const [f0, f1, f2, fm] = [at(0), at(1), at(2), at(-1.5)];
  const slope = f1 - f0;
  if (![f0, f1, f2, fm].every(Number.isFinite) || Math.abs(slope) < 1e-12) return null;
  const tol = 1e-9 * Math.max(1, Math.abs(slope), Math.abs(f0));
  if (Math.abs(f2 - f1 - slope) > tol || Math.abs(f0 - fm - 1.5 * slope) > tol) return null;
  const root = constant(-f0 / slope);
  // f < 0 with a positive slope is x < root; a negative slope flips the direction.
  return ray(slope > 0 ? op : FLIP[op], root);
}

/**
 * The set an answer denotes as a union of intervals, when it denotes one: an interval, a
 * union (`(-\infty,-2)\cup(3,\infty)`, `x<-2 \text{ or } x>3`), an inequality, or an
 * inequality of an absolute value (`|x-3| < 2`, `|x| \ge 1`, `1 \le |z| \le 2`).
 */
export function intervalSet(a: Answer, ctx: Context): Interval[] | null {
  if (a.kind === "union") {
    const out: Interval[] = [];
    for (const part of a.parts) {
      const set = intervalSet(part, ctx);
      if (!set) return null;
      out.push(...set);
    }
    return out;
  }
  if (a.kind === "tuple" && a.items.length === 2) {
    // `(a, b)` is also the open interval.
    return [{ kind: "interval", lo: a.items[0], hi: a.items[1], loClosed: false, hiClosed: false }];
  }
  const one = toInterval(a, ctx);
  if (one) return [one];
  return a.kind === "relation" ? absoluteSet(a, ctx) : null;
}

/** `x ↦ m x + b` of an expression linear in its one variable, or null. */
function affine(e: ExprAnswer, ctx: Context): { m: number; b: number } | null {
  if (e.vars.length !== 1 || !algebraic(e.expr)) return null;
  ctx.deadline.check();
  const f = compiledExpr(e.expr);
  const at = (x: number) => f({ [varId(e.vars[0])]: x }).re;
  const [f0, f1, f2, fm] = [at(0), at(1), at(2), at(-1.5)];
  const m = f1 - f0;
  if (![f0, f1, f2, fm].every(Number.isFinite) || Math.abs(m) < 1e-12) return null;
  const tol = 1e-9 * Math.max(1, Math.abs(m), Math.abs(f0));
  if (Math.abs(f2 - f1 - m) > tol || Math.abs(f0 - fm - 1.5 * m) > tol) return null;
  return { m, b: f0 };
}

/** The number a constant side evaluates to, or null. */
function numberOf(a: Answer): number | null {
  if (!isConstant(a)) return null;
  const v = compiledExpr(a.expr)({});
  return v.im === 0 && Number.isFinite(v.re) ? v.re : null;
}

/** `|L|` with `L` affine in one variable: the inside, or null. */
function absInside(a: Answer): ExprAnswer | null {
  if (a.kind !== "expr" || a.expr.t !== "fn" || a.expr.name !== "abs") return null;
  return { kind: "expr", expr: a.expr.args[0], vars: a.vars, percent: false };
}

/**
 * `{x : lo ⋖ |L(x)| ⋖ hi}` as intervals of x, for `|L| < c`, `|L| \ge c`, `c > |L|` and
 * `c_1 \le |L| \le c_2` (⋖ is < or ≤; an absent bound is 0 from below or ∞ from above).
 */
function absoluteSet(r: Relation, ctx: Context): Interval[] | null {
  let lo = 0;
  let loClosed = true;
  let hi = Infinity;
  let hiClosed = false;
  let inside: ExprAnswer | null = null;
  const sides = r.sides;
  const ops = r.ops;
  if (sides.length === 2) {
    const [left, right] = absInside(sides[0]) ? [sides[0], sides[1]] : [sides[1], sides[0]];
    const op = absInside(sides[0]) ? ops[0] : FLIP[ops[0]];
    inside = absInside(left);
    const c = numberOf(right);
    if (!inside || c === null) return null;
    if (op === "<" || op === "<=") [hi, hiClosed] = [c, op === "<="];
    else if (op === ">" || op === ">=") [lo, loClosed] = [c, op === ">="];
    else return null;
  } else if (sides.length === 3) {
    inside = absInside(sides[1]);
    const up = ops.every((o) => o[0] === "<");
    const down = ops.every((o) => o[0] === ">");
    const a = numberOf(sides[0]);
    const b = numberOf(sides[2]);
    if (!inside || a === null || b === null || (!up && !down)) return null;
    const [l, h] = up ? [a, b] : [b, a];
    const [lop, hop] = up ? ops : [ops[1], ops[0]];
    [lo, loClosed, hi, hiClosed] = [l, lop.endsWith("="), h, hop.endsWith("=")];
  } else {
    return null;
  }
  const f = affine(inside, ctx);
  if (!f || hi < lo || (hi === lo && !(loClosed && hiClosed))) return null;
  // Values of L: [-hi, -lo] ∪ [lo, hi] (one piece when lo ≤ 0); then solve L = m x + b.
  const pieces: [number, boolean, number, boolean][] = lo < 0 || (lo === 0 && loClosed)
    ? [[-hi, hiClosed, hi, hiClosed]]
    : [[-hi, hiClosed, -lo, loClosed], [lo, loClosed, hi, hiClosed]];
  const x = (v: number) => (v - f.b) / f.m;
  return pieces.map(([a, ac, b, bc]) => {
    let [p, pc, q, qc] = [x(a), ac, x(b), bc];
    if (p > q) [p, pc, q, qc] = [q, qc, p, pc];
    return {
      kind: "interval",
      lo: Number.isFinite(p) ? constant(p) : NEG_INF,
      hi: Number.isFinite(q) ? constant(q) : INF,
      loClosed: Number.isFinite(p) && pc,
      hiClosed: Number.isFinite(q) && qc,
    };
  });
}

/**
 * Built from numbers, variables and the four operations and powers only. A few samples
 * show such an expression to be linear; `|x - 3|` or `\lfloor x \rfloor` would pass a
 * sampled linearity test on one side of their kink.
 */
function algebraic(e: Expr): boolean {
  if (e.t === "num" || e.t === "sym" || e.t === "const") return true;
  if (e.t === "neg") return algebraic(e.a);
  return e.t === "bin" && algebraic(e.a) && algebraic(e.b);
}
