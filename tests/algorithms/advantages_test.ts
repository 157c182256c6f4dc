/**
 * Advantages on the CPU (algorithms/advantages.ts) against float64 references written here:
 * GAE as the direct sum A_t = Σ_l (γλ)^l δ_{t+l} (not the backward recursion the code uses),
 * the normalisations over response tokens only (padding never enters), and GRPO's
 * group-relative outcome advantages.
 */
import {
  explainedVariance,
  gae,
  groupAdvantages,
  moments,
  normalizeAdvantages,
  type Ragged,
  tokenRewards,
} from "../../algorithms/advantages.ts";
import { Packed } from "../../algorithms/batch.ts";
import { assert, assertClose, f32round, freshSeed, randn, rng } from "../helpers.ts";

const TIGHT = { rtol: 1e-10, atol: 1e-12 };

/** GAE by its definition: δ_t = r_t + γ V_{t+1} − V_t (V_T = 0), A_t = Σ_l (γλ)^l δ_{t+l}. */
function refGae(r: ArrayLike<number>, v: ArrayLike<number>, gamma: number, lambda: number) {
  const n = r.length;
  const delta = Array.from(
    { length: n },
    (_, t) => r[t] + gamma * (t + 1 < n ? v[t + 1] : 0) - v[t],
  );
  const adv = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let s = 0;
    for (let l = 0; t + l < n; l++) s += (gamma * lambda) ** l * delta[t + l];
    adv[t] = s;
  }
  return { adv, ret: adv.map((a, t) => a + v[t]) };
}

