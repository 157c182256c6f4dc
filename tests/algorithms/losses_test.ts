/**
 * The PPO-family losses (algorithms/losses.ts) against float64 references written here:
 * the clipped surrogate with clip-higher, entropy bonus and KL term, the clipped value loss,
 * the aggregation weights, and the property the weights exist for: summing micro-batch
 * losses (and gradients) reproduces the full batch's.
 */
import { chunks, Packed, type TokenPair } from "../../algorithms/batch.ts";
import {
  type Aggregation,
  aggregationWeights,
  policyLoss,
  valueLoss,
} from "../../algorithms/losses.ts";
import { backward } from "../../kernels/core/autograd.ts";
import { readAll, type Tensor } from "../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  download,
  f32round,
  freshSeed,
  gpuReady,
  gradCheck,
  randn,
  rng,
  upload,
} from "../helpers.ts";

await gpuReady;

const CLIP_LOW = 0.2;
const CLIP_HIGH = 0.28;

// ---------------------------------------------------------------------------------------
// float64 references

const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/** ℓ_t = −min(ρA, clip(ρ, 1 − low, 1 + high)·A) and dℓ/d log π, with ρ = e^{lp − old}. */
function refSurrogate(lp: number, old: number, a: number, low: number, high: number) {
  const rho = Math.exp(lp - old);
  const un = rho * a;
  const cl = clip(rho, 1 - low, 1 + high) * a;
  // The unclipped branch is the minimum (or ties with it inside the range): gradient −ρA.
  return { loss: -Math.min(un, cl), grad: un <= cl ? -un : 0 };
}

/** k3 = e^{−r} − 1 + r and its derivative in log π. */
const k3 = (r: number) => Math.exp(-r) - 1 + r;
const dk3 = (r: number) => 1 - Math.exp(-r);

/**
 * Log-prob pairs whose ratios keep ≥ `margin` away from every clip edge in `edges` (so finite
 * differences never straddle a kink), spread over [e^{−0.6}, e^{0.6}]: clipped and unclipped
 * tokens on both sides. Values are f32-exact.
 */
function ratioPairs(
  n: number,
  seed: number,
  edges = [1 - CLIP_LOW, 1 + CLIP_HIGH, 1.2],
  margin = 3e-3,
) {
  const r = rng(seed);
  const lp = new Float64Array(n);
  const old = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (;;) {
      const a = f32round([-0.1 - 3 * r()])[0];
      const b = f32round([a - (1.2 * r() - 0.6)])[0];
      const rho = Math.exp(a - b);
      if (edges.every((e) => Math.abs(rho - e) > margin)) {
        lp[i] = a;
        old[i] = b;
        break;
      }
    }
  }
  return { lp, old };
}

/** Advantages of both signs, away from 0. */
function advantagesOf(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return f32round(Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (0.2 + 1.5 * r())));
}

/** Weights in [0.5, 1.5], with ~20% zeros standing for padding. */
function weightsOf(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return f32round(Array.from({ length: n }, () => (r() < 0.2 ? 0 : 0.5 + r())));
}

// ---------------------------------------------------------------------------------------
// Aggregation weights

