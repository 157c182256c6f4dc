/**
 * A tokenizer for the LaTeX (and plain-text) mathematics that answers are written in:
 * `\frac{3}{4}`, `2\sqrt3`, `x^2+1`, `sqrt(2)/2`, `3.5e-2`. It only splits; meaning is the
 * parser's job. Unknown characters become symbol tokens so the parser can reject them.
 *
 * @module
 */

/** One token: a number literal, a letter or known word, a `\command`, or a symbol. */
export type Token =
  | { kind: "num"; text: string }
  | { kind: "id"; text: string }
  | { kind: "cmd"; text: string }
  | { kind: "sym"; text: string };

/** Plain-text function and constant names that models write without a backslash. */
const WORDS = [
  "arcsin",
  "arccos",
  "arctan",
  "sinh",
  "cosh",
  "tanh",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "cot",
  "sec",
  "csc",
  "log",
  "exp",
  "ln",
  "pi",
  "infty",
  "inf",
];
const WORD_RE = new RegExp(`^(?:${WORDS.join("|")})(?![A-Za-z])`);
const NUMBER_RE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+(?![A-Za-z]))?/;

/** Unicode symbols mapped to the LaTeX the parser understands. */
const UNICODE: Record<string, Token> = {
  "\u2212": { kind: "sym", text: "-" },
  "\u00d7": { kind: "cmd", text: "\\times" },
  "\u00f7": { kind: "cmd", text: "\\div" },
  "\u00b7": { kind: "cmd", text: "\\cdot" },
  "\u03c0": { kind: "cmd", text: "\\pi" },
  "\u221e": { kind: "cmd", text: "\\infty" },
  "\u221a": { kind: "cmd", text: "\\sqrt" },
};

/**
 * Splits `src` into tokens, or returns null past `maxTokens` (the caller treats that as
 * "not mathematics"). Linear time; no backtracking regex is run on unbounded input.
 */
export function tokenize(src: string, maxTokens = 800): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    if (out.length > maxTokens) return null;
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if ((c >= "0" && c <= "9") || (c === "." && /\d/.test(src[i + 1] ?? ""))) {
      const m = NUMBER_RE.exec(src.slice(i, i + 64))!;
      out.push({ kind: "num", text: m[0] });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      const w = WORD_RE.exec(src.slice(i, i + 8));
      if (w) {
        out.push({ kind: "cmd", text: "\\" + w[0] });
        i += w[0].length;
      } else {
        out.push({ kind: "id", text: c });
        i++;
      }
      continue;
    }
    if (c === "\\") {
      const m = /^\\(?:[A-Za-z]+|.)/s.exec(src.slice(i, i + 40));
      const text = m ? m[0] : "\\";
      // Spacing commands carry no meaning once the answer is isolated.
      if (!/^\\(?:[,;:! ]|quad|qquad)$/.test(text)) out.push({ kind: "cmd", text });
      i += text.length;
      continue;
    }
    if (c === "*" && src[i + 1] === "*") {
      out.push({ kind: "sym", text: "^" });
      i += 2;
      continue;
    }
    out.push(UNICODE[c] ?? { kind: "sym", text: c });
    i++;
  }
  return out;
}
