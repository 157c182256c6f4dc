/**
 * Synthetic tasks: golds recomputed independently from the question, traces consistent
 * step by step, difficulty respected, train and held-out never sharing a question across
 * seeds, and the alphabet covering every prompt and response.
 */
import assert from "node:assert/strict";
import {
  formatResponse,
  orzPrompt,
  splitOf,
  syntheticAlphabet,
  type SyntheticOptions,
  type SyntheticProblem,
  syntheticProblems,
  type SyntheticTaskName,
  tasks,
} from "../../data/mod.ts";

/** Independent parity: the question's bits, their XOR, and the expected running trace. */
function checkParity(p: SyntheticProblem) {
  const m = /^parity ([01]( [01])*)$/.exec(p.question);
  assert.ok(m, p.question);
  const bits = m[1].split(" ").map(Number);
  assert.equal(p.gold, String(bits.reduce((a, b) => a ^ b, 0)), p.question);
  assert.equal(p.meta.difficulty, bits.length);
  const steps = p.meta.worked.split(" ");
  assert.equal(steps.length, bits.length);
  let running = 0;
  for (const [i, step] of steps.entries()) {
    const [bit, after] = step.split(">");
    assert.equal(Number(bit), bits[i], `${p.question}: step ${i} reads bit ${i}`);
    running = (running + bits[i]) % 2;
    assert.equal(Number(after), running, `${p.question}: step ${i}`);
  }
  assert.equal(String(running), p.gold);
}

/** Independent chain mod 3: evaluate the expression; check each `a±t=r` step. */
function checkChain(p: SyntheticProblem) {
  const m = /^chain_mod3 ([012](?:[+-][012])+)$/.exec(p.question);
  assert.ok(m, p.question);
  const expr = m[1];
  const ops = [...expr.matchAll(/([+-])([012])/g)].map(([, op, t]) => ({ op, t: Number(t) }));
  let value = Number(expr[0]);
  const steps = p.meta.worked.split(" ");
  assert.equal(steps.length, ops.length);
  assert.equal(p.meta.difficulty, ops.length);
  for (const [i, { op, t }] of ops.entries()) {
    const next = ((op === "+" ? value + t : value - t) % 3 + 3) % 3;
    assert.equal(steps[i], `${value}${op}${t}=${next}`, `${p.question}: step ${i}`);
    value = next;
  }
  assert.equal(p.gold, String(value));
}

const CHECKS: Record<SyntheticTaskName, (p: SyntheticProblem) => void> = {
  parity: checkParity,
  chain_mod3: checkChain,
};
const NAMES = Object.keys(tasks) as SyntheticTaskName[];

Deno.test("synthetic: golds, traces and difficulties are right", () => {
  for (const task of NAMES) {
    for (const split of ["train", "heldout"] as const) {
      const opts: SyntheticOptions = { split, difficulty: [2, 12], count: 300, seed: 4 };
      const problems = syntheticProblems(task, opts);
      assert.equal(problems.length, 300);
      for (const p of problems) {
        CHECKS[task](p);
        assert.ok(p.meta.difficulty >= 2 && p.meta.difficulty <= 12, `${p.question}`);
        assert.equal(p.meta.direct, p.gold);
        assert.match(p.gold, /^[0-9]$/);
        assert.equal(p.meta.split, split);
        assert.equal(p.meta.task, task);
      }
      const seen = new Set(problems.map((p) => p.meta.difficulty));
      assert.equal(seen.size, 11, `${task} ${split}: every difficulty in range occurs`);
    }
  }
});

Deno.test("synthetic: train and held-out never share a question, whatever the seeds", () => {
  for (const task of NAMES) {
    const train = new Set<string>();
    const heldout = new Set<string>();
    for (let seed = 0; seed < 25; seed++) {
      // Small spaces, so the seeds' draws overlap heavily and a leak would show.
      const difficulty: [number, number] = task === "parity" ? [1, 10] : [1, 4];
      const base = { difficulty, count: 200, seed };
      for (const p of syntheticProblems(task, { ...base, split: "train" })) train.add(p.question);
      for (const p of syntheticProblems(task, { ...base, split: "heldout" })) {
        heldout.add(p.question);
      }
    }
    const shared = [...heldout].filter((q) => train.has(q));
    assert.deepEqual(shared, [], `${task}: questions in both splits`);
    assert.ok(heldout.size > 300 && train.size > 2 * heldout.size, `${task}: ${heldout.size}`);
    for (const q of heldout) assert.equal(splitOf(q), "heldout");
    for (const q of train) assert.equal(splitOf(q), "train");
  }
});