Deno.test("aggregationWeights: token_mean, seq_mean_token_mean, seq_mean_token_sum_norm by hand", () => {
  const lengths = [3, 1, 4];
  assertClose(aggregationWeights(lengths, "token_mean", 5), [1 / 8, 1 / 8, 1 / 8], { rtol: 1e-15 });
  assertClose(aggregationWeights(lengths, "seq_mean_token_mean", 5), [1 / 9, 1 / 3, 1 / 12], {
    rtol: 1e-15,
  });
  assertClose(aggregationWeights(lengths, "seq_mean_token_sum_norm", 5), [1 / 15, 1 / 15, 1 / 15], {
    rtol: 1e-15,
  });
  // An empty response gets weight 0 where the weight depends on its length.
  assertClose(aggregationWeights([0, 2], "token_mean", 4), [0.5, 0.5], { rtol: 1e-15 });
  assertClose(aggregationWeights([0, 2], "seq_mean_token_mean", 4), [0, 0.25], { rtol: 1e-15 });
  assertClose(aggregationWeights([0, 0], "token_mean", 4), [0, 0], { rtol: 0, atol: 0 });
  assert.deepEqual(aggregationWeights([], "token_mean", 4), []);
  // token_mean and seq_mean_token_mean put total mass 1 on the step's tokens.
  const ls = [5, 2, 9, 1, 7];
  for (const mode of ["token_mean", "seq_mean_token_mean"] as const) {
    const w = aggregationWeights(ls, mode, 16);
    assertClose([w.reduce((s, wi, i) => s + wi * ls[i], 0)], [1], { rtol: 1e-14, label: mode });
  }
});

// ---------------------------------------------------------------------------------------
// Policy loss

Deno.test("policyLoss: forward and gradients (logprobs, entropy) vs float64, clip-higher 0.2/0.28", async () => {
  const seed = freshSeed();
  const n = 160;
  const { lp, old } = ratioPairs(n, seed);
  const adv = advantagesOf(n, seed + 1);
  const w = weightsOf(n, seed + 2);
  const ent = f32round(randn(n, seed + 3).map((x) => 1 + 0.5 * x));
  const coef = 0.013;
  // The inputs cover every branch: clipped (zero gradient) and unclipped, both signs of A.
  const kinds = new Set<string>();
  for (let i = 0; i < n; i++) {
    const rho = Math.exp(lp[i] - old[i]);
    const side = rho < 1 - CLIP_LOW ? "low" : rho > 1 + CLIP_HIGH ? "high" : "in";
    kinds.add(`${side}${adv[i] > 0 ? "+" : "-"}`);
  }
  assert.equal(kinds.size, 6, `branches covered: ${[...kinds]}`);

  const ref = (
    lpv: Float64Array,
    oldv: Float64Array,
    av: Float64Array,
    wv: Float64Array,
    hv: Float64Array,
  ) => {
    let s = 0;
    for (let i = 0; i < lpv.length; i++) {
      s += wv[i] * (refSurrogate(lpv[i], oldv[i], av[i], CLIP_LOW, CLIP_HIGH).loss - coef * hv[i]);
    }
    return new Float64Array([s]);
  };
  const op = (lpt: Tensor, oldt: Tensor, at: Tensor, wt: Tensor, ht: Tensor) =>
    policyLoss({
      logprobs: lpt,
      oldLogprobs: oldt,
      advantages: at,
      weights: wt,
      clipLow: CLIP_LOW,
      clipHigh: CLIP_HIGH,
      entropy: { values: ht, coef },
    }).loss;
  const { forward, grads } = await gradCheck(op, ref, [
    { shape: [n], data: lp },
    { shape: [n], data: old, grad: false },
    { shape: [n], data: adv, grad: false },
    { shape: [n], data: w, grad: false },
    { shape: [n], data: ent },
  ], { rtol: 1e-4, atol: 1e-6, forwardRtol: 1e-5, forwardAtol: 1e-5, label: "policyLoss", seed });
  console.log(
    `policyLoss: forward ${forward.toExponential(2)}, grad logprobs ${
      grads[0].toExponential(2)
    }, ` +
      `grad entropy ${grads[1].toExponential(2)}`,
  );

  // The gradients in closed form, with upstream 1: dL/dlp = w·dℓ/dlp, dL/dH = −coef·w; and
  // the returned ratio is e^{lp − old}.
  const lpt = upload(lp, [n]);
  const ht = upload(ent, [n]);
  lpt.requiresGrad = true;
  ht.requiresGrad = true;
  const others = [upload(old, [n]), upload(adv, [n]), upload(w, [n])];
  const { loss, ratio } = policyLoss({
    logprobs: lpt,
    oldLogprobs: others[0],
    advantages: others[1],
    weights: others[2],
    clipLow: CLIP_LOW,
    clipHigh: CLIP_HIGH,
    entropy: { values: ht, coef },
  });
  const ratioGot = await download(ratio);
  backward(loss);
  const [gl, gh] = (await readAll([lpt.grad!, ht.grad!])).map((x) => Float64Array.from(x));
  const wantGl = lp.map((_, i) =>
    w[i] * refSurrogate(lp[i], old[i], adv[i], CLIP_LOW, CLIP_HIGH).grad
  );
  const eRatio = assertClose(ratioGot, lp.map((x, i) => Math.exp(x - old[i])), {
    rtol: 1e-6,
    label: "ratio",
  });
  const eGl = assertClose(gl, wantGl, { rtol: 1e-5, atol: 1e-7, label: "dL/dlp closed form" });
  const eGh = assertClose(gh, w.map((x) => -coef * x), { rtol: 1e-6, atol: 1e-9, label: "dL/dH" });
  assert.ok(wantGl.some((g, i) => g === 0 && w[i] !== 0), "some tokens are clipped");
  console.log(
    `policyLoss closed form: ratio ${eRatio.toExponential(2)}, dlp ${eGl.toExponential(2)}, ` +
      `dH ${eGh.toExponential(2)}`,
  );
  for (const t of [lpt, ht, loss, ratio, ...others]) t.dispose();
});

