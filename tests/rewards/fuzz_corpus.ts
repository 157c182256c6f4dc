/**
 * A deterministic corpus of hostile inputs for the rewards: random bytes and unicode,
 * LaTeX token soup, deep nesting, huge expansions, and megabyte responses.
 *
 * @module
 */

/** mulberry32: a tiny seeded generator, so the corpus is the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  "\\frac",
  "{",
  "}",
  "^",
  "_",
  "\\sqrt",
  "[",
  "]",
  "(",
  ")",
  "1",
  "23",
  "0.5",
  "x",
  "y",
  "e",
  "i",
  "+",
  "-",
  "*",
  "/",
  "\\cdot",
  "\\times",
  "\\left(",
  "\\right)",
  "\\pm",
  "=",
  "<",
  "\\le",
  ",",
  "\\begin{pmatrix}",
  "&",
  "\\\\",
  "\\end{pmatrix}",
  "\\text{",
  "\\boxed{",
  "$",
  "\\%",
  "^\\circ",
  "\\pi",
  "\\infty",
  "\\{",
  "\\}",
  "|",
  "!",
  "\\sin",
  "\\log_",
  "\\binom",
  "\\cup",
  " or ",
  " ",
  "<answer>",
  "</answer>",
  "<think>",
  "</think>",
  "\\(",
  "\\)",
  "####",
  "\n",
  "\\dfrac",
  ":",
  ";",
];

const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)];

/** The hand-written worst cases: each targets a specific way to make a verifier slow. */
export const ADVERSARIAL: string[] = [
  "10^{10^{10}}",
  "9^{9^{9^{9^{9}}}}",
  "(x+1)^{1000000}",
  "\\binom{1000000000}{500000000}",
  "1000000!",
  "x!!!!!!!!!!!!!!!!!!!!",
  "\\sqrt{".repeat(200) + "2" + "}".repeat(200),
  "(".repeat(300) + "1" + ")".repeat(300),
  "\\frac{".repeat(150) + "1}{2}".repeat(150),
  "{".repeat(300) + "}".repeat(300),
  "1+".repeat(299) + "1",
  Array.from({ length: 64 }, (_, i) => `x+${i}`).join(","),
  Array.from({ length: 200 }, (_, i) => `${i}`).join(","),
  "1\\pm".repeat(100) + "1",
  "x^{x^{x^{x^{x^{x^{x^{x}}}}}}}",
  "e^{e^{e^{e^{e^{e^{100}}}}}}",
  "\\sin(\\sin(\\sin(\\sin(\\sin(\\sin(\\sin(\\sin(x))))))))",
  "a".repeat(600),
  "1".repeat(600),
  "1,".repeat(300),
  "\\text{".repeat(200) + "}".repeat(200),
  "\\begin{pmatrix}" + "1&".repeat(150) + "1\\end{pmatrix}",
  "x = ".repeat(100) + "1",
  "x < ".repeat(100) + "1",
  "(0,1)\\cup".repeat(60) + "(0,1)",
  "\\{" + "1,".repeat(60) + "1\\}",
  // Exact (64-digit) re-evaluation, sums and products, and the notations added with them.
  "\\prod_{k=1}^{200} 5000!",
  "\\sum_{i=1}^{200}\\sum_{j=1}^{200} ij",
  "\\sum_{k=1}^{10^{9}} k",
  "\\sum_{k=1}^{200} k!^{k!}",
  "\\frac{1}{5000!} - \\frac{1}{4999!} + \\frac{1}{4998!} - \\frac{1}{4997!}",
  "\\frac{4999!}{4998!} + \\frac{4999!}{4997!} + \\frac{4999!}{4996!}",
  "\\binom{10^{9}}{1000} - \\binom{10^{9}}{999}",
  "2^{2^{64}} - 2^{2^{64}}",
  "10^{10^{10}} - 10^{10^{10}} + 1",
  "\\frac{1}{1000!}\\cdot".repeat(30) + "1",
  "\\sum_{k=1}^{200} " + "\\sqrt{".repeat(12) + "k" + "}".repeat(12),
  "0.\\overline{" + "9".repeat(30) + "}",
  "0.\\overline{" + "1".repeat(600) + "}",
  "1 < |x| < 2 < |y| < 3",
  "|x-1| > 2 \\cup |x+1| < 3 \\cup |x| \\ge 5",
  "x < -2 \\text{ or } x > 3 or ".repeat(30),
  "\\begin{cases}" + "x=1\\\\".repeat(100) + "\\end{cases}",
  "p=1,q=2;".repeat(60),
  "\\sin 30^\\circ".repeat(40),
  "12:30 p.m. ".repeat(40),
  "$x=1$ and ".repeat(200),
  "\\boxed{1} \\text{ and } ".repeat(200),
  // Choices in prose, split boxes, rounded structures, chains, sums up to free bounds.
  "(A) or (B), ".repeat(300),
  "the answer is (A) ".repeat(400),
  "A is correct. B is wrong. Not C, and D is the answer. ".repeat(200),
  "(A), (B), (C), (D), (E), (F), (G), (H), (I), (J) ".repeat(100),
  "$\\boxed{" + "x".repeat(1000) + "$",
  "$\\boxed{\\frac{1}{2}$ ".repeat(1000),
  "\\(\\boxed{" + "{".repeat(300) + "\\)",
  "(" + "0.33,".repeat(63) + "0.33)",
  "\\begin{pmatrix}" + "0.14&".repeat(63) + "0.14\\end{pmatrix}",
  "a = ".repeat(150) + "0",
  "\\sum_{k=1}^{n} " + "k\\binom{n}{k}".repeat(40),
  "x+".repeat(299) + "x",
  "\\sum_{k=1}^{n}".repeat(40) + "k",
  "The value is $" + "1+".repeat(200) + "1$ of the total. ".repeat(20),
];

