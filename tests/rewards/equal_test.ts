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
