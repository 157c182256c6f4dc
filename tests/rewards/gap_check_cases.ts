/**
 * A second batch of issue-9 cases, written before the rules were implemented and measured
 * only after, as a check that the rules generalise beyond `gap_cases.ts` (the cases they
 * were developed against). Same shapes; every value and sentence is our own.
 *
 * @module
 */

import type { Pair, ResponseCase } from "./gap_cases.ts";

export const CHECK_PAIRS: Pair[] = [
  ["C", "C Jupiter", true, "choice gold"],
  ["D", "C Jupiter", false, "choice gold"],
  ["\\text{(A)}", "A. $\\frac{1}{2}$", true, "choice gold"],
  [
    "B",
    "The only stable configuration is the second one, so the answer is B) tetrahedral.",
    true,
    "choice gold",
  ],
  [
    "A",
    "The only stable configuration is the second one, so the answer is B) tetrahedral.",
    false,
    "choice gold",
  ],
  ["18", "The perimeter is $2(4 + 5) = 18$ centimetres.", true, "solution gold"],
  ["9", "The perimeter is $2(4 + 5) = 18$ centimetres.", false, "solution gold"],
  [
    "\\frac{1}{6}",
    "Exactly one of the six faces works, so the probability is $\\frac{1}{6}$.",
    true,
    "solution gold",
  ],
  [
    "\\frac{1}{5}",
    "Exactly one of the six faces works, so the probability is $\\frac{1}{6}$.",
    false,
    "solution gold",
  ],
  ["12.5\\%", "The rate of increase is $\\frac{1}{8}$, that is, $12.5\\%$.", true, "solution gold"],
  ["(0.17, 0.83)", "\\left(\\frac{1}{6}, \\frac{5}{6}\\right)", true, "rounded structure"],
  ["(0.16, 0.83)", "\\left(\\frac{1}{6}, \\frac{5}{6}\\right)", false, "rounded structure"],
  [
    "\\begin{bmatrix} 0.5 & 0.87 \\\\ -0.87 & 0.5 \\end{bmatrix}",
    "\\begin{bmatrix} \\frac12 & \\frac{\\sqrt3}{2} \\\\ -\\frac{\\sqrt3}{2} & \\frac12 \\end{bmatrix}",
    true,
    "rounded structure",
  ],
  [
    "\\begin{bmatrix} 0.5 & 0.86 \\\\ -0.86 & 0.5 \\end{bmatrix}",
    "\\begin{bmatrix} \\frac12 & \\frac{\\sqrt3}{2} \\\\ -\\frac{\\sqrt3}{2} & \\frac12 \\end{bmatrix}",
    false,
    "rounded structure",
  ],
  ["(2.67, -1.33)", "\\left(\\frac83, -\\frac43\\right)", true, "rounded structure"],
  ["p = 4", "p = q = r = 4", true, "chain gold"],
  ["s = 4", "p = q = r = 4", false, "chain gold"],
  ["4", "p = q = r = 4", true, "chain gold"],
  ["\\sum_{i=0}^{n} \\binom{n}{i} 2^i", "\\sum_{i=0}^{n} 2^i\\binom{n}{i}", true, "commuting"],
  ["\\sum_{i=0}^{n} \\binom{n}{i} 3^i", "\\sum_{i=0}^{n} 2^i\\binom{n}{i}", false, "commuting"],
  ["\\prod_{k=1}^{n} \\frac{k+1}{k}", "\\prod_{j=1}^{n} \\frac{1+j}{j}", true, "commuting"],
];

export const CHECK_RESPONSES: ResponseCase[] = [
  {
    response:
      "Statement (A) fails for n = 2 and (C) fails for n = 3, so the correct choice is (B).",
    gold: "B",
    score: 1,
    kind: "choice prose",
  },
  {
    response:
      "Statement (A) fails for n = 2 and (C) fails for n = 3, so the correct choice is (B).",
    gold: "C",
    score: 0,
    kind: "choice prose",
  },
  {
    response: "D is the right answer; A, B and C all double count the corners.",
    gold: "D",
    score: 1,
    kind: "choice prose",
  },
  {
    response: "D is the right answer; A, B and C all double count the corners.",
    gold: "C",
    score: 0,
    kind: "choice prose",
  },
  {
    response: "After checking, I would go with (A). Choices (B) and (D) give negative lengths.",
    gold: "A",
    score: 1,
    kind: "choice prose",
  },
  {
    response: "After checking, I would go with (A). Choices (B) and (D) give negative lengths.",
    gold: "D",
    score: 0,
    kind: "choice prose",
  },
  { response: "It could be (A) or (C).", gold: "C", score: 0, kind: "choice prose" },
  {
    response: "The integral converges, which rules out (C) and (D); hence **(A)**.",
    gold: "A",
    score: 1,
    kind: "choice prose",
  },
  {
    response: "The integral converges, which rules out (C) and (D); hence **(A)**.",
    gold: "D",
    score: 0,
    kind: "choice prose",
  },
  {
    response: "The total is $\\boxed{12.5\\%}$ of the budget.",
    gold: "The rate of increase is $\\frac{1}{8}$, that is, $12.5\\%$.",
    score: 1,
    kind: "solution gold",
  },
  { response: "Therefore $\\boxed{\\sqrt{3}$.", gold: "\\sqrt3", score: 1, kind: "split box" },
  { response: "So \\(x = \\boxed{-2\\)}.", gold: "-2", score: 1, kind: "split box" },
  { response: "So \\(x = \\boxed{-2\\)}.", gold: "2", score: 0, kind: "split box" },
  { response: "pqrs8tuvw", gold: "8", score: 0, kind: "token soup" },
  { response: "ab1cd ef2gh ij3kl", gold: "3", score: 0, kind: "token soup" },
  { response: "She ends up with 8 marbles.", gold: "8", score: 1, kind: "token soup" },
  {
    response: "<think>ok</think> <answer> so the value is \\boxed{12}",
    gold: "12",
    score: 0,
    kind: "orz unclosed",
    options: { extract: "orz" },
  },
];