Deno.test("synthetic: held-out is distinct and stops when exhausted; train repeats", () => {
  // Every parity question of 1..4 bits, and which of them the hash holds out.
  const all: string[] = [];
  for (let n = 1; n <= 4; n++) {
    for (let x = 0; x < 2 ** n; x++) {
      all.push(`parity ${x.toString(2).padStart(n, "0").split("").join(" ")}`);
    }
  }
  const held = all.filter((q) => splitOf(q) === "heldout");
  const opts = { difficulty: [1, 4] as [number, number], count: 100, seed: 9 };
  const heldout = syntheticProblems("parity", { ...opts, split: "heldout" });
  assert.deepEqual(heldout.map((p) => p.question).sort(), [...held].sort());

  const train = syntheticProblems("parity", { ...opts, split: "train" });
  assert.equal(train.length, 100);
  const distinct = new Set(train.map((p) => p.question));
  assert.equal(distinct.size, all.length - held.length, "every train question, then repeats");
  assert.equal(new Set(train.map((p) => p.id)).size, 100, "ids stay unique");

  // A large space gives distinct train problems.
  const big = syntheticProblems("chain_mod3", {
    split: "train",
    difficulty: [6, 9],
    count: 2000,
    seed: 1,
  });
  assert.equal(new Set(big.map((p) => p.question)).size, 2000);
});

Deno.test("synthetic: the same options give the same problems; seeds differ", () => {
  const opts: SyntheticOptions = { split: "train", difficulty: [3, 7], count: 50, seed: 21 };
  assert.deepEqual(syntheticProblems("chain_mod3", opts), syntheticProblems("chain_mod3", opts));
  const other = syntheticProblems("chain_mod3", { ...opts, seed: 22 });
  assert.notDeepEqual(other, syntheticProblems("chain_mod3", opts));
});

Deno.test("synthetic: responses in the ORZ answer format", () => {
  const p = syntheticProblems("parity", { split: "train", difficulty: [2, 6], count: 64, seed: 1 });
  // The values in data/mod.ts's example.
  assert.equal(p[0].question, "parity 0 0 1");
  assert.equal(formatResponse(p[0], "worked"), " 0>0 0>0 1>1 </think> <answer>1</answer>");
  assert.equal(formatResponse(p[0], "direct"), " </think> <answer>1</answer>");
  const instance = tasks.chain_mod3.build([2, 0, 1, 1, 2]); // 2+1-2
  assert.equal(instance.question, "chain_mod3 2+1-2");
  assert.equal(formatResponse(instance, "worked"), " 2+1=0 0-2=1 </think> <answer>1</answer>");
  assert.equal(tasks.parity.build([1, 0, 1, 1]).worked, "1>1 0>1 1>0 1>1");
});

Deno.test("synthetic: the alphabet covers every prompt, response and answer", () => {
  for (const task of NAMES) {
    const alphabet = syntheticAlphabet(task);
    assert.equal(alphabet, [...new Set(alphabet)].sort().join(""), "sorted and unique");
    const chars = new Set(alphabet);
    for (const split of ["train", "heldout"] as const) {
      for (
        const p of syntheticProblems(task, { split, difficulty: [1, 12], count: 300, seed: 2 })
      ) {
        const texts = [
          orzPrompt(p.question, { style: "full" }),
          orzPrompt(p.question, { style: "short" }),
          formatResponse(p, "worked"),
          formatResponse(p, "direct"),
        ];
        for (const text of texts) {
          for (const ch of text) assert.ok(chars.has(ch), `${task}: ${JSON.stringify(ch)} missing`);
        }
      }
    }
  }
});

Deno.test("synthetic: bad options are errors", () => {
  const ok: SyntheticOptions = { split: "train", difficulty: [1, 3], count: 5, seed: 1 };
  assert.throws(() => syntheticProblems("parity", { ...ok, difficulty: [0, 3] }), RangeError);
  assert.throws(() => syntheticProblems("parity", { ...ok, difficulty: [4, 3] }), RangeError);
  assert.throws(() => syntheticProblems("parity", { ...ok, difficulty: [1, 2.5] }), RangeError);
  assert.throws(() => syntheticProblems("parity", { ...ok, count: -1 }), RangeError);
  assert.throws(() => syntheticProblems("nope" as SyntheticTaskName, ok), /unknown task/);
  assert.deepEqual(syntheticProblems("parity", { ...ok, count: 0 }), []);
});