Deno.test("policyLoss: symmetric clip without entropy matches the reference too", async () => {
  const seed = freshSeed();
  const n = 64;
  const { lp, old } = ratioPairs(n, seed);
  const adv = advantagesOf(n, seed + 1);
  const w = weightsOf(n, seed + 2);
  const ref = (lpv: Float64Array, oldv: Float64Array, av: Float64Array, wv: Float64Array) =>
    new Float64Array([
      lpv.reduce((s, x, i) => s + wv[i] * refSurrogate(x, oldv[i], av[i], 0.2, 0.2).loss, 0),
    ]);
  const { forward, grads } = await gradCheck(
    (a, b, c, d) =>
      policyLoss({
        logprobs: a,
        oldLogprobs: b,
        advantages: c,
        weights: d,
        clipLow: 0.2,
        clipHigh: 0.2,
      })
        .loss,
    ref,
    [
      { shape: [n], data: lp },
      { shape: [n], data: old, grad: false },
      { shape: [n], data: adv, grad: false },
      { shape: [n], data: w, grad: false },
    ],
    { rtol: 1e-4, atol: 1e-6, forwardRtol: 1e-5, label: "policyLoss symmetric", seed },
  );
  console.log(
    `policyLoss symmetric clip: forward ${forward.toExponential(2)}, grad ${
      grads[0].toExponential(2)
    }`,
  );
});

// ---------------------------------------------------------------------------------------
// Value loss

