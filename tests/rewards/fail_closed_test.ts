/**
 * Rewards fail closed: every limit path (nesting depth, node count, items, ±, answer length,
 * response length, time budget) scores 0, even when the answer is mathematically right, and
 * a control just inside each limit scores 1, so a limit that counted as agreement (or a
 * limit that never fired) would fail here. Hostile inputs whose value cannot be decided in
 * bounded work score 0 against a gold they might equal; the decidable ones keep their
 * verdicts.
 */
import assert from "node:assert/strict";
import { compareAnswers, math } from "../../rewards/mod.ts";
import { LIMITS } from "../../rewards/limits.ts";

const nest = (n: number, open: string, close: string, inner = "1") =>
  open.repeat(n) + inner + close.repeat(n);
const ints = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The `math` reward (ORZ extraction) of an answer boxed in an answer block. */
function score(answer: string, gold: string): number {
  return math({ response: `<answer>\\boxed{${answer}}</answer>`, gold, finish: "stop" }).score;
}

/**
 * `[label, [answer past the limit, its gold], [answer just inside, its gold], reason]`; each
 * gold equals its answer in value but not in spelling, so the verdict takes a full parse.
 */
const LIMIT_PATHS: [string, [string, string], [string, string], RegExp][] = [
  ["depth: ( )", [nest(41, "(", ")"), "1"], [nest(5, "(", ")"), "1"], /nesting depth/],
  [
    "depth: \\left( \\right)",
    [nest(41, "\\left(", "\\right)"), "1"],
    [nest(5, "\\left(", "\\right)"), "1"],
    /nesting depth/,
  ],
  ["depth: -( )", [nest(41, "-(", ")"), "-1"], [nest(4, "-(", ")"), "1"], /nesting depth/],
  [
    "depth: \\sqrt",
    [nest(41, "\\sqrt{", "}"), "1"],
    [nest(5, "\\sqrt{", "}"), "1"],
    /nesting depth/,
  ],
  [
    "depth: \\frac",
    [nest(41, "\\frac{1}{", "}"), "1"],
    [nest(6, "\\frac{1}{", "}"), "1"],
    /nesting depth/,
  ],
  ["depth: in the gold", ["1", nest(41, "(", ")")], ["1", nest(5, "(", ")")], /nesting depth/],
  [
    "node count",
    [Array(300).fill("1").join("+"), "300"],
    [Array(150).fill("1").join("+"), "150"],
    /expression size/,
  ],
  [
    "items",
    [ints(65).join(","), ints(65).reverse().join(",")],
    [ints(64).join(","), ints(64).reverse().join(",")],
    /items/,
  ],
  ["±", ["1\\pm1\\pm1\\pm1\\pm1", "1 \\pm 1 \\pm 1 \\pm 1 \\pm 1"], [
    "1\\pm1\\pm1",
    "1 \\pm 1 \\pm 1",
  ], /too many ±/],
];

Deno.test("limits: every limit path scores 0; the same answer inside the limit scores 1", () => {
  const failures: string[] = [];
  for (const [label, [over, gold], [inside, insideGold], reason] of LIMIT_PATHS) {
    const v = compareAnswers(over, gold);
    if (v.equal || !reason.test(v.reason)) failures.push(`${label}: ${JSON.stringify(v)}`);
    if (score(over, gold) !== 0) failures.push(`${label}: math scored ${score(over, gold)}`);
    const control = compareAnswers(inside, insideGold);
    if (!control.equal) failures.push(`${label}: control rejected (${control.reason})`);
    if (score(inside, insideGold) !== 1) failures.push(`${label}: control scored 0`);
  }
  console.log(`limit paths: ${LIMIT_PATHS.length} (each with a control inside the limit)`);
  assert.deepEqual(failures, []);
});

Deno.test("limits: an answer past maxAnswerChars scores 0, even when it equals the gold", () => {
  const pad = (n: number) => "1" + " ".repeat(n - 1); // normalizes to "1"
  assert.equal(pad(LIMITS.maxAnswerChars + 1).length, LIMITS.maxAnswerChars + 1);
  const long = compareAnswers(pad(LIMITS.maxAnswerChars + 1), "1");
  assert.deepEqual(long, { equal: false, reason: "answer too long" });
  assert.equal(score(pad(LIMITS.maxAnswerChars + 1), "1"), 0);
  assert.equal(score(pad(5000), "1"), 0);
  assert.ok(compareAnswers(pad(LIMITS.maxAnswerChars), "1").equal);
  assert.equal(score(pad(LIMITS.maxAnswerChars), "1"), 1);
});