/** Megabyte responses: scans and regexes must stay linear on these. */
export function megabyteInputs(): string[] {
  const mb = 1 << 20;
  return [
    "a".repeat(mb),
    " ".repeat(mb),
    "\\boxed{".repeat(mb / 7),
    "\\boxed{1}".repeat(mb / 9),
    "$".repeat(mb),
    "\\(".repeat(mb / 2),
    "{".repeat(mb),
    "<answer>".repeat(mb / 8),
    "1".repeat(mb),
    "1 ".repeat(mb / 2),
    "the answer is ".repeat(mb / 14),
    "<answer>" + " ".repeat(mb) + "</answer>",
    "<answer>1" + " ".repeat(mb) + "= 24</answer>",
    "\\boxed{" + "(".repeat(mb / 2) + "}",
    "(A) ".repeat(mb / 4),
    "A is wrong. ".repeat(mb / 12),
    "$\\boxed{\\frac{1}{2}$".repeat(mb / 20),
    "The value is $1$ of ".repeat(mb / 20),
  ];
}

/** The full corpus: adversarial cases, megabyte inputs, and `n` random strings. */
export function fuzzCorpus(n = 300, seed = 20250101): string[] {
  const r = rng(seed);
  const out = [...ADVERSARIAL, ...megabyteInputs()];
  for (let k = 0; k < n; k++) {
    const kind = k % 3;
    const len = Math.floor(r() * (k % 10 === 0 ? 5000 : 200));
    if (kind === 0) {
      out.push(
        Array.from({ length: len }, () => String.fromCharCode(Math.floor(r() * 128))).join(""),
      );
    } else if (kind === 1) {
      // Any UTF-16 code unit, lone surrogates included.
      out.push(
        Array.from({ length: len }, () => String.fromCharCode(Math.floor(r() * 0x10000))).join(""),
      );
    } else {
      out.push(Array.from({ length: len }, () => pick(r, TOKENS)).join(""));
    }
  }
  return out;
}