Deno.test("valueLoss: ½·max((clip(V, V_old ± c) − R)², (V − R)²)·w vs float64, and unclipped", async () => {
  const seed = freshSeed();
  const n = 128;
  const c = 0.2;
  const r = rng(seed);
  const v = new Float64Array(n);
  const vOld = new Float64Array(n);
  const ret = new Float64Array(n);
  const kinds = new Set<string>();
  for (let i = 0; i < n; i++) {
    for (;;) {
      const [a, t] = f32round([2 * r() - 1, 2 * r() - 1]);
      const old = f32round([a - (r() - 0.5)])[0];
      const d = a - old;
      const vc = old + clip(d, -c, c);
      const clipped = (vc - t) ** 2;
      const plain = (a - t) ** 2;
      // Away from the clip edge |d| = c and from ties between the two squared errors.
      if (Math.abs(Math.abs(d) - c) < 2e-3) continue;
      if (Math.abs(d) > c && Math.abs(clipped - plain) < 2e-3) continue;
      kinds.add(Math.abs(d) <= c ? "inside" : clipped > plain ? "clipped wins" : "plain wins");
      [v[i], vOld[i], ret[i]] = [a, old, t];
      break;
    }
  }
  assert.equal(kinds.size, 3, `branches covered: ${[...kinds]}`);
  const w = weightsOf(n, seed + 5);
  const refOf =
    (cl: number | null) =>
    (vv: Float64Array, ov: Float64Array, rv: Float64Array, wv: Float64Array) => {
      let s = 0;
      for (let i = 0; i < vv.length; i++) {
        const plain = (vv[i] - rv[i]) ** 2;
        const l = cl === null
          ? plain
          : Math.max((ov[i] + clip(vv[i] - ov[i], -cl, cl) - rv[i]) ** 2, plain);
        s += 0.5 * wv[i] * l;
      }
      return new Float64Array([s]);
    };
  const inputs = [
    { shape: [n], data: v },
    { shape: [n], data: vOld, grad: false },
    { shape: [n], data: ret, grad: false },
    { shape: [n], data: w, grad: false },
  ];
  for (const cl of [c, null]) {
    const { forward, grads } = await gradCheck(
      (a, b, d, e) => valueLoss({ values: a, oldValues: b, returns: d, weights: e, clip: cl }),
      refOf(cl),
      inputs,
      { rtol: 1e-4, atol: 1e-6, forwardRtol: 1e-5, label: `valueLoss clip ${cl}`, seed },
    );
    console.log(
      `valueLoss clip ${cl}: forward ${forward.toExponential(2)}, grad ${
        grads[0].toExponential(2)
      }`,
    );
  }
  // With the clip, a token whose clipped error wins gets no gradient; without it, w·(V − R).
  const vt = upload(v, [n]);
  vt.requiresGrad = true;
  const rest = [upload(vOld, [n]), upload(ret, [n]), upload(w, [n])];
  backward(
    valueLoss({ values: vt, oldValues: rest[0], returns: rest[1], weights: rest[2], clip: c }),
  );
  const g = await download(vt.grad!);
  const want = v.map((x, i) => {
    const vc = vOld[i] + clip(x - vOld[i], -c, c);
    return (vc - ret[i]) ** 2 > (x - ret[i]) ** 2 && Math.abs(x - vOld[i]) > c
      ? 0
      : w[i] * (x - ret[i]);
  });
  assertClose(g, want, { rtol: 1e-5, atol: 1e-7, label: "valueLoss closed-form gradient" });
  for (const t of [vt, ...rest]) t.dispose();
});

// ---------------------------------------------------------------------------------------
// Micro-batches: weights fixed per step make gradient accumulation exact

interface Step {
  pairs: TokenPair[];
  lp: Float64Array[];
  old: Float64Array[];
  adv: Float64Array[];
  ent: Float64Array[];
  ref: Float64Array[];
}

function randomStep(respLengths: number[], seed: number): Step {
  const r = rng(seed);
  const pairs = respLengths.map((l) => ({
    prompt: Array.from({ length: 1 + Math.floor(r() * 5) }, () => 1 + Math.floor(r() * 30)),
    response: Array.from({ length: l }, () => 1 + Math.floor(r() * 30)),
  }));
  const rp = respLengths.map((l, i) => ratioPairs(l, seed + 13 * i + 1));
  const lp = rp.map((x) => x.lp);
  return {
    pairs,
    lp,
    old: rp.map((x) => x.old),
    adv: respLengths.map((l, i) => advantagesOf(l, seed + 17 * i + 2)),
    ent: respLengths.map((l, i) => f32round(randn(l, seed + 19 * i + 3).map((x) => 1 + 0.3 * x))),
    ref: lp.map((x, i) => {
      const noise = randn(x.length, seed + 23 * i + 4, 0.3);
      return f32round(x.map((y, t) => y - noise[t]));
    }),
  };
}

