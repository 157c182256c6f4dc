/**
 * Issue 9's kinds: multiple choice in prose, golds that are worked solutions, boxes split
 * across math delimiters, rounded decimals in structures, chains of equalities, sums and
 * products up to order, numbers glued to words, and ORZ's closed-`<answer>` rule. The labelled
 * tables live in `gap_cases.ts` (developed against) and `gap_check_cases.ts` (written first,
 * measured after); the switches and building blocks are checked here directly.
 */
import assert from "node:assert/strict";
import { compareAnswers, math } from "../../rewards/mod.ts";
import { committedChoice, optionLetter } from "../../rewards/choice.ts";
import { canonicalKey } from "../../rewards/canonical.ts";
import { findBoxes } from "../../rewards/boxed.ts";
import { parseLatex } from "../../rewards/latex_parser.ts";
import { type Pair, PAIRS, type ResponseCase, RESPONSES } from "./gap_cases.ts";
import { CHECK_PAIRS, CHECK_RESPONSES } from "./gap_check_cases.ts";

function pairFailures(rows: Pair[]): string[] {
  return rows.flatMap(([pred, gold, expected, kind]) => {
    const v = compareAnswers(pred, gold);
    return v.equal === expected
      ? []
      : [`[${kind}] ${JSON.stringify(pred)} vs ${JSON.stringify(gold)}: ${v.reason}`];
  });
}

function responseFailures(rows: ResponseCase[]): string[] {
  return rows.flatMap((c) => {
    const r = math({ response: c.response, gold: c.gold, finish: c.finish ?? "stop" }, {
      extract: "auto",
      ...c.options,
    });
    return r.score === c.score ? [] : [
      `[${c.kind}] ${JSON.stringify(c.response)} vs ${
        JSON.stringify(c.gold)
      }: ${r.score} (${r.details.method}; ${r.details.reason})`,
    ];
  });
}

Deno.test("gaps: every kind has accepting and rejecting cases", () => {
  const rows = [
    ...PAIRS.map(([, , e, k]) => [k, e] as const),
    ...RESPONSES.map((c) => [c.kind, c.score === 1] as const),
  ];
  const kinds = new Set(rows.map(([k]) => k));
  assert.ok(kinds.size >= 9, [...kinds].join(", "));
  for (const k of kinds) {
    assert.ok(rows.some(([kk, e]) => kk === k && e), `${k}: no accepting case`);
    assert.ok(rows.some(([kk, e]) => kk === k && !e), `${k}: no rejecting case`);
  }
});

Deno.test("gaps: labelled pairs agree with compareAnswers", () => {
  assert.deepEqual(pairFailures(PAIRS), []);
  assert.deepEqual(pairFailures(CHECK_PAIRS), []);
});

Deno.test("gaps: labelled responses agree with the math reward", () => {
  assert.deepEqual(responseFailures(RESPONSES), []);
  assert.deepEqual(responseFailures(CHECK_RESPONSES), []);
});

Deno.test("decimalRounding: structures by default, all, off", () => {
  const vec = ["(0.33, 0.67)", "\\left(\\frac13, \\frac23\\right)"] as const;
  assert.equal(compareAnswers(...vec).equal, true);
  assert.match(compareAnswers(...vec).reason, /rounding/);
  assert.equal(compareAnswers(...vec, { decimalRounding: "off" }).equal, false);
  assert.equal(compareAnswers("0.33", "\\frac13").equal, false);
  assert.equal(compareAnswers("0.33", "\\frac13", { decimalRounding: "all" }).equal, true);
  assert.equal(compareAnswers("0.34", "\\frac13", { decimalRounding: "all" }).equal, false);
  // The floor: one decimal place or one significant digit says too little.
  assert.equal(compareAnswers("0.3", "\\frac13", { decimalRounding: "all" }).equal, false);
  assert.equal(compareAnswers("0.01", "\\frac{1}{75}", { decimalRounding: "all" }).equal, false);
  // A tie rounds either way; percents are not rounded.
  assert.equal(compareAnswers("(0.12, 1)", "(\\frac18, 1)").equal, true);
  assert.equal(compareAnswers("(0.13, 1)", "(\\frac18, 1)").equal, true);
  assert.equal(compareAnswers("(33\\%, 1)", "(\\frac13, 1)").equal, false);
  // Integer golds stay exact: 0.99 is not 1, even inside a tuple.
  assert.equal(compareAnswers("(0.99, 2)", "(1, 2)").equal, false);
});

