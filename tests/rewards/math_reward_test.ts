import assert from "node:assert/strict";
import { DEFAULT_MATH_OPTIONS, math, MathOptionsSchema } from "../../rewards/mod.ts";

const orz = (answer: string) => `<think>work</think> <answer>${answer}</answer>`;
const score = (response: string, gold: string, finish = "stop", opts = {}) =>
  math({ response, gold, finish }, opts).score;

Deno.test("math: 1 only for a correct answer that finished with stop", () => {
  assert.equal(score(orz("\\boxed{\\frac12}"), "0.5"), 1);
  assert.equal(score(orz("\\boxed{\\frac12}"), "0.5", "length"), 0);
  assert.equal(score(orz("\\boxed{\\frac12}"), "0.5", "length", { truncatedScore: 0.5 }), 0.5);
  assert.equal(score(orz("\\boxed{\\frac12}"), "0.5", "length", { requireStop: false }), 1);
  assert.equal(score(orz("\\boxed{3}"), "0.5"), 0);
});

Deno.test("math: details say what was extracted and why", () => {
  const r = math({ response: orz("\\boxed{x = 5}"), gold: "5", finish: "stop" });
  assert.equal(r.details.extracted, "x = 5");
  assert.equal(r.details.correct, true);
  assert.match(r.details.reason, /equal/);
  const none = math({ response: "the answer is 5", gold: "5", finish: "stop" });
  assert.equal(none.details.extracted, null);
  assert.match(none.details.reason, /<answer>/);
  const late = math({ response: orz("\\boxed{5}"), gold: "5", finish: "length" });
  assert.equal(late.details.correct, true);
  assert.match(late.details.reason, /finish=length/);
});

Deno.test("math: hacks score 0", () => {
  assert.equal(score(orz(""), "5"), 0, "empty answer tags");
  assert.equal(score(orz("\\boxed{}"), "5"), 0, "empty box");
  assert.equal(score(orz("\\boxed{ }"), "5"), 0, "whitespace box");
  assert.equal(score(orz("\\boxed{1 or 5 or 9}"), "5"), 0, "or-hedge");
  assert.equal(score(orz("\\boxed{1 \\text{ or } 5}"), "5"), 0, "text or-hedge");
  assert.equal(score(orz("\\boxed{5 \\lor 6}"), "5"), 0, "lor-hedge");
  assert.equal(score(orz("\\boxed{5}\\boxed{6}"), "5"), 0, "two boxes: the last counts");
  assert.equal(score(orz("\\boxed{1, 5, 9}"), "5"), 0, "a list where one value is asked");
  assert.equal(score(orz("\\boxed{5 \\pm 1}"), "5"), 0, "plus-minus hedge");
  assert.equal(score("\\boxed{5}", "5"), 0, "outside the tags in orz mode");
  assert.equal(score("<answer>5</answer>", "5"), 0, "unboxed in orz mode");
  assert.equal(score(orz("\\boxed{x}"), "5"), 0, "a free variable");
  assert.equal(score(orz("\\boxed{\\frac{0}{0}}"), "0"), 0, "undefined");
  assert.equal(score(orz("\\boxed{10001}"), "10000"), 0, "near miss on an integer");
  assert.equal(score(orz("\\boxed{5} \\boxed{5}"), "5"), 1, "a repeated box is not a hedge");
});

Deno.test("math: a run of boxes answers a list gold, never a single gold", () => {
  assert.equal(score(orz("\\boxed{1}, \\boxed{-2}"), "1, -2"), 1);
  assert.equal(score(orz("\\boxed{-2} \\quad\\text{and}\\quad \\boxed{1}"), "1,-2"), 1);
  assert.equal(score(orz("\\boxed{1}, \\boxed{-2}"), "1"), 0);
  assert.equal(score(orz("\\boxed{1}, \\boxed{2}, \\boxed{3}"), "1, 2"), 0);
});

Deno.test("math: policy switches", () => {
  assert.equal(score(orz("\\boxed{2, 1}"), "1, 2"), 1);
  assert.equal(score(orz("\\boxed{2, 1}"), "1, 2", "stop", { listOrder: "ordered" }), 0);
  assert.equal(score(orz("\\boxed{3,5}"), "3.5"), 0);
  assert.equal(score(orz("\\boxed{3,5}"), "3.5", "stop", { decimalComma: true }), 1);
  assert.equal(score(orz("\\boxed{0.5}"), "50\\%"), 1);
  assert.equal(score(orz("\\boxed{0.5}"), "50\\%", "stop", { percent: "strict" }), 0);
  assert.equal(score(orz("\\boxed{3} \\boxed{3}"), "3", "stop", { multipleBoxed: "agree" }), 1);
  assert.equal(score(orz("\\boxed{2} \\boxed{3}"), "3", "stop", { multipleBoxed: "agree" }), 0);
  assert.equal(score(orz("\\boxed{0.3333}"), "\\frac13"), 1);
  assert.equal(score(orz("\\boxed{0.3333}"), "\\frac13", "stop", { relTol: 1e-6 }), 0);
});

Deno.test("math: options schema has documented defaults and rejects nonsense", () => {
  assert.deepEqual(MathOptionsSchema.parse({}), DEFAULT_MATH_OPTIONS);
  assert.equal(DEFAULT_MATH_OPTIONS.extract, "orz");
  assert.throws(() => MathOptionsSchema.parse({ extract: "regex" }));
  assert.throws(() => MathOptionsSchema.parse({ relTol: 5 }));
});

Deno.test("math: never throws on malformed samples", () => {
  // deno-lint-ignore no-explicit-any
  const bad: any[] = [null, {}, { response: 5 }, { response: "x", gold: null }, {
    response: "x",
    gold: { a: 1 },
  }];
  for (const s of bad) assert.equal(math(s).score, 0);
  assert.equal(math({ response: orz("\\boxed{7}"), gold: 7, finish: "stop" }).score, 1);
});