const ENT_COEF = 0.01;
const KL_COEF = 0.05;

/**
 * Run policyLoss over the sequences `idx` packed on their own, with per-sequence weights
 * `w[i]`; padding holds random garbage in every input but the weights. Returns the loss, the
 * gradient wrt logprobs per response token, and the largest |gradient| at a pad.
 */
async function microBatch(step: Step, idx: number[], w: number[], garbageSeed: number) {
  const pairs = idx.map((i) => step.pairs[i]);
  const p = new Packed(pairs);
  const N = p.B * p.T;
  const isResp = new Uint8Array(N);
  pairs.forEach((s, b) =>
    s.response.forEach((_, j) => (isResp[b * p.T + s.prompt.length + j - 1] = 1))
  );
  let g = garbageSeed;
  const flat = (x: Float64Array[]) => {
    const out = randn(N, g++); // garbage on the pads
    pairs.forEach((s, b) =>
      x[idx[b]].forEach((v, j) => (out[b * p.T + s.prompt.length + j - 1] = v))
    );
    return upload(out, [N]);
  };
  const lp = flat(step.lp);
  lp.requiresGrad = true;
  const inputs = [flat(step.old), flat(step.adv), flat(step.ent), flat(step.ref)];
  const weights = upload(p.spreadScalar(idx.map((i) => w[i])), [N]);
  const { loss, ratio } = policyLoss({
    logprobs: lp,
    oldLogprobs: inputs[0],
    advantages: inputs[1],
    weights,
    clipLow: CLIP_LOW,
    clipHigh: CLIP_HIGH,
    entropy: { values: inputs[2], coef: ENT_COEF },
    kl: { refLogprobs: inputs[3], estimator: "k3", coef: KL_COEF },
  });
  backward(loss);
  const [l, grad] = await readAll([loss, lp.grad!]);
  for (const t of [lp, weights, loss, ratio, ...inputs]) t.dispose();
  const padGrad = Math.max(0, ...Array.from(grad).filter((_, i) => !isResp[i]).map(Math.abs));
  return { loss: l[0], grads: p.gather(grad), padGrad };
}

/** float64 reference of the step's loss and per-token gradients with weights w. */
function refStep(step: Step, w: number[]) {
  let loss = 0;
  let scale = 0;
  const grads = step.lp.map((lp, i) =>
    lp.map((x, t) => {
      const s = refSurrogate(x, step.old[i][t], step.adv[i][t], CLIP_LOW, CLIP_HIGH);
      const r = x - step.ref[i][t];
      const l = s.loss + KL_COEF * k3(r) - ENT_COEF * step.ent[i][t];
      loss += w[i] * l;
      scale += Math.abs(w[i] * l);
      return w[i] * (s.grad + KL_COEF * dk3(r));
    })
  );
  return { loss, scale, grads };
}

