/**
 * Seeded shuffling and the prompt stream: deterministic, a permutation per epoch, and a
 * stream restored from a saved state draws exactly what the uninterrupted one draws.
 */
import assert from "node:assert/strict";
import { type Problem, PromptStream, shuffle } from "../../data/mod.ts";
import { seededUniform } from "../../models/init.ts";

const problems: Problem[] = Array.from({ length: 23 }, (_, i) => ({
  id: `p:${i}`,
  question: `q${i}`,
  gold: `${i}`,
}));
const ids = (ps: Problem[]) => ps.map((p) => p.id);
const sorted = (xs: string[]) => [...xs].sort();

Deno.test("shuffle: a permutation, the same for a seed, different across seeds", () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const a = shuffle(items, 1);
  assert.deepEqual(a, shuffle(items, 1));
  assert.deepEqual([...a].sort((x, y) => x - y), items);
  assert.notDeepEqual(a, items);
  assert.notDeepEqual(a, shuffle(items, 2));
  assert.deepEqual(items, Array.from({ length: 50 }, (_, i) => i), "input untouched");
});

Deno.test("PromptStream: each epoch is a fresh permutation, draws span epochs", () => {
  const stream = new PromptStream(problems, 5);
  const e0 = ids(stream.next(23));
  assert.deepEqual(stream.state(), { epoch: 0, cursor: 23 });
  const e1 = ids(stream.next(23));
  assert.deepEqual(stream.state(), { epoch: 1, cursor: 23 });
  assert.deepEqual(sorted(e0), sorted(ids(problems)));
  assert.deepEqual(sorted(e1), sorted(ids(problems)));
  assert.notDeepEqual(e0, e1, "epochs are shuffled differently");

  // One long draw equals the epochs back to back.
  const long = new PromptStream(problems, 5).next(23 * 2 + 7);
  assert.deepEqual(ids(long).slice(0, 46), [...e0, ...e1]);
  assert.equal(long.length, 53);
  assert.notDeepEqual(ids(new PromptStream(problems, 6).next(23)), e0, "seed matters");
});

Deno.test("PromptStream: a restored stream continues with exactly the same draws", () => {
  const rand = seededUniform(11);
  for (let trial = 0; trial < 20; trial++) {
    const seed = Math.floor(rand() * 1e6);
    const sizes = Array.from({ length: 12 }, () => Math.floor(rand() * 30));
    const cut = Math.floor(rand() * sizes.length);

    const whole = new PromptStream(problems, seed);
    const expected = sizes.map((n) => ids(whole.next(n)));

    const first = new PromptStream(problems, seed);
    for (const n of sizes.slice(0, cut)) first.next(n);
    const saved = JSON.parse(JSON.stringify(first.state())); // as a checkpoint stores it
    const resumed = PromptStream.restore(problems, seed, saved);
    const inPlace = new PromptStream(problems, seed);
    inPlace.restore(saved);
    for (const [i, n] of sizes.entries()) {
      if (i < cut) continue;
      assert.deepEqual(ids(resumed.next(n)), expected[i], `trial ${trial}, draw ${i}`);
      assert.deepEqual(ids(inPlace.next(n)), expected[i], `trial ${trial}, draw ${i} (in place)`);
    }
  }
});

Deno.test("PromptStream: restoring at an epoch's end continues into the next epoch", () => {
  const whole = new PromptStream(problems, 3);
  whole.next(23);
  const after = ids(whole.next(5));
  const resumed = PromptStream.restore(problems, 3, { epoch: 0, cursor: 23 });
  assert.deepEqual(ids(resumed.next(5)), after);
  assert.deepEqual(resumed.state(), { epoch: 1, cursor: 5 });
});

Deno.test("PromptStream: bad inputs are errors", () => {
  assert.throws(() => new PromptStream([], 1), RangeError);
  assert.throws(() => PromptStream.restore(problems, 1, { epoch: 0, cursor: 24 }), RangeError);
  assert.throws(() => PromptStream.restore(problems, 1, { epoch: -1, cursor: 0 }), RangeError);
  assert.throws(() => new PromptStream(problems, 1).next(1.5), RangeError);
  assert.deepEqual(new PromptStream(problems, 1).next(0), []);
});
