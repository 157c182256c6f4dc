/**
 * Labelled cases for the kinds of disagreement listed in issue 9, written by hand from the
 * patterns of public verifier suites (Math-Verify, NeMo-Skills, hendrycks' MATH, lighteval,
 * GSM8K) and of Qwen2.5-Math-style free-form responses. Every value and sentence here is our
 * own. Two tables: `PAIRS` for `compareAnswers(pred, gold)` and `RESPONSES` for the `math`
 * reward (default `extract: "auto"`, `finish: "stop"`). `gaps_test.ts` runs both.
 *
 * @module
 */

import type { MathOptions } from "../../rewards/options.ts";

/** `[prediction, gold, expected, kind]`, compared with {@link compareAnswers}. */
export type Pair = [pred: string, gold: string, expected: boolean, kind: string];

/** One whole response scored by the `math` reward. */
export interface ResponseCase {
  response: string;
  gold: string;
  score: number;
  kind: string;
  finish?: string;
  options?: Partial<MathOptions>;
}

export const PAIRS: Pair[] = [
  // Golds given as a letter with the option's text, or an explanation ending in one.
  ["B", "B Paris", true, "choice gold"],
  ["(B)", "B Paris", true, "choice gold"],
  ["C", "B Paris", false, "choice gold"],
  ["B", "B. Paris", true, "choice gold"],
  ["B", "B) 3/4", true, "choice gold"],
  ["A", "B) 3/4", false, "choice gold"],
  ["D", "D: none of the above", true, "choice gold"],
  [
    "(B)",
    "Paris is the capital of France, so the correct option is B: Paris.",
    true,
    "choice gold",
  ],
  ["C", "Paris is the capital of France, so the correct option is B: Paris.", false, "choice gold"],
  ["A", "Only the first statement holds, hence the answer is (A) 12 km.", true, "choice gold"],
  ["E", "E = mc^2", false, "choice gold"],
  ["A", "A \\cup B", false, "choice gold"],
  // Golds that are worked solutions: the answer is extracted as from a response.
  ["25\\%", "The discount is $25\\%$ of the original price.", true, "solution gold"],
  ["25", "The discount is $25\\%$ of the original price.", true, "solution gold"],
  ["30\\%", "The discount is $25\\%$ of the original price.", false, "solution gold"],
  [
    "\\frac{3}{4}",
    "Dividing, the probability is $\\frac{6}{8} = \\frac{3}{4}$.",
    true,
    "solution gold",
  ],
  [
    "\\frac{2}{3}",
    "Dividing, the probability is $\\frac{6}{8} = \\frac{3}{4}$.",
    false,
    "solution gold",
  ],
  ["40\\%", "Since $20 \\cdot 2 = 40$, the share is $\\boxed{40\\%}$.", true, "solution gold"],
  ["0.4", "Since $20 \\cdot 2 = 40$, the share is $\\boxed{40\\%}$.", true, "solution gold"],
  ["20", "Since $20 \\cdot 2 = 40$, the share is $\\boxed{40\\%}$.", false, "solution gold"],
  ["42.5", "Altogether the bill comes to $\\$42.50$.", true, "solution gold"],
  ["42", "Altogether the bill comes to $\\$42.50$.", false, "solution gold"],
  ["7", "Subtracting $3$ from both sides gives $x = 7$.", true, "solution gold"],
  ["3", "Subtracting $3$ from both sides gives $x = 7$.", false, "solution gold"],
  ["20", "Adding the two cases gives $12 + 8 = 20$ arrangements.", true, "solution gold"],
  ["12", "Adding the two cases gives $12 + 8 = 20$ arrangements.", false, "solution gold"],
  ["C", "The answer is $\\boxed{\\text{(C)}}$", true, "solution gold"],
  ["-7, 2", "The roots are $2$ and $-7$.", true, "solution gold"],
  ["2", "The roots are $2$ and $-7$.", false, "solution gold"],
  ["\\text{no solution}", "no solution", true, "solution gold"],
  ["\\text{Monday}", "Monday", true, "solution gold"],
  // Rounded decimals against exact values inside structures.
  ["(0.33, 0.67)", "\\left(\\frac13, \\frac23\\right)", true, "rounded structure"],
  ["(0.33, 0.66)", "\\left(\\frac13, \\frac23\\right)", false, "rounded structure"],
  ["(0.333, 0.667)", "\\left(\\frac13, \\frac23\\right)", true, "rounded structure"],
  [
    "\\begin{pmatrix} 0.71 \\\\ 0.71 \\end{pmatrix}",
    "\\begin{pmatrix} \\frac{\\sqrt2}{2} \\\\ \\frac{\\sqrt2}{2} \\end{pmatrix}",
    true,
    "rounded structure",
  ],
  [
    "\\begin{pmatrix} 0.14 & 0.29 \\\\ 0.43 & 0.57 \\end{pmatrix}",
    "\\begin{pmatrix} \\frac17 & \\frac27 \\\\ \\frac37 & \\frac47 \\end{pmatrix}",
    true,
    "rounded structure",
  ],
  [
    "\\begin{pmatrix} 0.14 & 0.29 \\\\ 0.43 & 0.58 \\end{pmatrix}",
    "\\begin{pmatrix} \\frac17 & \\frac27 \\\\ \\frac37 & \\frac47 \\end{pmatrix}",
    false,
    "rounded structure",
  ],
  ["(0.3, 0.7)", "\\left(\\frac13, \\frac23\\right)", false, "rounded structure"],
  ["(0.01, 1)", "\\left(\\frac{1}{75}, 1\\right)", false, "rounded structure"],
  ["\\left(\\frac13, \\frac23\\right)", "(0.33, 0.67)", true, "rounded structure"],
  ["(0.33, 0.67)", "(0.333, 0.667)", false, "rounded structure"],
  ["\\{0.33, 0.67\\}", "\\left\\{\\frac23, \\frac13\\right\\}", true, "rounded structure"],
  ["(1.41, 2)", "(\\sqrt2, 2)", true, "rounded structure"],
  ["[0.33, 1]", "\\left[\\frac13, 1\\right]", true, "rounded structure"],
  [
    "\\begin{pmatrix} -0.33 \\\\ 0.67 \\end{pmatrix}",
    "\\begin{pmatrix} -\\frac{1}{3} \\\\ \\frac23 \\end{pmatrix}",
    true,
    "rounded structure",
  ],
  // A single value keeps the relative tolerance by default: 0.33 is not 1/3.
  ["0.33", "\\frac13", false, "rounded structure"],
  // A gold chain of equalities claims its final value; a named prediction may name any link.
  ["0", "a = b = x = 0", true, "chain gold"],
  ["1", "a = b = x = 0", false, "chain gold"],
  ["x = 0", "a = b = x = 0", true, "chain gold"],
  ["b = 0", "a = b = x = 0", true, "chain gold"],
  ["y = 0", "a = b = x = 0", false, "chain gold"],
  ["x = 1", "a = b = x = 0", false, "chain gold"],
  ["\\frac13", "x = y = z = \\frac{1}{3}", true, "chain gold"],
  ["z = \\frac13", "x = y = z = \\frac{1}{3}", true, "chain gold"],
  // Sums and products equal up to commuting factors, a renamed index or a rewritten body.
  ["\\sum_{k=1}^{n} k\\binom{n}{k}", "\\sum_{k=1}^{n} \\binom{n}{k} k", true, "commuting"],
  ["\\sum_{j=1}^{n} j\\binom{n}{j}", "\\sum_{k=1}^{n} \\binom{n}{k} k", true, "commuting"],
  ["\\sum_{k=1}^{n} k^2\\binom{n}{k}", "\\sum_{k=1}^{n} \\binom{n}{k} k", false, "commuting"],
  ["\\sum_{k=1}^{m} k\\binom{n}{k}", "\\sum_{k=1}^{n} \\binom{n}{k} k", false, "commuting"],
  ["\\prod_{i=1}^{n} a x_i", "\\prod_{i=1}^{n} x_i a", true, "commuting"],
  ["\\sum_{k=1}^{n} (k+1)x^k", "\\sum_{k=1}^{n} x^k (1+k)", true, "commuting"],
  ["\\sum_{k=1}^{n} k x^k", "\\sum_{k=1}^{n} x^k (1+k)", false, "commuting"],
  ["\\sum_{k=1}^{n} \\frac{1}{k(k+1)}", "\\sum_{k=1}^{n} \\frac{1}{(k+1)k}", true, "commuting"],
  ["\\binom{n}{k} \\cdot k!", "k!\\binom{n}{k}", true, "commuting"],
  ["\\binom{n}{k} \\cdot (k+1)!", "k!\\binom{n}{k}", false, "commuting"],
  // The documented policy stays: a sum up to a free bound is not evaluated in closed form.
  ["\\sum_{i=1}^{m} i", "\\frac{m(m+1)}{2}", false, "commuting"],
];