Deno.test("policyLoss: micro-batch losses and gradients sum to the full batch's (every aggregation)", async () => {
  let worstLoss = 0;
  let worstGrad = 0;
  for (
    const mode of ["token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm"] as Aggregation[]
  ) {
    const seed = freshSeed();
    const lengths = [14, 3, 9, 1, 12, 6, 2, 11, 5];
    const step = randomStep(lengths, seed);
    const w = aggregationWeights(lengths, mode, 16); // once, for the whole step
    const all = lengths.map((_, i) => i);
    const full = await microBatch(step, all, w, seed + 1000);
    const want = refStep(step, w);
    const label = `${mode} (seed ${seed})`;
    for (const parts of [2, 3]) {
      let sum = 0;
      const grads: Float64Array[] = [];
      for (const [k, part] of chunks(all, parts).entries()) {
        const mb = await microBatch(step, part, w, seed + 2000 + 100 * k);
        sum += mb.loss;
        grads.push(...mb.grads);
        assert.equal(mb.padGrad, 0, `${label}: gradient at a pad`);
      }
      const tol = { rtol: 0, atol: 2e-6 * want.scale };
      const e1 = assertClose([sum], [full.loss], { ...tol, label: `${label}: Σ micro vs full` });
      const e2 = assertClose([sum], [want.loss], { ...tol, label: `${label}: Σ micro vs float64` });
      const e3 = assertClose(grads.flatMap((g) => [...g]), full.grads.flatMap((g) => [...g]), {
        rtol: 1e-6,
        atol: 1e-9,
        label: `${label}: micro vs full gradients`,
      });
      const e4 = assertClose(grads.flatMap((g) => [...g]), want.grads.flatMap((g) => [...g]), {
        rtol: 1e-5,
        atol: 1e-8,
        label: `${label}: gradients vs float64`,
      });
      worstLoss = Math.max(worstLoss, e1, e2);
      worstGrad = Math.max(worstGrad, e3, e4);
    }
    assertClose([full.loss], [want.loss], {
      rtol: 0,
      atol: 2e-6 * want.scale,
      label: `${label}: full`,
    });
    assert.equal(full.padGrad, 0, `${label}: gradient at a pad of the full batch`);
  }
  console.log(
    `micro-batch accumulation: loss max relative error ${worstLoss.toExponential(2)}, ` +
      `gradient ${worstGrad.toExponential(2)}`,
  );
});

Deno.test("policyLoss: token_mean weights normalised per micro-batch would NOT match (the invariance is non-trivial)", async () => {
  const seed = freshSeed();
  // Two micro-batches with 30 and 6 tokens; advantages of opposite sign in each.
  const lengths = [14, 16, 2, 4];
  const step = randomStep(lengths, seed);
  step.adv = step.adv.map((a, i) => f32round(a.map((x) => Math.abs(x) * (i < 2 ? 1 : -1))));
  const parts = [[0, 1], [2, 3]];
  const right = aggregationWeights(lengths, "token_mean", 16);
  const full = await microBatch(step, [0, 1, 2, 3], right, seed + 1);
  let rightSum = 0;
  let wrongMean = 0;
  const wrongGrads: Float64Array[] = [];
  for (const part of parts) {
    rightSum += (await microBatch(step, part, right, seed + 2)).loss;
    // The faulty scheme: token_mean within the micro-batch, averaged over micro-batches.
    const local = aggregationWeights(part.map((i) => lengths[i]), "token_mean", 16);
    const wrong = lengths.map((
      _,
      i,
    ) => (part.includes(i) ? local[part.indexOf(i)] / parts.length : 0));
    const mb = await microBatch(step, part, wrong, seed + 3);
    wrongMean += mb.loss;
    wrongGrads.push(...mb.grads);
  }
  const { scale } = refStep(step, right);
  const tol = 2e-6 * scale;
  assert.ok(Math.abs(rightSum - full.loss) <= tol, `fixed weights: ${rightSum} vs ${full.loss}`);
  const gap = Math.abs(wrongMean - full.loss);
  assert.ok(
    gap > 1000 * tol,
    `per-micro-batch token_mean: ${wrongMean} vs ${full.loss} (gap ${gap})`,
  );
  // Each token's gradient is off by N / (K·N_k): 36 / (2·30) = 0.6 and 36 / (2·6) = 3.
  const ratios = wrongGrads.map((g, i) => g[0] / full.grads[i][0]).filter((x) =>
    Number.isFinite(x)
  );
  assert.ok(
    ratios.some((x) => Math.abs(x - 0.6) < 1e-4) && ratios.some((x) => Math.abs(x - 3) < 1e-4),
    `${ratios}`,
  );
  console.log(
    `per-micro-batch token_mean: loss ${wrongMean.toFixed(4)} vs full ${full.loss.toFixed(4)}`,
  );
});