/** Random ragged lengths in [lo, hi]. */
function lengthsOf(n: number, lo: number, hi: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

function ragged(lengths: number[], seed: number, scale = 1, shift = 0): Ragged {
  return lengths.map((n, i) => randn(n, seed + 31 * i, scale).map((x) => x + shift));
}

// ---------------------------------------------------------------------------------------
// GAE and token rewards

Deno.test("gae: γ = λ = 1 with only a terminal reward gives A_t = R − V_t and returns = R", () => {
  const seed = freshSeed();
  let worst = 0;
  for (const [k, n] of [1, 2, 5, 17, 40].entries()) {
    const R = randn(1, seed + k)[0] * 3;
    const rewards = new Float64Array(n);
    rewards[n - 1] = R;
    const values = randn(n, seed + 100 + k);
    const { advantages, returns } = gae(rewards, values, 1, 1);
    worst = Math.max(
      worst,
      assertClose(advantages, values.map((v) => R - v), { ...TIGHT, label: `A, n ${n}` }),
      assertClose(returns, new Float64Array(n).fill(R), { ...TIGHT, label: `returns, n ${n}` }),
    );
  }
  console.log(`gae γ=λ=1 terminal reward: max relative error ${worst.toExponential(2)}`);
});

Deno.test("gae: with zero values and γ = λ = 1 every token's advantage is R", () => {
  const seed = freshSeed();
  for (const n of [1, 3, 12, 33]) {
    const R = randn(1, seed + n)[0] + 0.5;
    const rewards = new Float64Array(n);
    rewards[n - 1] = R;
    const { advantages, returns } = gae(rewards, new Float64Array(n), 1, 1);
    assertClose(advantages, new Float64Array(n).fill(R), { ...TIGHT, label: `n ${n}` });
    assertClose(returns, new Float64Array(n).fill(R), { ...TIGHT, label: `n ${n}` });
  }
});

Deno.test("gae: random γ, λ ∈ (0, 1), ragged lengths 1…40 vs the direct sum", () => {
  const seed = freshSeed();
  const r = rng(seed);
  const lengths = [1, 40, ...lengthsOf(30, 1, 40, seed + 1)];
  let worst = 0;
  lengths.forEach((n, i) => {
    const gamma = 0.05 + 0.94 * r();
    const lambda = 0.05 + 0.94 * r();
    const rewards = randn(n, seed + 2 * i + 10);
    const values = randn(n, seed + 2 * i + 11);
    const { advantages, returns } = gae(rewards, values, gamma, lambda);
    const want = refGae(rewards, values, gamma, lambda);
    const label = `seed ${seed}, n ${n}, γ ${gamma}, λ ${lambda}`;
    worst = Math.max(
      worst,
      assertClose(advantages, want.adv, { ...TIGHT, label: `A ${label}` }),
      assertClose(returns, want.ret, { ...TIGHT, label: `returns ${label}` }),
    );
  });
  // The same with the edge values γ = 1 or λ = 1 (and λ = 0: one-step TD errors).
  for (const [gamma, lambda] of [[1, 0.9], [0.9, 1], [0.99, 0]]) {
    const rewards = randn(25, seed + 500);
    const values = randn(25, seed + 501);
    const want = refGae(rewards, values, gamma, lambda);
    const got = gae(rewards, values, gamma, lambda);
    worst = Math.max(worst, assertClose(got.advantages, want.adv, TIGHT));
    worst = Math.max(worst, assertClose(got.returns, want.ret, TIGHT));
  }
  console.log(`gae vs direct sum: max relative error ${worst.toExponential(2)}`);
});

Deno.test("gae: rejects rewards and values of different lengths", () => {
  assert.throws(() => gae(randn(4), randn(5), 0.9, 0.9), /4 rewards but 5 values/);
});

Deno.test("tokenRewards: the score on the last token plus the per-token terms", () => {
  const seed = freshSeed();
  for (const n of [1, 2, 9]) {
    const score = randn(1, seed + n)[0] + 2;
    const per = randn(n, seed + 50 + n, 0.1);
    const want = Float64Array.from(per);
    want[n - 1] += score;
    assertClose(tokenRewards(n, score, per), want, { ...TIGHT, label: `n ${n}` });
    const bare = new Float64Array(n);
    bare[n - 1] = score;
    assertClose(tokenRewards(n, score), bare, { ...TIGHT, label: `n ${n} without terms` });
  }
  assert.equal(tokenRewards(0, 1.5).length, 0);
  // Feeding them to GAE with γ = λ = 1 and zero values: A_0 = score + Σ per-token terms.
  const per = randn(6, seed + 99, 0.1);
  const { advantages } = gae(tokenRewards(6, 1, per), new Float64Array(6), 1, 1);
  assertClose([advantages[0]], [1 + per.reduce((a, b) => a + b, 0)], TIGHT);
});

// ---------------------------------------------------------------------------------------
// Statistics and normalisations

/** float64 reference statistics over every entry of `xs`: mean and population variance. */
function stats(xs: ArrayLike<number>[]): { mean: number; varPop: number; count: number } {
  const all = xs.flatMap((x) => Array.from(x));
  const count = all.length;
  const mean = all.reduce((a, b) => a + b, 0) / count;
  const varPop = all.reduce((a, b) => a + (b - mean) * (b - mean), 0) / count;
  return { mean, varPop, count };
}

/** Reference normalisations, over the response tokens in `adv`. */
function refNormalize(adv: Ragged, groups: number[], mode: string, eps: number): Ragged {
  if (mode === "none") return adv.map((a) => Float64Array.from(a));
  if (mode === "batch") {
    const { mean, varPop, count } = stats(adv);
    if (count < 2) return adv.map((a) => Float64Array.from(a));
    return adv.map((a) => a.map((x) => (x - mean) / Math.sqrt(Math.max(varPop, eps))));
  }
  return adv.map((a, i) => {
    const { mean, varPop } = stats(adv.filter((_, k) => groups[k] === groups[i]));
    return a.map((x) => mode === "group" ? x - mean : (x - mean) / (Math.sqrt(varPop) + eps));
  });
}

function checkRagged(got: Ragged, want: Ragged, label: string, opts = TIGHT): number {
  assert.equal(got.length, want.length, label);
  return Math.max(
    0,
    ...got.map((g, i) => assertClose(g, want[i], { ...opts, label: `${label} [${i}]` })),
  );
}

Deno.test("moments: mean and population std over every entry", () => {
  const seed = freshSeed();
  const xs = ragged(lengthsOf(7, 0, 12, seed), seed + 1, 2, 0.7);
  const { mean, varPop, count } = stats(xs);
  const m = moments(xs);
  assert.equal(m.count, count);
  assertClose([m.mean, m.std], [mean, Math.sqrt(varPop)], TIGHT);
  assert.deepEqual(moments([]), { mean: 0, std: 0, count: 0 });
});

const MODES = ["batch", "group", "group_std", "none"] as const;

Deno.test("normalizeAdvantages: batch, group, group_std, none vs float64 references", () => {
  let worst = 0;
  for (let trial = 0; trial < 6; trial++) {
    const seed = freshSeed();
    const n = 12;
    const lengths = lengthsOf(n, 1, 20, seed);
    // Interleaved prompt groups of unequal sizes; each group's advantages shifted differently
    // so that the group means differ from the batch mean.
    const groups = Array.from({ length: n }, (_, i) => [3, 0, 1, 0, 3, 2, 1, 0, 3, 1, 2, 0][i]);
    const adv = lengths.map((l, i) =>
      randn(l, seed + 7 * i, 1 + groups[i]).map((x) => x + 2 * groups[i] - 1.5)
    );
    const before = adv.map((a) => Float64Array.from(a));
    for (const mode of MODES) {
      const eps = 1e-6;
      const got = normalizeAdvantages(adv, groups, mode, eps);
      worst = Math.max(worst, checkRagged(got, refNormalize(adv, groups, mode, eps), mode));
      got.forEach((g, i) => assert.notEqual(g, adv[i], `${mode} returns copies`));
    }
    checkRagged(adv, before, "inputs unchanged", { rtol: 0, atol: 0 });
    // The group statistics are token-weighted: a mean of per-sequence means differs.
    const g = normalizeAdvantages(adv, groups, "group", 0);
    const tokens = g.filter((_, i) => groups[i] === 0).flatMap((a) => Array.from(a));
    assertClose([tokens.reduce((a, b) => a + b, 0)], [0], { rtol: 0, atol: 1e-9 });
    // Whitened by batch: zero mean and unit population variance over every token.
    const w = stats(normalizeAdvantages(adv, groups, "batch", 1e-12));
    assertClose([w.mean, w.varPop], [0, 1], { rtol: 1e-9, atol: 1e-9 });
  }
  console.log(`normalizeAdvantages vs reference: max relative error ${worst.toExponential(2)}`);
});

Deno.test("normalizeAdvantages: batch floors the variance at eps (ORZ's formula)", () => {
  const seed = freshSeed();
  // var ≈ 1e-8 ≪ eps = 1e-4: the result is (A − mean) / √eps = (A − mean) · 100.
  const adv = ragged([5, 9, 3], seed, 1e-4, 0.3);
  const { mean, varPop } = stats(adv);
  assert.ok(varPop < 1e-6);
  const got = normalizeAdvantages(adv, [0, 0, 1], "batch", 1e-4);
  checkRagged(got, adv.map((a) => a.map((x) => (x - mean) * 100)), "floored", {
    rtol: 1e-9,
    atol: 1e-12,
  });
  // group_std adds eps to the std instead: (A − mean) / (std + eps).
  const gs = normalizeAdvantages(adv, [0, 0, 0], "group_std", 1e-4);
  const denom = Math.sqrt(varPop) + 1e-4;
  checkRagged(gs, adv.map((a) => a.map((x) => (x - mean) / denom)), "group_std", TIGHT);
});

Deno.test("normalizeAdvantages: a step with fewer than 2 tokens is not whitened", () => {
  const x = randn(1, freshSeed())[0] + 3;
  const one = normalizeAdvantages([new Float64Array([x])], [0], "batch", 1e-8);
  assertClose(one[0], [x], { rtol: 0, atol: 0 });
  const withEmpty = normalizeAdvantages(
    [new Float64Array(0), new Float64Array([x])],
    [0, 1],
    "batch",
    1e-8,
  );
  assert.equal(withEmpty[0].length, 0);
  assertClose(withEmpty[1], [x], { rtol: 0, atol: 0 });
  assert.deepEqual(normalizeAdvantages([], [], "batch", 1e-8), []);
  // Two tokens are whitened: ±1.
  const two = normalizeAdvantages([new Float64Array([x, x + 2])], [0], "batch", 1e-8);
  assertClose(two[0], [-1, 1], TIGHT);
  assert.throws(() => normalizeAdvantages([new Float64Array(2)], [0, 1], "batch", 1e-8));
});

Deno.test("normalizeAdvantages: padding never enters (pack, spread over garbage, gather)", () => {
  let worst = 0;
  for (let trial = 0; trial < 4; trial++) {
    const seed = freshSeed();
    const r = rng(seed);
    const n = 9;
    const lengths = lengthsOf(n, 1, 15, seed);
    const groups = Array.from({ length: n }, (_, i) => i % 3);
    const pairs = lengths.map((l) => ({
      prompt: Array.from({ length: 1 + Math.floor(r() * 6) }, () => 1 + Math.floor(r() * 9)),
      response: Array.from({ length: l }, () => 1 + Math.floor(r() * 9)),
    }));
    const packed = new Packed(pairs);
    const adv = ragged(lengths, seed + 3, 1.5, 0.4);
    // The flat [B·T] array: 1e6 everywhere, then each response token at b·T + p + j − 1.
    const flat = new Float64Array(packed.B * packed.T).fill(1e6);
    const mask = new Uint8Array(flat.length);
    const spread = packed.spread(adv);
    pairs.forEach((s, b) =>
      s.response.forEach((_, j) => {
        const i = b * packed.T + s.prompt.length + j - 1;
        flat[i] = spread[i];
        mask[i] = 1;
      })
    );
    assert.ok(mask.includes(0), "the batch has padding");
    const gathered = packed.gather(flat);
    const seen = adv.map((a) => f32round(a)); // what the flat (f32) array carries
    for (const mode of MODES) {
      const got = normalizeAdvantages(gathered, groups, mode, 1e-6);
      worst = Math.max(
        worst,
        checkRagged(got, refNormalize(seen, groups, mode, 1e-6), `${mode} (seed ${seed})`),
      );
      // The same statistic straight from the flat array, over its masked (response) entries.
      if (mode === "batch") {
        const real = Array.from(flat).filter((_, i) => mask[i]);
        const { mean, varPop } = stats([real]);
        const inv = 1 / Math.sqrt(Math.max(varPop, 1e-6));
        const want = flat.map((x, i) => (mask[i] ? (x - mean) * inv : 0));
        const gotFlat = new Float64Array(flat.length);
        got.forEach((g, b) => g.forEach((x, j) => (gotFlat[packed.offsets[b] + j] = x)));
        worst = Math.max(
          worst,
          assertClose(gotFlat, want, { ...TIGHT, label: "batch over the mask" }),
        );
      }
    }
  }
  console.log(
    `normalisations through packing with 1e6 pads: max relative error ${worst.toExponential(2)}`,
  );
});

// ---------------------------------------------------------------------------------------
// GRPO outcome advantages

Deno.test("groupAdvantages: (R − mean_g) / (std_g + eps) with the unbiased std, or R − mean_g", () => {
  let worst = 0;
  for (let trial = 0; trial < 5; trial++) {
    const seed = freshSeed();
    const n = 14;
    // Groups of sizes 5, 4, 3, 1 (a singleton) and 1, interleaved.
    const groups = [0, 1, 2, 0, 1, 3, 0, 2, 1, 0, 4, 2, 1, 0];
    const scores = Array.from(randn(n, seed, 1.3));
    const lengths = lengthsOf(n, 1, 11, seed + 1);
    const eps = 1e-6;
    for (const mode of ["group", "group_std"] as const) {
      const got = groupAdvantages(scores, groups, lengths, mode, eps);
      assert.equal(got.length, n);
      const want = lengths.map((l, i) => {
        const peers = scores.filter((_, k) => groups[k] === groups[i]);
        const m = peers.length;
        const mean = peers.reduce((a, b) => a + b, 0) / m;
        const std = m > 1 ? Math.sqrt(peers.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1)) : 0;
        const a = mode === "group_std" ? (scores[i] - mean) / (std + eps) : scores[i] - mean;
        return new Float64Array(l).fill(a);
      });
      worst = Math.max(worst, checkRagged(got, want, `${mode} (seed ${seed})`));
      // A group of one gets 0 in both modes.
      [5, 10].forEach((i) => assert.ok(got[i].every((x) => x === 0), `${mode}: singleton ${i}`));
    }
  }
  // Two scores 0 and 1: unbiased std = 1/√2, so the advantages are ∓1/√2 (not ∓1).
  const two = groupAdvantages([0, 1], [7, 7], [2, 3], "group_std", 0);
  checkRagged(two, [
    new Float64Array(2).fill(-Math.SQRT1_2),
    new Float64Array(3).fill(Math.SQRT1_2),
  ], "0/1");
  // A group with identical scores: 0, not NaN.
  const same = groupAdvantages([0.5, 0.5, 0.5], [1, 1, 1], [1, 2, 3], "group_std", 1e-6);
  assert.ok(same.every((a) => a.every((x) => x === 0)));
  console.log(`groupAdvantages vs reference: max relative error ${worst.toExponential(2)}`);
});

Deno.test("explainedVariance: 1 − Var(R − V) / Var(R); 1 for perfect values, NaN for constant R", () => {
  const seed = freshSeed();
  const lengths = lengthsOf(6, 1, 10, seed);
  const returns = ragged(lengths, seed + 1, 2, 0.5);
  const noise = ragged(lengths, seed + 9, 0.3);
  const values = returns.map((r, i) => r.map((x, t) => 0.8 * x + noise[i][t]));
  const diff = returns.map((r, i) => r.map((x, t) => x - values[i][t]));
  const want = 1 - stats(diff).varPop / stats(returns).varPop;
  assertClose([explainedVariance(values, returns)], [want], TIGHT);
  assertClose([explainedVariance(returns, returns)], [1], TIGHT);
  assert.ok(
    Number.isNaN(explainedVariance(values, lengths.map((l) => new Float64Array(l).fill(2)))),
  );
});