Deno.test("limits: a correct answer outside the scanned tail of a huge response scores 0", () => {
  const answer = "<answer>\\boxed{7}</answer>";
  const filler = " ".repeat(LIMITS.maxResponseChars);
  const r = (response: string) => math({ response, gold: "7", finish: "stop" }).score;
  assert.equal(r(answer + filler), 0);
  assert.equal(r(filler + answer), 1);
});

Deno.test("limits: an expired time budget scores 0 on every comparison kind", () => {
  // [pred, gold]: each reaches a different comparison loop that checks the deadline.
  const pairs: [string, string][] = [
    ["(x+1)^2", "x^2+2x+1"], // identity at probe points
    ["\\frac{2}{4}", "0.5"], // numbers
    ["2x+4y-3=0", "y=-\\frac{x}{2}+\\frac34"], // equations
    ["[5,\\infty)", "x \\ge 5"], // intervals
    ["3, 1, 2", "1, 2, 3"], // unordered lists
    ["\\{1,2\\}", "\\{2,1\\}"], // sets
  ];
  for (const [p, g] of pairs) assert.ok(compareAnswers(p, g).equal, `${p} vs ${g} (control)`);
  const budget = LIMITS.budgetMs;
  LIMITS.budgetMs = -1; // spent before the first check
  try {
    for (const [p, g] of pairs) {
      const v = compareAnswers(p, g);
      assert.deepEqual(v, { equal: false, reason: "limit: time budget" }, `${p} vs ${g}`);
      assert.equal(score(p, g), 0, `${p} vs ${g}: math`);
    }
  } finally {
    LIMITS.budgetMs = budget;
  }
  assert.equal(score("(x+1)^2", "x^2+2x+1"), 1);
});

/** `[answer, gold, score]`: hostile answers against golds they might equal. */
const ADVERSARIAL: [string, string, number][] = [
  // Undecidable in bounded work: rejected, never guessed.
  ["2^{2^{64}} - 2^{2^{64}}", "0", 0],
  ["9^{9^{9^{9^{9}}}}", "9^{9^{9^{9^{9}}}}+1", 0],
  ["1000000!", "1000000 \\cdot 999999!", 0],
  ["\\sum_{k=1}^{10^{9}} k", "500000000500000000", 0],
  ["\\sum_{i=1}^{20}\\sum_{j=1}^{20} ij", "44100", 0], // nested series are not expanded
  ["(x+1)^{1000000}", "(x+1)^{999999}(x+1)", 0],
  ["0/0", "0", 0],
  ["\\frac{1}{0}", "\\infty", 0],
  ["1000000!", "\\infty", 0],
  ["e^{e^{e^{e^{e^{e^{100}}}}}}", "\\infty", 0],
  ["x = ".repeat(100) + "1", "1", 0],
  ["1\\pm".repeat(100) + "1", "2", 0],
  // Hostile-looking but decidable exactly: the true verdict.
  ["10^{10^{10}} - 10^{10^{10}} + 1", "1", 1],
  // Equal as trees up to the order of a sum: decided by structure, with no evaluation.
  ["(x+1)^{1000000}", "(1+x)^{1000000}", 1],
  ["10^{10^{10}} - 10^{10^{10}} + 2", "1", 0],
  ["\\frac{1}{5000!} - \\frac{1}{4999!}", "0", 0],
  ["0.\\overline{" + "9".repeat(30) + "}", "1", 1],
  ["\\{" + "1,".repeat(60) + "1\\}", "\\{1\\}", 1],
];

Deno.test("adversarial answers: labelled verdicts", () => {
  const failures = ADVERSARIAL.flatMap(([answer, gold, want]) => {
    const got = score(answer, gold);
    return got === want ? [] : [
      `${JSON.stringify(answer.slice(0, 60))} vs ${JSON.stringify(gold)}: ${got} (${
        compareAnswers(answer, gold).reason
      })`,
    ];
  });
  assert.deepEqual(failures, []);
});
