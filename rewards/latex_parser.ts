/**
 * A recursive-descent parser from answer LaTeX to a small expression tree. It understands
 * the notation answers use (fractions in all their spellings, roots, powers, implicit
 * multiplication, named functions, absolute value, factorial, binomials, Greek letters)
 * and refuses everything else, so the caller can fall back to comparing text.
 *
 * The tree is handed to mathjs (see `cas.ts`) for evaluation; it is never turned into
 * JavaScript source. Depth and size are capped because the input is model output.
 *
 * @module
 */

import { LimitError, LIMITS } from "./limits.ts";
import { type Token, tokenize } from "./latex_tokens.ts";

/** An expression tree. `num` keeps its source text so exact integers stay exact. */
export type Expr =
  | { t: "num"; text: string }
  | { t: "sym"; name: string }
  | { t: "const"; name: "pi" | "e" | "i" | "inf" }
  | { t: "bin"; op: "+" | "-" | "*" | "/" | "^"; a: Expr; b: Expr }
  | { t: "neg"; a: Expr }
  | { t: "fn"; name: string; args: Expr[] }
  | { t: "mat"; rows: Expr[][] }
  | { t: "series"; op: "sum" | "prod"; index: string; lo: Expr; hi: Expr; body: Expr };

/** Thrown for input that is not an expression this parser accepts. */
export class ParseError extends Error {}

/** LaTeX function commands and the evaluator names they map to (see `cas.ts`). */
const FUNCTIONS: Record<string, string> = {
  "\\sin": "sin",
  "\\cos": "cos",
  "\\tan": "tan",
  "\\cot": "cot",
  "\\sec": "sec",
  "\\csc": "csc",
  "\\arcsin": "asin",
  "\\arccos": "acos",
  "\\arctan": "atan",
  "\\sinh": "sinh",
  "\\cosh": "cosh",
  "\\tanh": "tanh",
  "\\ln": "log",
  "\\log": "log",
  "\\exp": "exp",
};
/** Commands that end or join factors rather than start one. */
const NOT_FACTORS = [
  "\\cdot",
  "\\times",
  "\\div",
  "\\right",
  "\\}",
  "\\rfloor",
  "\\rceil",
  "\\end",
];
const INVERSE: Record<string, string> = { sin: "asin", cos: "acos", tan: "atan" };
const GREEK = new Set(
  ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu " +
    "nu xi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Sigma " +
    "Phi Psi Omega").split(" "),
);

class Parser {
  #pos = 0;
  #nodes = 0;
  #depth = 0;
  #absDepth = 0;
  constructor(private readonly toks: Token[]) {}

