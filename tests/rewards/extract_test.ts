import assert from "node:assert/strict";
import { extractAnswer, type ExtractOptions } from "../../rewards/extract.ts";
import { findBoxes } from "../../rewards/boxed.ts";

const last: ExtractOptions = { multipleBoxed: "last", finish: "stop" };
const get = (text: string, mode: "orz" | "boxed" | "auto", opts: ExtractOptions = last) =>
  extractAnswer(text, mode, opts).answer;

Deno.test("boxed: nested braces, escaped braces, \\fbox, \\boxed 5", () => {
  assert.equal(get("so \\boxed{\\frac{1}{\\sqrt{2}}} done", "boxed"), "\\frac{1}{\\sqrt{2}}");
  assert.equal(get("\\boxed{\\{1, 2\\}}", "boxed"), "\\{1, 2\\}");
  assert.equal(get("\\fbox{7}", "boxed"), "7");
  assert.equal(get("$\\boxed 5$", "boxed"), "5");
  assert.equal(get("\\boxed{unclosed", "boxed"), null);
  assert.equal(get("\\boxedx{3}", "boxed"), null);
  assert.deepEqual(findBoxes("\\boxed{\\boxed{1}} \\boxed{2}").map((b) => b.content), [
    "\\boxed{1}",
    "2",
  ]);
});

Deno.test("boxed: the last box counts; agree and join policies", () => {
  assert.equal(get("\\boxed{1} then \\boxed{2}", "boxed"), "2");
  assert.equal(
    get("\\boxed{3} so \\boxed{3}", "boxed", { multipleBoxed: "agree", finish: "stop" }),
    "3",
  );
  assert.equal(
    get("\\boxed{1} so \\boxed{2}", "boxed", { multipleBoxed: "agree", finish: "stop" }),
    null,
  );
  assert.equal(
    get("\\boxed{1} and \\boxed{2}", "boxed", { multipleBoxed: "join", finish: "stop" }),
    "1, 2",
  );
  const run = extractAnswer("roots: \\boxed{1}, \\boxed{-2}", "boxed", last);
  assert.deepEqual(run.run, ["1", "-2"]);
  assert.equal(
    extractAnswer("I thought \\boxed{1} but it is \\boxed{2}", "boxed", last).run,
    undefined,
  );
});

Deno.test("orz: last box inside the last <answer> block, nothing else", () => {
  assert.equal(get("<think>x</think> <answer>so \\boxed{4}</answer>", "orz"), "4");
  assert.equal(get("<answer>\\boxed{1}</answer> <answer>\\boxed{2}</answer>", "orz"), "2");
  assert.equal(get("\\boxed{4} <answer>4</answer>", "orz"), null, "unboxed answer");
  assert.equal(get("\\boxed{4} <answer></answer>", "orz"), null, "empty tags");
  assert.equal(get("<think>\\boxed{4}</think>", "orz"), null, "box outside the tags");
  assert.equal(get("<answer>\\boxed{1}\\boxed{2}</answer>", "orz"), "2");
  // ORZ's regex needs `</answer>` (its generator keeps the stop string): unclosed is no answer.
  assert.equal(get("<answer> \\boxed{9}", "orz"), null);
  // The lenient reading, as an option: after a stop only; a truncated sample gets no grace.
  const lenient = { multipleBoxed: "last", unclosedAnswer: "stop" } as const;
  assert.equal(get("<answer> \\boxed{9}", "orz", { ...lenient, finish: "stop" }), "9");
  assert.equal(get("<answer> \\boxed{9}", "orz", { ...lenient, finish: "length" }), null);
});

Deno.test("auto: each fallback in order", () => {
  assert.equal(get("so \\boxed{12}. The answer is 13", "auto"), "12");
  assert.equal(get("<answer> 42 </answer>", "auto"), "42");
  assert.equal(get("<answer>  </answer> 42", "auto"), null, "an empty tag is no answer");
  assert.equal(
    get("Thus the answer is $\\frac{1}{2}$. I hope it is correct.", "auto"),
    "\\frac{1}{2}",
  );
  assert.equal(get("The final answer is 28%.", "auto"), "28%");
  assert.equal(get("Final Answer: The largest $n$ is 34.", "auto"), "34");
  assert.equal(get("She pays 5 + 13 = 18 dollars.\n#### 18", "auto"), "18");
  assert.equal(get("Q: how many?\nA: 7", "auto"), "7");
  assert.equal(get("We get $x = 3$ and then $y = 2$ in total", "auto"), "y = 2");
  assert.equal(get("there are 12 of them in the end", "auto"), "12");
  assert.equal(get("\\frac{10}{9}", "auto"), "\\frac{10}{9}");
  assert.equal(get("Evelyn", "auto"), "Evelyn");
  assert.equal(get("We know $d = 90/n$, so there are 12 sequences", "auto"), "12");
  assert.equal(get("", "auto"), null);
  assert.equal(get("I do not know the value here, sorry about that, truly.", "auto"), null);
});

Deno.test("auto: only the text after </think> is read", () => {
  assert.equal(get("<think>maybe \\boxed{99}</think> so \\boxed{42}", "auto"), "42");
  assert.equal(get("<think>\\boxed{42}</think>I'm not sure.", "auto"), "I'm not sure.");
  assert.equal(
    get("<think>\\boxed{42}</think>I'm not sure.", "boxed"),
    "42",
    "boxed mode is literal",
  );
});

Deno.test("auto: a 'final answer' after the last box overrides intermediate boxes", () => {
  const text =
    "first $\\boxed{200}$ then $\\boxed{255}$. Final Answer: The final answer is $10,455$.";
  assert.equal(get(text, "auto"), "10,455");
  assert.equal(get("so \\boxed{44}. We check: our answer is correct.", "auto"), "44");
});
