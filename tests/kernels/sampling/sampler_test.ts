import {
  mulhi32,
  philox4x32,
  philoxBitsCpu,
  randomBits,
  randomUniform,
  u01,
} from "../../../kernels/sampling/rng.ts";
import { sample, type SampleOptions } from "../../../kernels/sampling/sampler.ts";
import { readAll, type Tensor } from "../../../kernels/core/tensor.ts";
import { assert, bothReadPaths, freshSeed, gpuReady, randn, rng, upload } from "../../helpers.ts";

await gpuReady;

// ---------------------------------------------------------------------------------------
// Philox

bothReadPaths(
  "rng: Philox-4x32-10 matches Random123's known answers; GPU == CPU bit for bit",
  async () => {
    const kat: [number[], number[], number[]][] = [
      [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
      [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [
        0x408f276d,
        0x41c83b0e,
        0xa20bc7c6,
        0x6d5451fd,
      ]],
      [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [
        0xd16cfe09,
        0x94fdcceb,
        0x5001e420,
        0x24126ea1,
      ]],
    ];
    for (const [ctr, key, want] of kat) assert.deepEqual([...philox4x32(ctr, key)], want);
    const r = rng(freshSeed());
    for (let i = 0; i < 2000; i++) {
      const a = Math.floor(r() * 2 ** 32), b = Math.floor(r() * 2 ** 32);
      assert.equal(mulhi32(a, b), Number((BigInt(a) * BigInt(b)) >> 32n), `mulhi(${a}, ${b})`);
    }
    const n = 40_003; // 10,001 counters, the last one partial
    for (
      const c of [{ seed: 0 }, { seed: 2 ** 40 + 7, stream: 3, step: 0xfffffff0 }, {
        seed: 99,
        stream: 1,
        step: 5,
        domain: 1,
      }]
    ) {
      const bits = randomBits(n, c);
      const uni = randomUniform(n, c);
      const [gb, gu] = await readAll([bits, uni]);
      const want = philoxBitsCpu(n, c);
      assert.deepEqual(gb as Uint32Array, want, `GPU bits differ for ${JSON.stringify(c)}`);
      const wantU = Float32Array.from(want, u01);
      assert.deepEqual(gu as Float32Array, wantU, "GPU uniforms differ");
      const mean = wantU.reduce((a, b) => a + b, 0) / n;
      assert.ok(
        Math.abs(mean - 0.5) < 0.01 && Math.min(...wantU) >= 0 && Math.max(...wantU) < 1,
        `mean ${mean}`,
      );
      bits.dispose();
      uni.dispose();
    }
  },
);

// ---------------------------------------------------------------------------------------
// float64 reference of the sampling distribution

interface Ref {
  /** Probability of each token under the filtered distribution actually sampled. */
  probs: Float64Array;
  /** log softmax(x / T) (T = 1 when greedy at temperature 0). */
  plain: Float64Array;
  greedy: boolean;
  argmax: number;
  /** Relative distance of the top-p goal from the nearest achievable cumulative mass. */
  pMargin: number;
}

/** Indices of `x` by decreasing value (ties by id). */
function descending(x: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b] - x[a] || a - b);
}

function reference(
  x: ArrayLike<number>,
  o: Omit<SampleOptions, "seed" | "step">,
  order = descending(x),
): Ref {
  const V = x.length;
  const T = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  const topP = o.topP ?? 1;
  const greedy = T === 0 || topK === 1;
  const z = Float64Array.from(x, (v) => v / (T === 0 ? 1 : T));
  const argmax = order[0];
  const M = z[argmax];
  const e = z.map((v) => Math.exp(v - M));
  const S = e.reduce((a, b) => a + b, 0);
  const plain = z.map((v) => v - M - Math.log(S));
  // Thresholds on values, walking `order` (z has the same order as x): ties stay together.
  let kept = greedy ? 1 : V;
  if (!greedy && topK > 1 && topK < V) {
    kept = topK;
    while (kept < V && z[order[kept]] === z[order[topK - 1]]) kept++;
  }
  let pMargin = Infinity;
  if (!greedy && topP < 1) {
    let kmass = 0;
    for (let i = 0; i < kept; i++) kmass += e[order[i]];
    const goal = topP * kmass;
    let cum = 0;
    for (let i = 0; i < kept;) {
      let j = i;
      while (j < kept && z[order[j]] === z[order[i]]) cum += e[order[j++]];
      pMargin = Math.min(pMargin, Math.abs(cum - goal) / goal);
      i = j;
      if (cum >= goal) {
        kept = j;
        break;
      }
    }
  }
  let mass = 0;
  for (let i = 0; i < kept; i++) mass += e[order[i]];
  const probs = new Float64Array(V);
  for (let i = 0; i < kept; i++) probs[order[i]] = e[order[i]] / mass;
  return { probs, plain, greedy, argmax, pMargin };
}