  parse(): Expr {
    const e = this.expr();
    if (this.#pos < this.toks.length) throw new ParseError(`unexpected ${this.peekText()}`);
    return e;
  }

  // --- token helpers -------------------------------------------------------------------
  peek(): Token | undefined {
    return this.toks[this.#pos];
  }
  peekText(): string {
    return this.toks[this.#pos]?.text ?? "end";
  }
  isSym(s: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === "sym" && t.text === s;
  }
  isCmd(s: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === "cmd" && t.text === s;
  }
  next(): Token {
    const t = this.toks[this.#pos++];
    if (!t) throw new ParseError("unexpected end");
    return t;
  }
  expectSym(s: string): void {
    if (!this.isSym(s)) throw new ParseError(`expected ${s}, got ${this.peekText()}`);
    this.#pos++;
  }
  node<E extends Expr>(e: E): E {
    if (++this.#nodes > LIMITS.maxNodes) throw new LimitError("expression size");
    return e;
  }
  nested<T>(f: () => T): T {
    if (++this.#depth > LIMITS.maxDepth) throw new LimitError("nesting depth");
    try {
      return f();
    } finally {
      this.#depth--;
    }
  }

  // --- grammar ---------------------------------------------------------------------------
  expr(): Expr {
    return this.nested(() => {
      let left = this.term();
      while (this.isSym("+") || this.isSym("-")) {
        const op = this.next().text as "+" | "-";
        left = this.node({ t: "bin", op, a: left, b: this.term() });
      }
      return left;
    });
  }

  term(): Expr {
    let left = this.unary();
    for (;;) {
      if (this.isSym("*") || this.isCmd("\\cdot") || this.isCmd("\\times")) {
        this.next();
        left = this.node({ t: "bin", op: "*", a: left, b: this.unary() });
      } else if (this.isSym("/") || this.isSym(":") || this.isCmd("\\div")) {
        // `a:b` is a ratio, the quotient a/b (`7:32`, `V_1:V_2 = 11:21`).
        this.next();
        left = this.node({ t: "bin", op: "/", a: left, b: this.unary() });
      } else if (this.startsFactor()) {
        // Implicit multiplication: `2x`, `3\sqrt{2}`, `(a+5)(b+2)`. Two bare numbers
        // side by side (`2 3`) are not a product anyone writes, so they are refused.
        if (left.t === "num" && this.peek()!.kind === "num") throw new ParseError("2 3");
        left = this.node({ t: "bin", op: "*", a: left, b: this.power() });
      } else {
        return left;
      }
    }
  }

  unary(): Expr {
    if (this.isSym("-")) {
      this.next();
      return this.node({ t: "neg", a: this.nested(() => this.unary()) });
    }
    if (this.isSym("+")) {
      this.next();
      return this.nested(() => this.unary());
    }
    return this.power();
  }

  /** Can the next token begin a factor of an implicit product? */
  startsFactor(): boolean {
    const t = this.peek();
    if (!t) return false;
    if (t.kind === "num" || t.kind === "id") return true;
    if (t.kind === "sym") {
      return t.text === "(" || t.text === "[" || (t.text === "|" && this.#absDepth === 0);
    }
    return !NOT_FACTORS.includes(t.text) && /^\\[A-Za-z]+$/.test(t.text);
  }

  power(): Expr {
    const base = this.postfix();
    if (!this.isSym("^")) return base;
    this.next();
    const exponent = this.nested(() => this.exponentArg());
    return this.node({ t: "bin", op: "^", a: base, b: exponent });
  }

  /** `x^2`, `x^{n+1}`, `x^-1`, `2^10` (a digit run, as models mean it), `e^\pi`. */
  exponentArg(): Expr {
    if (this.isSym("-")) {
      this.next();
      return this.node({ t: "neg", a: this.exponentArg() });
    }
    const e = this.isSym("{") ? this.group() : this.postfix();
    if (this.isSym("^")) {
      this.next();
      return this.node({ t: "bin", op: "^", a: e, b: this.nested(() => this.exponentArg()) });
    }
    return e;
  }

  postfix(): Expr {
    let e = this.primary();
    while (this.isSym("!") || this.isSym("'") || this.isSym("°")) {
      const op = this.next().text;
      if (op === "'") throw new ParseError("prime");
      // `°` survives normalization only inside trigonometry, where it means π/180.
      e = this.node({ t: "fn", name: op === "°" ? "deg" : "fact", args: [e] });
    }
    return e;
  }

  group(): Expr {
    this.expectSym("{");
    const e = this.expr();
    this.expectSym("}");
    return e;
  }

  /** One TeX argument: a `{group}`, one digit of a number, a letter, or a command. */
  argument(): Expr {
    const t = this.peek();
    if (t?.kind === "sym" && t.text === "{") return this.group();
    if (t?.kind === "num" && t.text.length > 1 && /^\d/.test(t.text)) {
      // `\frac12` is one half: TeX takes a single character, so split the literal.
      this.toks[this.#pos] = { kind: "num", text: t.text.slice(1) };
      return this.node({ t: "num", text: t.text[0] });
    }
    return this.postfix();
  }

  primary(): Expr {
    return this.nested(() => this.primaryInner());
  }

  primaryInner(): Expr {
    const t = this.next();
    if (t.kind === "num") return this.node({ t: "num", text: t.text });
    if (t.kind === "id") return this.symbol(t.text);
    if (t.kind === "sym") {
      if (t.text === "(" || t.text === "[") {
        const e = this.expr();
        this.expectSym(t.text === "(" ? ")" : "]");
        return e;
      }
      if (t.text === "{") {
        this.#pos--;
        return this.group();
      }
      if (t.text === "|") {
        this.#absDepth++;
        const e = this.expr();
        this.#absDepth--;
        this.expectSym("|");
        return this.node({ t: "fn", name: "abs", args: [e] });
      }
      throw new ParseError(`unexpected ${t.text}`);
    }
    return this.command(t.text);
  }

  /** A letter, with an optional subscript that becomes part of its name (`x_1`, `a_{n}`). */
  symbol(name: string): Expr {
    if (name === "e") return this.node({ t: "const", name: "e" });
    if (name === "i") return this.node({ t: "const", name: "i" });
    if (this.isSym("_")) {
      this.next();
      const sub = this.isSym("{") ? this.rawGroup() : this.next().text;
      name = `${name}_${sub}`;
    }
    return this.node({ t: "sym", name });
  }

  /** The tokens of a `{…}` group as text, for subscripts used as names. */
  rawGroup(): string {
    this.expectSym("{");
    let text = "";
    let depth = 1;
    for (;;) {
      const t = this.next();
      if (t.kind === "sym" && t.text === "{") depth++;
      if (t.kind === "sym" && t.text === "}" && --depth === 0) return text;
      text += t.text;
    }
  }

  command(cmd: string): Expr {
    switch (cmd) {
      case "\\frac":
      case "\\dfrac":
      case "\\tfrac":
      case "\\cfrac": {
        const a = this.argument();
        return this.node({ t: "bin", op: "/", a, b: this.argument() });
      }
      case "\\sqrt": {
        if (this.isSym("[")) {
          this.next();
          const n = this.expr();
          this.expectSym("]");
          return this.node({ t: "fn", name: "root", args: [this.argument(), n] });
        }
        return this.node({ t: "fn", name: "sqrt", args: [this.argument()] });
      }
      case "\\binom":
      case "\\dbinom":
      case "\\tbinom": {
        const n = this.argument();
        return this.node({ t: "fn", name: "binom", args: [n, this.argument()] });
      }
      case "\\pi":
        return this.node({ t: "const", name: "pi" });
      case "\\infty":
      case "\\inf":
        return this.node({ t: "const", name: "inf" });
      case "\\lfloor":
      case "\\lceil": {
        const e = this.expr();
        if (!this.isCmd(cmd === "\\lfloor" ? "\\rfloor" : "\\rceil")) throw new ParseError("floor");
        this.next();
        return this.node({ t: "fn", name: cmd === "\\lfloor" ? "floor" : "ceil", args: [e] });
      }
    }
    if (cmd === "\\begin") return this.matrix();
    if (cmd === "\\sum" || cmd === "\\prod") return this.series(cmd === "\\sum" ? "sum" : "prod");
    if (FUNCTIONS[cmd]) return this.functionCall(FUNCTIONS[cmd]);
    const name = cmd.slice(1);
    if (GREEK.has(name)) return this.symbol(name);
    throw new ParseError(`unsupported ${cmd}`);
  }

  /**
   * `\begin{pmatrix} a & b \\ c & d \end{pmatrix}` (also bmatrix, array; vmatrix is its
   * determinant), so that matrix arithmetic such as `A + B` can be evaluated.
   */
  matrix(): Expr {
    const env = this.rawGroup();
    if (!/^(?:[pbBvV]?matrix|array)$/.test(env)) throw new ParseError(`environment ${env}`);
    if (env === "array" && this.isSym("{")) this.rawGroup();
    const rows: Expr[][] = [[]];
    while (!this.isCmd("\\end")) {
      rows[rows.length - 1].push(this.expr());
      if (this.isSym("&")) {
        this.next();
      } else if (this.isCmd("\\\\")) {
        this.next();
        if (!this.isCmd("\\end")) rows.push([]);
      } else if (!this.isCmd("\\end")) {
        throw new ParseError(`unexpected ${this.peekText()} in matrix`);
      }
      if (rows.length * rows[0].length > LIMITS.maxItems) throw new LimitError("matrix size");
    }
    this.next();
    if (this.rawGroup() !== env) throw new ParseError("mismatched \\end");
    if (rows.some((r) => r.length !== rows[0].length)) throw new ParseError("ragged matrix");
    const mat = this.node({ t: "mat", rows });
    return /^[vV]matrix$/.test(env) ? this.node({ t: "fn", name: "det", args: [mat] }) : mat;
  }

  /**
   * `\sum_{k=1}^{10} k^2`, `\prod_{j=2}^{5}(1-\frac1j)`: an index, two bounds and a body
   * that, like a function argument, runs over an implicit product (`\sum_{k=1}^{n} 2k`).
   */
  series(op: "sum" | "prod"): Expr {
    this.expectSym("_");
    this.expectSym("{");
    const index = this.next();
    if (index.kind !== "id") throw new ParseError("series index");
    this.expectSym("=");
    const lo = this.expr();
    this.expectSym("}");
    this.expectSym("^");
    const hi = this.isSym("{") ? this.group() : this.postfix();
    let body = this.power();
    while (this.startsFactor() && !(this.peek()!.text in FUNCTIONS)) {
      body = this.node({ t: "bin", op: "*", a: body, b: this.power() });
    }
    return this.node({ t: "series", op, index: index.text, lo, hi, body });
  }

  /** `\sin x`, `\sin(2x)`, `\sin^2 x`, `\sin^{-1} x`, `\log_2 8`, `\ln|x|`. */
  functionCall(name: string): Expr {
    let power: Expr | null = null;
    let base: Expr | null = null;
    if (this.isSym("^")) {
      this.next();
      power = this.exponentArg();
    }
    if (this.isSym("_") && name === "log") {
      this.next();
      base = this.argument();
    }
    if (
      power && power.t === "neg" && power.a.t === "num" && power.a.text === "1" && INVERSE[name]
    ) {
      name = INVERSE[name];
      power = null;
    }
    let arg: Expr;
    if (this.isSym("(")) {
      arg = this.postfix();
    } else {
      // Without parentheses the argument runs over an implicit product (`\sin 2x`) and
      // stops at the next function (`\sin x \cos x`) or explicit operator.
      arg = this.power();
      while (this.startsFactor() && !(this.peek()!.text in FUNCTIONS)) {
        arg = this.node({ t: "bin", op: "*", a: arg, b: this.power() });
      }
    }
    let call: Expr = this.node({ t: "fn", name, args: base ? [arg, base] : [arg] });
    if (power) call = this.node({ t: "bin", op: "^", a: call, b: power });
    return call;
  }
}

/** Parses answer LaTeX into an {@link Expr}; throws {@link ParseError} or {@link LimitError}. */
export function parseLatex(src: string): Expr {
  const toks = tokenize(src);
  if (!toks) throw new LimitError("token count");
  if (toks.length === 0) throw new ParseError("empty");
  return new Parser(toks).parse();
}

/** The free variables of an expression, sorted. */
export function freeVars(e: Expr, out: Set<string> = new Set()): Set<string> {
  if (e.t === "sym") out.add(e.name);
  else if (e.t === "bin") {
    freeVars(e.a, out);
    freeVars(e.b, out);
  } else if (e.t === "neg") freeVars(e.a, out);
  else if (e.t === "fn") { for (const a of e.args) freeVars(a, out); }
  else if (e.t === "mat") { for (const row of e.rows) for (const a of row) freeVars(a, out); }
  else if (e.t === "series") {
    freeVars(e.lo, out);
    freeVars(e.hi, out);
    const inner = freeVars(e.body);
    inner.delete(e.index);
    for (const v of inner) out.add(v);
  }
  return out;
}
