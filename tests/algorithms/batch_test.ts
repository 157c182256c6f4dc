/**
 * Packing trajectories (algorithms/batch.ts): the layout of prompt + response right-padded
 * to T = max(p + r) − 1, where response token j of sequence b is predicted at flat index
 * b·T + p_b + j − 1. Every expectation is written out here from that rule, not read back
 * from Packed.
 */
import { chunks, Packed, slices, type TokenPair } from "../../algorithms/batch.ts";
import { assert, assertClose, download, f32round, freshSeed, gpuReady, rng } from "../helpers.ts";

await gpuReady;

/** Random trajectories: prompts of 1…maxPrompt tokens, responses of minResp…maxResp (ids ≥ 1). */
function randomPairs(
  n: number,
  seed: number,
  { maxPrompt = 6, minResp = 1, maxResp = 9 } = {},
): TokenPair[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  return Array.from({ length: n }, () => ({
    prompt: Array.from({ length: int(1, maxPrompt) }, () => int(1, 50)),
    response: Array.from({ length: int(minResp, maxResp) }, () => int(1, 50)),
  }));
}

/** The flat index where response token j of sequence b is scored. */
const slot = (T: number, b: number, p: number, j: number) => b * T + p + j - 1;

Deno.test("Packed: T, ids, positions, targets and offsets follow the layout rule", () => {
  for (let trial = 0; trial < 20; trial++) {
    const seed = freshSeed();
    const seqs = randomPairs(1 + (trial % 7), seed);
    const p = new Packed(seqs);
    const T = Math.max(...seqs.map((s) => s.prompt.length + s.response.length)) - 1;
    const msg = `seed ${seed}`;
    assert.equal(p.B, seqs.length, msg);
    assert.equal(p.T, T, msg);
    assert.equal(p.ids.length, seqs.length * T, msg);
    assert.deepEqual(p.lengths, seqs.map((s) => s.response.length), msg);
    assert.equal(p.tokens, seqs.reduce((a, s) => a + s.response.length, 0), msg);
    seqs.forEach((s, b) => {
      const all = [...s.prompt, ...s.response];
      const L = all.length;
      const P = s.prompt.length;
      assert.equal(p.offsets[b], b * T + P - 1, `${msg}: offset of ${b}`);
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        // The forward reads the first L − 1 tokens; position t predicts token t + 1.
        assert.equal(p.ids[i], t < L - 1 ? all[t] : 0, `${msg}: ids[${b}, ${t}]`);
        assert.equal(p.positions[i], t, `${msg}: positions[${b}, ${t}]`);
        const predictsResponse = t + 1 >= P && t + 1 < L;
        assert.equal(p.targets[i], predictsResponse ? all[t + 1] : -1, `${msg}: target ${b},${t}`);
      }
      s.response.forEach((tok, j) => assert.equal(p.targets[slot(T, b, P, j)], tok, msg));
    });
    // Exactly one target per response token, −1 everywhere else.
    assert.equal(p.targets.filter((x) => x !== -1).length, p.tokens, msg);
  }
});