function maxOf(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]);
  return m;
}

/** Upper 1e-6 tail of χ² with `dof` degrees of freedom (Wilson–Hilferty). */
function chiSquareBound(dof: number): number {
  const zq = 4.75;
  const a = 2 / (9 * dof);
  return dof * (1 - a + zq * Math.sqrt(a)) ** 3;
}

async function run(logits: Tensor, o: SampleOptions) {
  const r = sample(logits, o);
  const [tokens, lp, slp] = await readAll([r.tokens, r.logprobs, r.sampleLogprobs]);
  for (const t of [r.tokens, r.logprobs, r.sampleLogprobs]) t.dispose();
  return {
    tokens: tokens as Int32Array,
    logprobs: lp as Float32Array,
    sampleLogprobs: slp as Float32Array,
  };
}

/** Check each row's token is allowed and both logprobs against float64; returns max abs error. */
function checkRows(
  x: Float64Array,
  V: number,
  o: SampleOptions,
  got: Awaited<ReturnType<typeof run>>,
  orders?: Int32Array[],
): number {
  let worst = 0;
  for (let r = 0; r < got.tokens.length; r++) {
    const row = x.subarray(r * V, (r + 1) * V);
    const ref = reference(row, o, orders?.[r] ?? descending(row));
    const t = got.tokens[r];
    assert.ok(
      t >= 0 && t < V && ref.probs[t] > 0,
      `row ${r}: token ${t} is outside the kept set (${JSON.stringify(o)})`,
    );
    if (ref.greedy) assert.equal(t, ref.argmax, `row ${r}: greedy token`);
    const wantS = Math.log(ref.probs[t]);
    // fp32: logits are O(10); z − M − log S carries ~1e-6 relative error of each term.
    const err = Math.max(
      Math.abs(got.logprobs[r] - ref.plain[t]),
      Math.abs(got.sampleLogprobs[r] - wantS),
    );
    assert.ok(
      err < 1e-4 + 1e-5 * Math.abs(ref.plain[t]),
      `row ${r}: logprobs ${got.logprobs[r]}/${got.sampleLogprobs[r]} vs ${ref.plain[t]}/${wantS}`,
    );
    worst = Math.max(worst, err);
  }
  return worst;
}

// ---------------------------------------------------------------------------------------

bothReadPaths(
  "sampler: greedy is the argmax (ties → lowest id); top-k 1 and tiny top-p are greedy",
  async () => {
    let worst = 0;
    for (const [B, V] of [[1, 1], [7, 13], [3, 129], [5, 257], [2, 151936]]) {
      const seed = freshSeed();
      const x = Float64Array.from(new Float32Array(randn(B * V, seed, 3)));
      // Ties for the maximum in every other row (the lowest id must win).
      for (let r = 0; r < B; r += 2) {
        const row = x.subarray(r * V, (r + 1) * V);
        const mx = maxOf(row);
        row[V - 1] = mx;
        row[Math.floor(V / 2)] = mx;
      }
      const logits = upload(x, [B, V]);
      for (const o of [{ temperature: 0 }, { temperature: 0.7, topK: 1 }]) {
        const got = await run(logits, { ...o, seed, step: 0 });
        worst = Math.max(worst, checkRows(x, V, { ...o, seed, step: 0 }, got));
        assert.deepEqual([...got.sampleLogprobs], new Array(B).fill(0));
      }
      // Tiny top-p keeps only the maximum: greedy on rows without ties.
      const got = await run(logits, { temperature: 1, topP: 1e-6, seed, step: 3 });
      for (let r = 1; r < B; r += 2) {
        assert.equal(
          got.tokens[r],
          reference(x.subarray(r * V, (r + 1) * V), { temperature: 0 }).argmax,
        );
      }
      logits.dispose();
    }
    console.log(`greedy logprobs: max abs error ${worst.toExponential(2)}`);
  },
);

