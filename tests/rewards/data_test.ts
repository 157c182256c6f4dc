/**
 * Real golds from ../shared/data (read in place, never copied): every GSM8K gold and every
 * MATH500 answer must parse, equal itself and its obvious rewrites, and not equal a nearby
 * wrong value; every MATH500 solution, read in `auto` mode, must earn its own answer.
 */
import assert from "node:assert/strict";
import { compareAnswers, math } from "../../rewards/mod.ts";
import { parseAnswer } from "../../rewards/answer.ts";
import { valueOf } from "../../rewards/equal_values.ts";
import { goldAnswer } from "../../rewards/gold.ts";
import { normalizeAnswer } from "../../rewards/normalize.ts";

const DATA = new URL("../../../shared/data/", import.meta.url);

function readLines(path: string): Record<string, string>[] | null {
  try {
    return Deno.readTextFileSync(new URL(path, DATA)).trim().split("\n").map((l) => JSON.parse(l));
  } catch {
    return null;
  }
}

const gsm8k = readLines("gsm8k/test.jsonl");
const math500 = readLines("math500/test.jsonl");
const skip = (what: string) => `${what} not found under ${DATA.pathname}: skipped`;

Deno.test({
  name: "GSM8K: every test gold equals itself, its rewrites, and not gold + 1",
  ignore: !gsm8k && (console.warn(skip("gsm8k/test.jsonl")), true),
  fn() {
    const failures: string[] = [];
    for (const row of gsm8k!) {
      const g = goldAnswer(row.answer);
      const n = Number(g.replace(/,/g, ""));
      const rewrites = [
        g,
        `$${g}$`,
        `\\boxed{${g}}`,
        `${n}.0`,
        n.toLocaleString("en-US"),
        `\\$${g}`,
      ];
      for (const r of rewrites) {
        if (!compareAnswers(r, row.answer).equal) failures.push(`${g} vs ${r}`);
      }
      if (compareAnswers(String(n + 1), row.answer).equal) failures.push(`${g} accepted ${n + 1}`);
      const said = math({
        response: `So it is ${g} in all.\n#### ${g}`,
        gold: row.answer,
        finish: "stop",
      }, {
        extract: "auto",
      });
      if (said.score !== 1) failures.push(`auto #### ${g}: ${said.details.reason}`);
    }
    assert.equal(gsm8k!.length, 1319);
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "MATH500: every answer equals itself wrapped, its numeric value, and not value + 1",
  ignore: !math500 && (console.warn(skip("math500/test.jsonl")), true),
  fn() {
    const failures: string[] = [];
    let numeric = 0;
    for (const { answer } of math500!) {
      for (const r of [answer, `$${answer}$`, `\\boxed{${answer}}`, `\\(${answer}\\)`]) {
        if (!compareAnswers(r, answer).equal) failures.push(`${answer} vs ${r}`);
      }
      const n = normalizeAnswer(answer, { decimalComma: false });
      const parsed = parseAnswer(n.text, n.percent);
      if (parsed.kind === "text" && /^[\d\s\\{}^+\-*/.()]+$/.test(n.text)) {
        failures.push(`${answer} did not parse`);
      }
      if (parsed.kind !== "expr" || parsed.vars.length) continue;
      const v = valueOf(parsed.expr);
      if (v.im !== 0 || !Number.isFinite(v.re)) continue;
      numeric++;
      const decimal = Number.isInteger(v.re) ? String(v.re) : v.re.toPrecision(12);
      if (!compareAnswers(decimal, answer).equal) {
        failures.push(`${answer} vs its value ${decimal}`);
      }
      if (compareAnswers(String(v.re + 1), answer).equal) {
        failures.push(`${answer} accepted ${v.re + 1}`);
      }
    }
    assert.equal(math500!.length, 500);
    assert.ok(numeric > 400, `only ${numeric} numeric answers`);
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "MATH500: every reference solution, read in auto mode, earns its own answer",
  ignore: !math500,
  fn() {
    const failures = math500!.flatMap(({ solution, answer }) => {
      const r = math({ response: solution, gold: answer, finish: "stop" }, { extract: "auto" });
      return r.score === 1 ? [] : [`${answer}: got ${r.details.extracted} (${r.details.reason})`];
    });
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "MATH500: a wrong answer from another problem is rejected (sampled pairs)",
  ignore: !math500,
  fn() {
    // Pair each answer with the next one; pairs that are genuinely equal are skipped by value.
    const accepted: string[] = [];
    for (let i = 0; i + 1 < math500!.length; i++) {
      const [a, b] = [math500![i].answer, math500![i + 1].answer];
      if (a.replace(/\s/g, "") === b.replace(/\s/g, "")) continue;
      if (compareAnswers(a, b).equal) accepted.push(`${a} ~ ${b}`);
    }
    // Distinct strings can still be equal values (`\frac{1}{2}` vs `0.5`); list them for review.
    assert.ok(accepted.length <= 10, `suspicious acceptances: ${accepted.join("; ")}`);
  },
});

const gpqaPath = new URL("gpqa/gpqa_diamond.json", DATA);
let gpqa: { final_answer: string }[] | null = null;
try {
  gpqa = JSON.parse(Deno.readTextFileSync(gpqaPath));
} catch { /* absent */ }

Deno.test({
  name: "GPQA diamond: every gold letter accepts (X), X., \\text{X} and rejects other letters",
  ignore: !gpqa,
  fn() {
    const failures: string[] = [];
    for (const { final_answer: g } of gpqa!) {
      for (const r of [g, `(${g})`, `${g}.`, `\\text{${g}}`, `\\boxed{${g}}`, `(${g}) because`]) {
        if (!compareAnswers(r, g).equal) failures.push(`${g} vs ${r}`);
      }
      for (const other of "ABCD".replace(g, "")) {
        if (compareAnswers(`(${other})`, g).equal) failures.push(`${g} accepted ${other}`);
      }
    }
    assert.ok(gpqa!.length > 100);
    assert.deepEqual(failures, []);
  },
});