Deno.test("Packed: hand-written example", () => {
  const p = new Packed([
    { prompt: [7, 8], response: [9, 10, 11] }, // L = 5: the longest, T = 4
    { prompt: [3], response: [4] }, //             L = 2
    { prompt: [1, 2, 3], response: [] }, //        no response: nothing scored
  ]);
  assert.equal(p.T, 4);
  assert.deepEqual(Array.from(p.ids), [7, 8, 9, 10, 3, 0, 0, 0, 1, 2, 0, 0]);
  assert.deepEqual(Array.from(p.positions), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(p.targets), [-1, 9, 10, 11, 4, -1, -1, -1, -1, -1, -1, -1]);
  assert.deepEqual(p.offsets, [1, 4, 10]);
  assert.deepEqual(p.lengths, [3, 1, 0]);
  assert.equal(p.tokens, 4);
  assert.deepEqual(Array.from(p.spread([[0.5, 1.5, 2.5], [-1], []])), [
    0,
    0.5,
    1.5,
    2.5,
    -1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.deepEqual(p.gather([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).map((a) => Array.from(a)), [
    [1, 2, 3],
    [4],
    [],
  ]);
});

Deno.test("Packed: spread puts values at b·T + p + j − 1 (zeros elsewhere); gather inverts it", () => {
  let worst = 0;
  for (let trial = 0; trial < 10; trial++) {
    const seed = freshSeed();
    const seqs = randomPairs(2 + (trial % 5), seed);
    const p = new Packed(seqs);
    const r = rng(seed + 1);
    const vals = seqs.map((s) => Float64Array.from(s.response, () => r() * 4 - 2 + 1e-3));
    const flat = p.spread(vals);
    assert.ok(flat instanceof Float32Array);
    assert.equal(flat.length, p.B * p.T);
    const expected = new Float64Array(p.B * p.T);
    seqs.forEach((s, b) =>
      vals[b].forEach((v, j) => (expected[slot(p.T, b, s.prompt.length, j)] = v))
    );
    worst = Math.max(worst, assertClose(flat, f32round(expected), { rtol: 0, atol: 0 }));
    const back = p.gather(flat);
    assert.equal(back.length, seqs.length);
    back.forEach((g, b) => {
      assert.ok(g instanceof Float64Array);
      assertClose(g, f32round(vals[b]), { rtol: 0, atol: 0, label: `seed ${seed} seq ${b}` });
    });
    // gather reads only response slots: garbage at every other position changes nothing.
    const dirty = Float64Array.from(flat);
    for (let i = 0; i < dirty.length; i++) if (p.targets[i] === -1) dirty[i] = 1e6;
    p.gather(dirty).forEach((g, b) => assertClose(g, f32round(vals[b]), { rtol: 0, atol: 0 }));

    const scalars = seqs.map(() => r() + 0.25);
    const sc = p.spreadScalar(scalars);
    const want = new Float64Array(p.B * p.T);
    seqs.forEach((s, b) =>
      s.response.forEach((_, j) => (want[slot(p.T, b, s.prompt.length, j)] = scalars[b]))
    );
    assertClose(sc, f32round(want), { rtol: 0, atol: 0, label: "spreadScalar" });
  }
  console.log(`Packed spread/gather round trip: max relative error ${worst.toExponential(2)}`);
});

Deno.test("Packed: errors on a length mismatch, no sequences, or an empty prompt", () => {
  const p = new Packed([{ prompt: [1, 2], response: [3, 4, 5] }, { prompt: [6], response: [7] }]);
  assert.throws(() => p.spread([[1, 2], [1]]), /sequence 0 has 2 values for 3 tokens/);
  assert.throws(() => p.spread([[1, 2, 3], [1, 2]]), /sequence 1 has 2 values for 1 tokens/);
  assert.throws(() => p.spread([[1, 2, 3], [1], [1]]));
  assert.throws(() => p.spreadScalar([1, 2, 3]));
  assert.throws(() => new Packed([]), /no sequences/);
  assert.throws(() => new Packed([{ prompt: [], response: [1, 2] }]), /empty prompt/);
});

Deno.test("Packed: batch() and targetTensor() upload the layout", async () => {
  const seqs = randomPairs(4, freshSeed());
  const p = new Packed(seqs);
  const { ids, positions, idsCpu } = p.batch();
  const targets = p.targetTensor();
  assert.deepEqual(ids.shape, [p.B, p.T]);
  assert.deepEqual(positions.shape, [p.B, p.T]);
  assert.deepEqual(targets.shape, [p.B * p.T]);
  assert.equal(ids.dtype, "i32");
  assert.equal(targets.dtype, "i32");
  assert.equal(idsCpu, p.ids);
  assert.deepEqual(Array.from(await download(ids)), Array.from(p.ids));
  assert.deepEqual(Array.from(await download(positions)), Array.from(p.positions));
  assert.deepEqual(Array.from(await download(targets)), Array.from(p.targets));
  for (const t of [ids, positions, targets]) t.dispose();
});

Deno.test("chunks and slices: contiguous, in order, covering, near-equal", () => {
  for (const n of [1, 2, 5, 7, 10, 13]) {
    const items = Array.from({ length: n }, (_, i) => i * 10);
    for (const parts of [1, 2, 3, 4, 16]) {
      const cs = chunks(items, parts);
      assert.deepEqual(cs.flat(), items, `chunks(${n}, ${parts})`);
      assert.equal(cs.length, Math.min(n, parts));
      const sizes = cs.map((c) => c.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
      assert.ok(sizes.every((s) => s > 0));
    }
    for (const size of [1, 2, 3, 8]) {
      const ss = slices(items, size);
      assert.deepEqual(ss.flat(), items);
      assert.equal(ss.length, Math.ceil(n / size));
      ss.slice(0, -1).forEach((s) => assert.equal(s.length, size));
    }
  }
});