bothReadPaths(
  "sampler: 20,000 draws match the filtered tempered softmax (χ²), logprobs vs float64",
  async () => {
    const cases: [number[], Omit<SampleOptions, "seed" | "step">][] = [
      [[2.0, 1.5, 1.2, 0.9, 0.5, 0.1, -0.3, -0.8, -1.5, -3], { temperature: 1 }],
      [[0.3, -1, 2.2, 0.8, 1.7, -0.2, 1.1, -2, 0.6, 2.6, -0.7, 0.0], { temperature: 0.7, topK: 4 }],
      [[1.2, 0.4, -0.5, 2.0, 0.9, -1.1, 0.2, 1.6, -2.4], { temperature: 1.5, topP: 0.8 }],
      [[0.5, 1.9, -0.4, 1.0, 2.4, 0.1, 1.5, -1.3, 0.8, -0.9, 0.3], {
        temperature: 1,
        topK: 6,
        topP: 0.7,
      }],
      // Ties at the top-k boundary: all three 0.5s are kept with k = 2.
      [[1, 0.5, -1, 0.5, 0, 0.5, -2, 0.2], { temperature: 1, topK: 2 }],
    ];
    const rows = 2000;
    const steps = 10;
    let worst = 0;
    for (const [values, o] of cases) {
      const V = values.length;
      const ref = reference(values, o);
      assert.ok(ref.pMargin > 1e-3, "test logits put the top-p boundary too close to call");
      const x = Float64Array.from({ length: rows * V }, (_, i) => values[i % V]);
      const logits = upload(x, [rows, V]);
      const counts = new Float64Array(V);
      const seed = freshSeed();
      for (let step = 0; step < steps; step++) {
        const got = await run(logits, { ...o, seed, step });
        got.tokens.forEach((t) => counts[t]++);
        worst = Math.max(
          worst,
          checkRows(x.subarray(0, 50 * V), V, { ...o, seed, step }, {
            tokens: got.tokens.subarray(0, 50),
            logprobs: got.logprobs.subarray(0, 50),
            sampleLogprobs: got.sampleLogprobs.subarray(0, 50),
          }),
        );
      }
      const n = rows * steps;
      let chi2 = 0;
      let dof = -1;
      ref.probs.forEach((q, i) => {
        if (q === 0) {
          assert.equal(counts[i], 0, `token ${i} is filtered out but was drawn ${counts[i]} times`);
        } else {
          chi2 += (counts[i] - n * q) ** 2 / (n * q);
          dof++;
        }
      });
      const bound = chiSquareBound(dof);
      console.log(
        `${JSON.stringify(o)}: χ² ${chi2.toFixed(1)} (dof ${dof}, bound ${bound.toFixed(1)})`,
      );
      assert.ok(
        chi2 < bound,
        `χ² ${chi2} ≥ ${bound} for ${JSON.stringify(o)} (seed ${seed}): ${counts}`,
      );
      logits.dispose();
    }
    console.log(`small-vocab logprobs: max abs error ${worst.toExponential(2)}`);
  },
);