Deno.test("unclosedAnswer: orz rejects an unclosed block unless asked to read it", () => {
  const response = "<think>t</think> <answer> so \\boxed{12}";
  const m = (opts: object, finish = "stop") =>
    math({ response, gold: "12", finish }, { extract: "orz", ...opts });
  assert.equal(m({}).score, 0);
  assert.match(m({}).details.reason, /no <answer><\/answer> block/);
  assert.equal(m({ unclosedAnswer: "stop" }).score, 1);
  assert.equal(m({ unclosedAnswer: "stop" }, "length").score, 0);
  assert.equal(m({ unclosedAnswer: "stop" }, "length").details.correct, false);
});

Deno.test("committedChoice: assertion, position, negation and hedges", () => {
  const letter = (t: string) => {
    const c = committedChoice(t);
    return c === null || c === "ambiguous" ? c : c.letter;
  };
  assert.equal(letter("The answer is (B), not (D)."), "B");
  assert.equal(letter("I first thought (A) is correct, but the answer is (C)."), "C");
  assert.equal(letter("(C) 42 km. (A) and (B) come from rounding."), "C");
  assert.equal(letter("Rules out (A) and (B); hence **(D)**."), "D");
  assert.equal(letter("A triangle has three sides."), null, "the article is not a choice");
  assert.equal(letter("The answer is (A) or (B)."), "ambiguous");
  assert.equal(letter("The answer is (A) and (B)."), "ambiguous");
  assert.equal(letter("(A) first, then (D)."), "ambiguous", "lead and tail disagree");
  assert.equal(letter("(A) is wrong. (B) is wrong."), "ambiguous");
  assert.equal(optionLetter("B Paris"), "B");
  assert.equal(optionLetter("(B) 12"), "B");
  assert.equal(optionLetter("E = mc^2"), null);
  assert.equal(optionLetter("A \\cup B"), null);
  assert.equal(optionLetter("A and B"), null);
  assert.equal(optionLetter("I only"), null, "a roman numeral, not option I");
  assert.equal(letter("The answer is I think (B)."), "B", "the pronoun is no choice");
  assert.equal(letter("The answer is (I)."), "I");
  assert.equal(compareAnswers("I only", "I only").equal, true);
});

Deno.test("canonicalKey: order of terms and factors only", () => {
  const k = (s: string) => canonicalKey(parseLatex(s));
  assert.equal(k("a+b+c"), k("c+(b+a)"));
  assert.equal(k("a-b"), k("-b+a"));
  assert.equal(k("2xy"), k("y\\cdot x\\cdot 2"));
  assert.equal(k("\\sum_{k=1}^{n} k^2"), k("\\sum_{j=1}^{n} j^2"));
  assert.notEqual(k("a-b"), k("b-a"));
  assert.notEqual(k("\\frac{a}{b}"), k("\\frac{b}{a}"));
  assert.notEqual(k("a^b"), k("b^a"));
  assert.notEqual(k("\\binom{n}{k}"), k("\\binom{k}{n}"));
  assert.notEqual(k("\\sum_{k=1}^{n} k"), k("\\sum_{k=1}^{m} k"));
  assert.notEqual(k("\\sum_{k=1}^{n} kj"), k("\\sum_{j=1}^{n} jk"), "a free j is not the index");
  // Matrix products do not commute.
  const m1 = "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}";
  const m2 = "\\begin{pmatrix}0&1\\\\1&0\\end{pmatrix}";
  assert.notEqual(k(`${m1}${m2}`), k(`${m2}${m1}`));
});

Deno.test("findBoxes: repairs only a last box that its math closes", () => {
  const last = (t: string) => findBoxes(t, true).map((b) => b.content);
  assert.deepEqual(last("so $\\boxed{\\frac{9}{4}$ done"), ["\\frac{9}{4}"]);
  assert.deepEqual(last("\\(x = \\boxed{-2\\)"), ["-2"]);
  assert.deepEqual(last("$\\boxed{\\frac{9}{4$"), [], "its own braces must balance");
  assert.deepEqual(last("$\\boxed{3$ then $\\boxed{4}$"), ["4"], "only after every closed box");
  assert.deepEqual(last("no delimiter \\boxed{5"), []);
  assert.deepEqual(findBoxes("so $\\boxed{\\frac{9}{4}$"), [], "off unless asked (orz, boxed)");
});
