/**
 * The acceptance check for safety: on the fuzz corpus, no reward call throws, none takes
 * 100 ms or more, and every verdict is well formed (a score in [0, 1], 0 or 1 where the
 * reward is binary; a boolean and a reason from `compareAnswers`). This is the only timing
 * assertion in the rewards suite. Limit paths and labelled verdicts: fail_closed_test.ts.
 */
import assert from "node:assert/strict";
import { compareAnswers, countdown, format, math } from "../../rewards/mod.ts";
import { fuzzCorpus } from "./fuzz_corpus.ts";

const LIMIT_MS = 100;

/** What a well-formed verdict is, per call: null when it is one, else what is wrong. */
function malformed(name: string, out: unknown): string | null {
  if (name.startsWith("equal")) {
    const v = out as { equal?: unknown; reason?: unknown };
    return typeof v?.equal === "boolean" && typeof v.reason === "string" && v.reason !== ""
      ? null
      : `verdict ${JSON.stringify(v)}`;
  }
  const r = out as { score?: unknown; details?: { reason?: unknown } };
  const s = r?.score;
  if (typeof s !== "number" || !(s >= 0 && s <= 1)) return `score ${s}`;
  // Every reward here runs with its defaults, which make it binary.
  if (s !== 0 && s !== 1) return `score ${s} with default options`;
  return typeof r.details?.reason === "string" ? null : "no reason";
}

Deno.test("fuzz: no crash, every call under 100 ms, every verdict in range", () => {
  const corpus = fuzzCorpus();
  const task = { target: 24, numbers: [4, 6, 8, 2] };
  const calls: [string, (s: string) => unknown][] = [
    ["math/orz", (s) => math({ response: s, gold: "42", finish: "stop" })],
    [
      "math/boxed",
      (s) => math({ response: s, gold: "x^2+1", finish: "stop" }, { extract: "boxed" }),
    ],
    ["math/auto", (s) => math({ response: s, gold: "(1,2)", finish: "stop" }, { extract: "auto" })],
    [
      "math/answer",
      (s) =>
        math({ response: `<answer>\\boxed{${s}}</answer>`, gold: s.slice(0, 300), finish: "stop" }),
    ],
    ["math/choice", (s) => math({ response: s, gold: "B", finish: "stop" }, { extract: "auto" })],
    [
      "math/lenient",
      (s) => math({ response: s, gold: "42", finish: "stop" }, { unclosedAnswer: "stop" }),
    ],
    [
      "math/prose gold",
      (s) => math({ response: "\\boxed{3}", gold: s, finish: "stop" }, { extract: "auto" }),
    ],
    ["equal/self", (s) => compareAnswers(s.slice(0, 600), s.slice(0, 600))],
    [
      "equal/rounded",
      (s) =>
        compareAnswers(s.slice(0, 600), "\\begin{pmatrix} \\frac13 & \\frac23 \\end{pmatrix}", {
          decimalRounding: "all",
        }),
    ],
    ["equal/expr", (s) => compareAnswers(s.slice(0, 600), "x^2+2x+1")],
    ["equal/gold", (s) => compareAnswers("\\{1,2\\}", s.slice(0, 2000))],
    [
      "countdown",
      (s) => countdown({ response: `<answer>${s}</answer>`, gold: task, finish: "stop" }),
    ],
    ["format", (s) => format({ response: s, gold: null, finish: "stop", prompt: s })],
  ];
  // Warm up once so that module compilation and JIT are not billed to the first input.
  for (const [, f] of calls) f("\\frac{1}{2} + x");

  const crashes: string[] = [];
  const bad: string[] = [];
  const accepted = new Map<string, number>();
  const times: number[] = [];
  let slowest = { ms: 0, what: "" };
  for (const [i, input] of corpus.entries()) {
    for (const [name, f] of calls) {
      const t = performance.now();
      try {
        const out = f(input);
        const why = malformed(name, out);
        if (why) bad.push(`${name} #${i}: ${why}`);
        const yes = name.startsWith("equal")
          ? (out as { equal: boolean }).equal
          : (out as { score: number }).score > 0;
        if (yes) accepted.set(name, (accepted.get(name) ?? 0) + 1);
      } catch (e) {
        crashes.push(`${name} #${i}: ${e}`);
      }
      const ms = performance.now() - t;
      times.push(ms);
      if (ms > slowest.ms) slowest = { ms, what: `${name} on #${i} (${input.length} chars)` };
    }
  }
  times.sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)];
  const total = times.reduce((a, b) => a + b, 0);
  console.log(
    `fuzz: ${corpus.length} inputs, ${times.length} calls, ${crashes.length} crashes, ` +
      `max ${slowest.ms.toFixed(1)} ms (${slowest.what}), p99 ${p99.toFixed(2)} ms, total ${
        (total / 1000).toFixed(1)
      } s`,
  );
  console.log(
    `fuzz verdicts: ${bad.length} malformed; accepted: ${
      [...accepted].map(([k, v]) => `${k} ${v}`).join(", ") || "none"
    }`,
  );
  assert.deepEqual(crashes, []);
  assert.deepEqual(bad, []);
  assert.ok(slowest.ms < LIMIT_MS, `slowest call ${slowest.ms.toFixed(1)} ms: ${slowest.what}`);
});