bothReadPaths(
  "sampler: long rows (V = 151,936) — kept sets and logprobs vs float64, deterministic",
  async () => {
    const V = 151936;
    const B = 6;
    const seed = freshSeed();
    const r = rng(seed);
    // LM-like rows: a broad bulk and a few hundred strong tokens (row 3 quantised to steps of
    // 1/8, so ties everywhere); row 4 is flat (large nuclei: the threshold search falls back to
    // passes over the whole row); row 5 is constant (everything tied).
    const x = Float64Array.from(new Float32Array(randn(B * V, seed, 2.5)));
    for (let row = 0; row < 4; row++) {
      for (let j = 0; j < 300; j++) x[row * V + Math.floor(r() * V)] += 12 + 8 * r();
    }
    for (let i = 3 * V; i < 4 * V; i++) x[i] = Math.round(x[i] * 8) / 8;
    x.fill(0.25, 5 * V);
    const logits = upload(x, [B, V]);
    const orders = Array.from(
      { length: B },
      (_, row) => descending(x.subarray(row * V, (row + 1) * V)),
    );
    let worst = 0;
    for (
      const o of [
        { temperature: 1 },
        { temperature: 0.8, topK: 50 },
        { temperature: 1, topP: 0.9 },
        {
          temperature: 1.2,
          topK: 400,
          topP: 0.95,
        },
        { temperature: 1, topP: 0.999 },
      ]
    ) {
      const t0 = performance.now();
      const got = await run(logits, { ...o, seed, step: 1 });
      const ms = performance.now() - t0;
      worst = Math.max(worst, checkRows(x, V, { ...o, seed, step: 1 }, got, orders));
      const again = await run(logits, { ...o, seed, step: 1 });
      assert.deepEqual(again, got, "not bit-reproducible");
      console.log(`${JSON.stringify(o)}: ${B} rows in ${ms.toFixed(0)} ms (incl. one readback)`);
    }
    console.log(`long-row logprobs: max abs error ${worst.toExponential(2)}`);
    logits.dispose();
  },
);

bothReadPaths(
  "sampler: seeds, steps and seqIds decide the draw, not batch layout or windows",
  async () => {
    const V = 1001; // not a multiple of 4 or 64: unaligned rows, windows start mid-row
    const B = 24;
    const seed = freshSeed();
    const x = randn(B * V, seed, 0.5);
    const logits = upload(x, [B, V]);
    const o = { temperature: 1, topP: 0.95, seed, step: 7 };
    const a = await run(logits, o);
    const windowed = await run(logits, { ...o, windowRows: 5 });
    assert.deepEqual(windowed, a, "windowed dispatch differs");
    const other = await run(logits, { ...o, seed: seed + 1 });
    const nextStep = await run(logits, { ...o, step: 8 });
    const differ = (u: Int32Array) => u.filter((t, i) => t !== a.tokens[i]).length;
    assert.ok(
      differ(other.tokens) > B / 2 && differ(nextStep.tokens) > B / 2,
      "seed/step barely change draws",
    );
    // Reverse the batch but keep each row's stream id: every row draws the same token.
    const perm = Array.from({ length: B }, (_, i) => B - 1 - i);
    const xr = new Float64Array(B * V);
    perm.forEach((src, dst) => xr.set(x.subarray(src * V, (src + 1) * V), dst * V));
    const reversed = upload(xr, [B, V]);
    const b = await run(reversed, { ...o, seqIds: perm });
    perm.forEach((src, dst) =>
      assert.equal(b.tokens[dst], a.tokens[src], `row ${src} moved to ${dst}`)
    );
    logits.dispose();
    reversed.dispose();
  },
);

bothReadPaths("sampler: masked (−∞) logits are never drawn", async () => {
  const V = 64;
  const B = 200;
  const x = randn(B * V, freshSeed());
  for (let i = 0; i < x.length; i++) if (i % 3 !== 0) x[i] = -Infinity;
  const logits = upload(x, [B, V]);
  for (
    const o of [{ temperature: 1 }, { temperature: 2, topK: 5 }, { temperature: 0.5, topP: 0.9 }]
  ) {
    const got = await run(logits, { ...o, seed: 1, step: 0 });
    got.tokens.forEach((t, r) =>
      assert.ok(Number.isFinite(x[r * V + t]), `row ${r} drew masked token ${t}`)
    );
    assert.ok(got.logprobs.every(Number.isFinite) && got.sampleLogprobs.every(Number.isFinite));
  }
  logits.dispose();
});
