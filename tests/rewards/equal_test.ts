import assert from "node:assert/strict";
import { compareAnswers } from "../../rewards/mod.ts";
import { CASES } from "./cases.ts";

Deno.test("labelled cases: at least 150 across categories", () => {
  assert.ok(CASES.length >= 150, `only ${CASES.length} cases`);
  assert.ok(new Set(CASES.map((c) => c[3])).size >= 20);
});

Deno.test("labelled cases: equal() agrees with every label", () => {
  const failures = CASES.flatMap(([pred, gold, expected, category]) => {
    const v = compareAnswers(pred, gold);
    return v.equal === expected ? [] : [
      `[${category}] ${JSON.stringify(pred)} vs ${
        JSON.stringify(gold)
      }: got ${v.equal} (${v.reason})`,
    ];
  });
  assert.deepEqual(failures, []);
});

Deno.test("reasons say which way the verdict went (a researcher reads them in samples.jsonl)", () => {
  for (
    const [pred, gold, equal, reason] of [
      ["0", "1", false, /integers differ: 0 vs 1/],
      ["7", "7", true, /equal|identical/],
      ["\\frac{1}{2}", "0.75", false, /differ/],
      ["\\frac{2}{4}", "\\frac12", true, /equal/],
    ] as const
  ) {
    const v = compareAnswers(pred, gold);
    assert.equal(v.equal, equal, `${pred} vs ${gold}`);
    assert.match(v.reason, reason, `${pred} vs ${gold}: ${v.reason}`);
    if (!equal) assert.doesNotMatch(v.reason, /^equal/, `${pred} vs ${gold}: ${v.reason}`);
  }
});
