/**
 * Labelled cases for notations found missing or mis-read when the verifier was audited
 * against public verifier test suites: values beyond double precision, sums and products,
 * absolute-value inequalities and unions written with "or", degrees inside trigonometry,
 * repeating decimals, number words, systems of solutions, and multi-part answers. Every
 * value here is our own; each row is `[prediction, gold, expected]`.
 */
import assert from "node:assert/strict";
import { compareAnswers, math } from "../../rewards/mod.ts";

type Row = [pred: string, gold: string, expected: boolean];

const TABLES: Record<string, Row[]> = {
  "beyond doubles": [
    ["\\frac{1}{3^{80}}", "\\frac{1}{3^{81}}", false],
    ["2^{-60}", "\\frac{1}{2^{60}}", true],
    ["10^{-30}", "10^{-31}", false],
    ["\\frac{1}{3000!}", "\\frac{1}{2999!}", false],
    ["\\frac{1}{3000!}", "\\frac{1}{3000 \\cdot 2999!}", true],
    ["\\frac{3000!}{2999!}", "3000", true],
    ["2^{70}+1", "1180591620717411303425", true],
    ["2^{70}", "1180591620717411303425", false],
    ["\\sin(\\pi)", "0", true],
    ["1-1", "0", true],
    ["3^{40}-1", "3^{40}-2", false],
    ["9^{20}-1", "3^{40}-1", true],
    // With no decimal on either side nothing was rounded, so no tolerance applies.
    ["\\frac{1}{40001}", "\\frac{1}{40000}", false],
    ["\\frac{99}{70}", "\\sqrt{2}", false],
    ["1.41421", "\\sqrt{2}", true],
    ["0.000025", "\\frac{1}{40000}", true],
  ],
  // The documented rule: with no decimal (or percent) on either side nothing was rounded,
  // so the comparison is exact: rationals in BigInt, other values to 40 of 64 digits,
  // identities and equations re-checked exactly at the probe points. An integer gold is
  // exact against any rational.
  "decimal-free compares exactly": [
    ["\\frac{1}{10^{12}}", "0", false],
    ["1+10^{-20}", "1", false],
    ["x^2+10^{-9}", "x^2", false],
    ["y=x^2+10^{-9}", "y=x^2", false],
    ["x^2+y^2=1+10^{-9}", "x^2+y^2=1", false],
    ["(1+10^{-13}, 2)", "(1,2)", false],
    ["x \\ge 5+10^{-13}", "x \\ge 5", false],
    ["\\sqrt{2}+10^{-20}", "\\sqrt{2}", false],
    ["\\pi+10^{-15}", "\\pi", false],
    ["\\sin x+10^{-9}", "\\sin x", false],
    ["0.99999999999999", "1", false],
    // Still equal: exact values, identities, round-off of irrational values.
    ["\\frac{10^{12}}{10^{12}}", "1", true],
    ["\\frac{x^2-1}{x-1}", "x+1", true],
    ["(x+10^{-9})^2", "x^2+2\\cdot10^{-9}x+10^{-18}", true],
    ["x^2+y^2-1=0", "2x^2+2y^2=2", true],
    ["\\frac{\\sqrt3}{3}", "\\frac{1}{\\sqrt3}", true],
    ["\\cos\\frac{\\pi}{3}", "\\frac12", true],
    ["3^{1/3}", "\\sqrt[3]{3}", true],
    ["\\sin^2 x+\\cos^2 x+x", "1+x", true],
    ["x^{2/3}", "(\\sqrt[3]{x})^2", true],
    ["1.0", "1", true],
    ["1.00000000000001", "1.0", true], // a decimal gold: relTol applies
  ],
  "sums and products": [
    ["\\sum_{j=1}^{6} j^3", "441", true],
    ["\\sum_{j=1}^{6} j^3", "440", false],
    ["\\prod_{j=1}^{4} (2j)", "384", true],
    ["\\sum_{k=0}^{3} \\binom{3}{k}", "8", true],
    ["\\sum_{k=1}^{4} \\frac{1}{k}", "\\frac{25}{12}", true],
    // A bound that is not a literal is not evaluated, so it is never accepted by accident.
    ["\\sum_{i=1}^{m} i", "\\frac{m(m+1)}{2}", false],
  ],
  "absolute values and unions": [
    ["(-4,4)", "|t|<4", true],
    ["-4<t<4", "|t|<4", true],
    ["(-\\infty,4)", "|t|<4", false],
    ["(-\\infty,-4)\\cup(4,\\infty)", "|t|>4", true],
    ["|t|>4", "(-\\infty,-4)\\cup(4,\\infty)", true],
    ["[2,8]", "|y-5|\\le 3", true],
    ["|y-5| < 3", "(2,8)", true],
    ["[2,8)", "|y-5|\\le 3", false],
    ["[-3,-1]\\cup[1,3]", "1\\le|u|\\le 3", true],
    ["[-3,3]", "1\\le|u|\\le 3", false],
    ["x\\le -1 \\text{ or } x\\ge 4", "(-\\infty,-1]\\cup[4,\\infty)", true],
    ["x<-1 \\text{ or } x>4", "(-\\infty,-1]\\cup[4,\\infty)", false],
    ["\\mathbb{R}", "(-\\infty,\\infty)", true],
    ["x \\in \\mathbb{R}", "(-\\infty, \\infty)", true],
    // "or" between values still hedges against a single-valued gold.
    ["5 \\text{ or } 6", "6", false],
    ["x = 5 \\text{ or } x = 6", "5, 6", true],
  ],
  "degrees and radians": [
    ["\\sin 45^\\circ", "\\frac{\\sqrt2}{2}", true],
    ["\\cos 60^{\\circ}", "\\frac12", true],
    ["\\sin(90^\\circ - \\theta)", "\\cos\\theta", true],
    ["\\frac{\\pi}{4}", "45^\\circ", true],
    ["45^\\circ", "\\frac{\\pi}{4}", true],
    ["\\frac{\\pi}{3}", "45^\\circ", false],
    ["45", "45^\\circ", true],
  ],
  "repeating decimals": [
    ["0.\\overline{6}", "\\frac23", true],
    ["0.2\\overline{3}", "\\frac{7}{30}", true],
    ["0.\\overline{27}", "\\frac{3}{11}", true],
    ["0.\\overline{27}", "\\frac{27}{100}", false],
  ],
  "words": [
    ["\\text{seven}", "7", true],
    ["twenty-four", "24", true],
    ["\\text{Friday}", "friday", true],
    // Words are text, not products of letters: anagrams differ.
    ["\\text{evens}", "\\text{seven}", false],
    ["\\text{listen}", "\\text{silent}", false],
  ],
  "formatting": [
    ["**18**", "18", true],
    ["64\\", "64", true],
    ["3 1/4", "3.25", true],
    ["3 1/4", "3.24", false],
    ["9:15 \\text{ p.m.}", "21:15", true],
    ["9:15 a.m.", "21:15", false],
    ["21:15:00", "21:15", true],
    ["2, 5, and 9", "9, 5, 2", true],
    ["\\\\begin{pmatrix} 1 \\\\\\\\ 2 \\\\end{pmatrix}", "(1,2)", true],
  ],
  "approximations": [
    ["\\frac{\\sqrt{2}}{2} \\approx 0.707", "\\frac{\\sqrt2}{2}", true],
    ["\\frac{\\sqrt2}{2}", "\\frac{\\sqrt{2}}{2} \\approx 0.707", true],
    ["x \\approx 0.707", "\\frac{\\sqrt2}{2}", false],
  ],
  "systems and functions": [
    ["(1,4),(3,2)", "a=1,b=4;a=3,b=2", true],
    ["(1,4),(2,3)", "a=1,b=4;a=3,b=2", false],
    ["\\begin{cases} u=2 \\\\ v=5 \\end{cases}", "u=2, v=5", true],
    ["\\begin{cases} u=5 \\\\ v=2 \\end{cases}", "u=2, v=5", false],
    ["g(t) = 4t-1", "y = 4t - 1", true],
    ["g(t) = 4t+1", "y = 4t - 1", false],
    ["y = 7", "x = 7", false],
    ["y = t^2", "f(t) = t^2", true],
    ["y = t^2 + 1", "f(t) = t^2", false],
    ["\\frac{a}{b}\\left(\\frac{b}{a+b}\\right)^{3/2}", "\\frac{a\\sqrt{b}}{(a+b)^{3/2}}", true],
  ],
  "choices": [
    ["C", "(C) 14", true],
    ["\\text{(C)}", "(C) 14", true],
    ["D", "(C) 14", false],
  ],
};