export const RESPONSES: ResponseCase[] = [
  // Multiple choice answered in prose that also names the options it rules out.
  ...choice(
    "The answer is (B) because (A) ignores friction and (D) double counts the normal force.",
    "B",
    "D",
  ),
  ...choice(
    "Option (A) is wrong: it ignores friction. Option (C) overstates the force. The correct option is (D).",
    "D",
    "C",
  ),
  ...choice(
    "I choose C. A and B can be ruled out because both assume constant speed, and D contradicts the data.",
    "C",
    "D",
  ),
  ...choice(
    "B is correct. A is incorrect since the sum is odd, and D is incorrect since it is negative.",
    "B",
    "A",
  ),
  ...choice("(C) 42 km. The others, (A) 40 km and (B) 44 km, come from rounding early.", "C", "B"),
  ...choice(
    "We can eliminate (A) and (B). Between (C) and (D), only (D) satisfies the boundary condition.",
    "D",
    "C",
  ),
  ...choice("Not (B), since the derivative changes sign there; the answer is (A).", "A", "B"),
  ...choice("Answer: (E). Options (A) through (D) each violate the parity condition.", "E", "A"),
  ...choice(
    "Comparing the four options, only option C keeps the product positive, while options A, B and D change its sign.",
    "C",
    "A",
  ),
  ...choice(
    "A car travels at 60 km/h for 2 hours, so it covers 120 km. That matches (B).",
    "B",
    "A",
  ),
  ...choice("The correct answer is: **B) 3/4**. Option A (1/2) is a single toss.", "B", "A"),
  ...choice("Therefore, the correct answer is $\\boxed{C}$. (A) and (B) are too small.", "C", "A"),
  { response: "The answer is A or C.", gold: "A", score: 0, kind: "choice prose" },
  { response: "Either (B) or (D) could work here.", gold: "B", score: 0, kind: "choice prose" },
  { response: "(A) (B) (C) (D)", gold: "A", score: 0, kind: "choice prose" },
  {
    response: "(A) is wrong. (B) is wrong. (C) is wrong. (D) is wrong.",
    gold: "D",
    score: 0,
    kind: "choice prose",
  },
  { response: "\\boxed{B}", gold: "B Paris", score: 1, kind: "choice prose" },
  { response: "\\boxed{C}", gold: "B Paris", score: 0, kind: "choice prose" },
  // Golds that are worked solutions, scored through the reward.
  {
    response: "So the discount is $\\boxed{25\\%}$.",
    gold: "The discount is $25\\%$ of the original price.",
    score: 1,
    kind: "solution gold",
  },
  {
    response: "So the discount is $\\boxed{20\\%}$.",
    gold: "The discount is $25\\%$ of the original price.",
    score: 0,
    kind: "solution gold",
  },
  // A box whose braces are split across math delimiters.
  { response: "Thus $\\boxed{\\frac{1}{2}$}.", gold: "\\frac12", score: 1, kind: "split box" },
  { response: "Thus $\\boxed{$\\frac{1}{2}$}$.", gold: "\\frac12", score: 1, kind: "split box" },
  { response: "So $\\boxed{\\frac{1}$ $ {2}}$", gold: "\\frac12", score: 1, kind: "split box" },
  { response: "So \\(\\boxed{7\\)}.", gold: "7", score: 1, kind: "split box" },
  { response: "So \\(\\boxed{7\\)}.", gold: "8", score: 0, kind: "split box" },
  { response: "\\[\\boxed{x = 3\\]}", gold: "3", score: 1, kind: "split box" },
  {
    response: "Hence \\(\\boxed{\\frac{5}{6}\\) \\(}\\)",
    gold: "\\frac56",
    score: 1,
    kind: "split box",
  },
  {
    response: "The value is $\\boxed{\\frac{9}{4}$.",
    gold: "\\frac94",
    score: 1,
    kind: "split box",
  },
  {
    response: "The value is $\\boxed{\\frac{9}{4}$.",
    gold: "\\frac49",
    score: 0,
    kind: "split box",
  },
  {
    response: "First $\\boxed{3$ then, correcting, $\\boxed{4}$.",
    gold: "3",
    score: 0,
    kind: "split box",
  },
  // Numbers inside words or token soup are not answers.
  { response: "qwhd7xkzpl", gold: "7", score: 0, kind: "token soup" },
  { response: "asdf qwer 3zxcv uiop", gold: "3", score: 0, kind: "token soup" },
  {
    response: "lorem ipsum dolor sit amet consectetur 5adipiscing elit",
    gold: "5",
    score: 0,
    kind: "token soup",
  },
  { response: "The answer is abc9def.", gold: "9", score: 0, kind: "token soup" },
  { response: "zzkq x7y mmvb", gold: "7", score: 0, kind: "token soup" },
  {
    response: "There are 12 apples left over at the end.",
    gold: "12",
    score: 1,
    kind: "token soup",
  },
  { response: "so in total she spends $12.", gold: "12", score: 1, kind: "token soup" },
  {
    response: "Checking each case, we get x=12 in the end.",
    gold: "12",
    score: 1,
    kind: "token soup",
  },
  { response: "The answer is 9.", gold: "9", score: 1, kind: "token soup" },
  // ORZ's rule in orz mode: an answer block never closed by `</answer>` scores 0.
  {
    response: "<think>2+2</think> <answer> \\boxed{4}",
    gold: "4",
    score: 0,
    kind: "orz unclosed",
    options: { extract: "orz" },
  },
  {
    response: "<think>2+2</think> <answer> \\boxed{4}",
    gold: "4",
    score: 1,
    kind: "orz unclosed",
    options: { extract: "orz", unclosedAnswer: "stop" },
  },
  {
    response: "<think>2+2</think> <answer> \\boxed{4}",
    gold: "4",
    score: 0,
    kind: "orz unclosed",
    finish: "length",
    options: { extract: "orz", unclosedAnswer: "stop" },
  },
  {
    response: "<think>2+2</think> <answer> \\boxed{4} </answer>",
    gold: "4",
    score: 1,
    kind: "orz unclosed",
    options: { extract: "orz" },
  },
];

/** A prose multiple-choice response: 1 against the asserted letter, 0 against a rejected one. */
function choice(response: string, asserted: string, rejected: string): ResponseCase[] {
  return [
    { response, gold: asserted, score: 1, kind: "choice prose" },
    { response, gold: rejected, score: 0, kind: "choice prose" },
  ];
}
