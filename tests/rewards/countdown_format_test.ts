import assert from "node:assert/strict";
import { countdown, format } from "../../rewards/mod.ts";
import { evaluateArithmetic } from "../../rewards/arithmetic.ts";

const task = { target: 24, numbers: [4, 6, 8, 2] };
const cd = (answer: string, opts = {}, finish = "stop", gold: unknown = task) =>
  countdown({ response: `<think>…</think> <answer>${answer}</answer>`, gold, finish }, opts).score;

Deno.test("countdown: each number exactly once, + − × ÷, exact target", () => {
  assert.equal(cd("8 * 6 / (4 - 2)"), 1);
  assert.equal(cd("(4 - 2) * 8 + 6"), 0, "right numbers, wrong value (22)");
  assert.equal(cd("8 * 6 / 2"), 0, "4 unused");
  assert.equal(cd("8 * 6 / (4 - 2) * 8 / 8"), 0, "8 used three times");
  assert.equal(cd("8 * 6 / (4 - 2) + 0"), 0, "0 is not given");
  assert.equal(cd("86 / (4 - 2)"), 0, "digits glued into a new number");
  assert.equal(cd("8×6÷(4−2)"), 1, "unicode operators");
  assert.equal(cd("8 \\times 6 \\div (4 - 2)"), 1, "LaTeX operators");
  assert.equal(cd("8 * 6 / (4 - 2) = 24"), 1, "restated target");
  assert.equal(cd("8 * 6 / (4 - 2) = 25"), 0, "restated wrong target is still the same equation");
  const nums = { target: 33, nums: [1, 3, 100] };
  assert.equal(
    countdown({ response: "<answer>(100 - 1) / 3</answer>", gold: nums, finish: "stop" }).score,
    1,
  );
});

Deno.test("countdown: exact rationals, no float fuzz, no unary minus or eval", () => {
  assert.equal(
    countdown({
      response: "<answer>1 / 3 * 3</answer>",
      gold: { target: 1, numbers: [1, 3, 3] },
      finish: "stop",
    }).score,
    1,
  );
  assert.equal(cd("-8 * -6 / (4 - 2) / 2"), 0);
  assert.equal(cd("8 ** 6"), 0);
  assert.equal(cd("constructor.constructor('return 24')()"), 0);
  assert.equal(cd("8 * 6 / (4 - 4)"), 0, "division by zero");
  assert.throws(() => evaluateArithmetic("2^3"));
  assert.deepEqual(evaluateArithmetic("(1+2)/4").value, { n: 3n, d: 4n });
});

Deno.test("countdown: format credit, truncation, bad gold", () => {
  assert.equal(cd("8 + 6 + 4 + 2", { formatScore: 0.1 }), 0.1);
  assert.equal(cd("8 * 6 / (4 - 2)", {}, "length"), 0);
  assert.equal(cd("8 * 6 / (4 - 2)", { formatScore: 0.1 }, "length"), 0.1);
  assert.equal(
    countdown({ response: "no tags", gold: task, finish: "stop" }, { formatScore: 0.1 }).score,
    0,
  );
  assert.equal(cd("8 * 6 / (4 - 2)", {}, "stop", "nonsense"), 0);
  assert.equal(cd("8 * 6 / (4 - 2)", {}, "stop", JSON.stringify(task)), 1, "gold as JSON text");
});

const fmt = (response: string, prompt?: string, finish = "stop") =>
  format({ response, gold: null, finish, prompt }).score;

Deno.test("format: exactly <think> … </think> <answer> … </answer>", () => {
  assert.equal(fmt("<think>reason</think> <answer>42</answer>"), 1);
  assert.equal(
    fmt("reason</think>\n<answer>42</answer>", "Assistant: <think>"),
    1,
    "prompt opened <think>",
  );
  assert.equal(fmt("<think>reason</think> <answer>42</answer>", undefined, "length"), 0);
  assert.equal(fmt("<think></think> <answer>42</answer>"), 0, "empty think");
  assert.equal(fmt("<think>r</think> <answer> </answer>"), 0, "empty answer");
  assert.equal(fmt("<think>r</think> <answer>1</answer><answer>2</answer>"), 0, "two answers");
  assert.equal(fmt("<answer>1</answer> <think>r</think>"), 0, "wrong order");
  assert.equal(fmt("hi <think>r</think> <answer>1</answer>"), 0, "text before");
  assert.equal(fmt("<think>r</think> <answer>1</answer> bye"), 0, "text after");
  assert.equal(
    format({ response: "<think>r</think><answer>1</answer>", gold: null, finish: "stop" }, {
      requireBoxed: true,
    }).score,
    0,
  );
});