Deno.test("notation: labelled cases agree with equal()", () => {
  const failures = Object.entries(TABLES).flatMap(([table, rows]) =>
    rows.flatMap(([pred, gold, expected]) => {
      const v = compareAnswers(pred, gold);
      return v.equal === expected
        ? []
        : [`[${table}] ${JSON.stringify(pred)} vs ${JSON.stringify(gold)}: ${v.reason}`];
    })
  );
  assert.deepEqual(failures, []);
});

/** `[response, gold, score]` scored by `math` in `auto` mode. */
const RESPONSES: [string, string, number][] = [
  ["The roots are $x=2$ and $x=-7$.", "2, -7", 1],
  ["The roots are $x=2$ and $x=-7$.", "2", 0],
  ["So $p = \\boxed{3}$ and $q = \\boxed{8}$.", "3, 8", 1],
  ["So $p = \\boxed{3}$ and $q = \\boxed{8}$.", "3", 0],
  ["\\boxed{(2, 1)} \\text{ for (i) and } \\boxed{(0, 5)}", "(2,1),(0,5)", 1],
  ["Final answer: **12**", "12", 1],
  ["4, 9, and 16", "16, 9, 4", 1],
  ["\\boxed{3, 5}", "\\boxed{3} apples and \\boxed{5} pears", 1],
  ["\\boxed{x < 1 \\text{ or } x > 3}", "(-\\infty,1)\\cup(3,\\infty)", 1],
  ["\\boxed{x < 1 \\text{ or } x > 3}", "x < 1", 0],
  ["\\boxed{1 \\text{ or } 2}", "1", 0],
];

Deno.test("notation: multi-part answers in responses", () => {
  const failures = RESPONSES.flatMap(([response, gold, score]) => {
    const r = math({ response, gold, finish: "stop" }, { extract: "auto" });
    return r.score === score
      ? []
      : [`${JSON.stringify(response)} vs ${JSON.stringify(gold)}: ${r.details.reason}`];
  });
  assert.deepEqual(failures, []);
});
