/**
 * KL estimators (algorithms/kl.ts) against hand-computed values and float64 references, and
 * the KL-in-loss traps: the term must carry a gradient, descending it must lower the KL, and
 * the loss must rise with the coefficient.
 */
import { type KlEstimator, klTensor, klTokens, klValue } from "../../algorithms/kl.ts";
import { policyLoss } from "../../algorithms/losses.ts";
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

const ESTIMATORS = ["k1", "k2", "k3"] as const;

/** Independent float64 references: the estimator and its derivative in log π (r = lp − ref). */
const REF: Record<KlEstimator, { k: (r: number) => number; dk: (r: number) => number }> = {
  k1: { k: (r) => r, dk: () => 1 },
  k2: { k: (r) => (r * r) / 2, dk: (r) => r },
  k3: { k: (r) => Math.exp(-r) - 1 + r, dk: (r) => 1 - Math.exp(-r) },
};

/** log π and log π_ref (f32-exact), log-ratios of scale ~`spread`. */
function logprobPair(n: number, seed: number, spread = 0.5) {
  const lp = f32round(randn(n, seed).map((x) => -1.5 - Math.abs(x)));
  const noise = randn(n, seed + 1, spread);
  const ref = f32round(lp.map((x, i) => x - noise[i]));
  return { lp, ref };
}

/** Weights in [0.5, 1.5] with ~20% zeros (padding). */
function weightsOf(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return f32round(Array.from({ length: n }, () => (r() < 0.2 ? 0 : 0.5 + r())));
}

Deno.test("klValue: k1, k2, k3 at hand-computed log-ratios", () => {
  const cases: [number, number, number, number][] = [
    // r, k1, k2 = r²/2, k3 = e^{−r} − 1 + r
    [0.3, 0.3, 0.045, 0.04081822068171788],
    [-0.5, -0.5, 0.125, 0.14872127070012819],
    [2, 2, 2, 1.1353352832366128],
    [0, 0, 0, 0],
    [1e-4, 1e-4, 5e-9, 4.999833337499e-9],
  ];
  for (const [r, k1, k2, k3] of cases) {
    assertClose([klValue(r, "k1")], [k1], { rtol: 1e-12, atol: 0, label: `k1(${r})` });
    assertClose([klValue(r, "k2")], [k2], { rtol: 1e-12, atol: 0, label: `k2(${r})` });
    assertClose([klValue(r, "k3")], [k3], { rtol: 1e-9, atol: 0, label: `k3(${r})` });
  }
  assertClose([klValue(0.3, "k3")], [Math.exp(-0.3) - 1 + 0.3], { rtol: 1e-12, label: "k3(0.3)" });
});

Deno.test("klValue: k2, k3 ≥ 0; k3 is unbiased for KL(π‖π_ref) on a small distribution", () => {
  const rs = randn(500, freshSeed(), 3);
  for (const r of rs) {
    assert.ok(klValue(r, "k2") >= 0, `k2(${r})`);
    assert.ok(klValue(r, "k3") >= 0, `k3(${r})`);
  }
  // Exact expectation over x ~ π of k(log π(x) − log π_ref(x)): k1 and k3 both give KL.
  const seed = freshSeed();
  const z = randn(6, seed);
  const zr = randn(6, seed + 1);
  const norm = (v: Float64Array) => {
    const s = v.reduce((a, x) => a + Math.exp(x), 0);
    return v.map((x) => x - Math.log(s));
  };
  const [lp, lr] = [norm(z), norm(zr)];
  const kl = lp.reduce((a, x, i) => a + Math.exp(x) * (x - lr[i]), 0);
  // With r = log π − log π_ref: E_π[e^{−r}] = Σ π_ref = 1, so E_π[k3] = E_π[r] = KL.
  for (const est of ["k1", "k3"] as const) {
    const e = lp.reduce((a, x, i) => a + Math.exp(x) * klValue(x - lr[i], est), 0);
    assertClose([e], [kl], { rtol: 1e-10, label: `E[${est}] (seed ${seed})` });
  }
});

Deno.test("klTokens: per-token estimates of one sequence", () => {
  const seed = freshSeed();
  const { lp, ref } = logprobPair(23, seed);
  for (const est of ESTIMATORS) {
    const want = lp.map((x, i) => REF[est].k(x - ref[i]));
    assertClose(klTokens(lp, ref, est), want, { rtol: 1e-9, atol: 1e-15, label: est });
  }
  assert.equal(klTokens([], [], "k3").length, 0);
});

Deno.test("klTensor: forward vs float64 and gradient wrt logprobs by finite differences", async () => {
  for (const est of ESTIMATORS) {
    const seed = freshSeed();
    const n = 96;
    const { lp, ref } = logprobPair(n, seed);
    const { forward, grads } = await gradCheck(
      (a: Tensor, b: Tensor) => klTensor(a, b, est),
      (a, b) => a.map((x, i) => REF[est].k(x - b[i])),
      [{ shape: [n], data: lp }, { shape: [n], data: ref, grad: false }],
      {
        rtol: 1e-4,
        atol: 1e-6,
        forwardRtol: 1e-5,
        forwardAtol: 1e-6,
        label: `klTensor ${est}`,
        seed,
      },
    );
    console.log(
      `klTensor ${est}: forward ${forward.toExponential(2)}, grad ${grads[0].toExponential(2)}`,
    );
  }
  // The reference is a constant: no gradient reaches it even when it could take one.
  const { lp, ref } = logprobPair(8, freshSeed());
  const a = upload(lp, [8]);
  const b = upload(ref, [8]);
  a.requiresGrad = true;
  const k = klTensor(a, b, "k3");
  backward(k, upload(new Float64Array(8).fill(1), [8]));
  assert.ok(a.grad && !b.grad);
  const g = await download(a.grad!);
  assertClose(g, lp.map((x, i) => REF.k3.dk(x - ref[i])), { rtol: 1e-5, atol: 1e-7, label: "dk3" });
  for (const t of [a, b, k]) t.dispose();
});

Deno.test("klTensor: k3 at small log-ratios (policy ≈ reference): absolute error in f32", async () => {
  // e^{−r} − 1 + r cancels for |r| ≪ 1; the error stays at f32 rounding of e^{−r} (~1e-7).
  const seed = freshSeed();
  const n = 64;
  const { lp, ref } = logprobPair(n, seed, 1e-3);
  const a = upload(lp, [n]);
  const b = upload(ref, [n]);
  const got = await download(klTensor(a, b, "k3"));
  const want = lp.map((x, i) => Math.expm1(-(x - ref[i])) + (x - ref[i]));
  const absErr = Math.max(...got.map((x, i) => Math.abs(x - want[i])));
  const mean = want.reduce((s, x) => s + x, 0) / n;
  console.log(
    `klTensor k3 at |r| ~ 1e-3: max abs error ${absErr.toExponential(2)} ` +
      `(mean k3 ${mean.toExponential(2)})`,
  );
  assert.ok(absErr < 5e-7, `k3 abs error ${absErr}`);
  a.dispose();
  b.dispose();
});

/** policyLoss over [n] tokens with a KL term; returns the loss and dL/dlp. */
async function klLoss(
  lp: Float64Array,
  ref: Float64Array,
  adv: Float64Array,
  w: Float64Array,
  estimator: KlEstimator,
  coef: number,
) {
  const n = lp.length;
  const lpt = upload(lp, [n]);
  lpt.requiresGrad = true;
  // old = lp: every ratio is 1, so the surrogate is −A·w and its gradient −A·w.
  const rest = [upload(lp, [n]), upload(adv, [n]), upload(w, [n]), upload(ref, [n])];
  const { loss, ratio } = policyLoss({
    logprobs: lpt,
    oldLogprobs: rest[0],
    advantages: rest[1],
    weights: rest[2],
    clipLow: 0.2,
    clipHigh: 0.2,
    kl: { refLogprobs: rest[3], estimator, coef },
  });
  backward(loss);
  const [l, g] = await readAll([loss, lpt.grad!]);
  for (const t of [lpt, loss, ratio, ...rest]) t.dispose();
  return { loss: l[0], grad: Float64Array.from(g) };
}

Deno.test("KL in the loss has a gradient: zero advantages give coef·dk/dlogp·w", async () => {
  let worst = 0;
  for (const est of ESTIMATORS) {
    const seed = freshSeed();
    const n = 128;
    const { lp, ref } = logprobPair(n, seed);
    const w = weightsOf(n, seed + 2);
    const coef = 0.07;
    const { loss, grad } = await klLoss(lp, ref, new Float64Array(n), w, est, coef);
    const want = lp.map((x, i) => coef * REF[est].dk(x - ref[i]) * w[i]);
    assert.ok(grad.some((g, i) => w[i] !== 0 && Math.abs(g) > 1e-4), `${est}: a gradient flows`);
    worst = Math.max(
      worst,
      assertClose(grad, want, { rtol: 1e-5, atol: 1e-8, label: `${est} (seed ${seed})` }),
    );
    const wantLoss = lp.reduce((s, x, i) => s + coef * w[i] * REF[est].k(x - ref[i]), 0);
    assertClose([loss], [wantLoss], { rtol: 1e-5, atol: 1e-7, label: `${est} loss` });
  }
  console.log(`KL-in-loss gradient vs float64: max relative error ${worst.toExponential(2)}`);
});

Deno.test("KL in the loss: one gradient-descent step lowers the KL (it is not maximised)", async () => {
  for (const est of ESTIMATORS) {
    const seed = freshSeed();
    const n = 96;
    const { lp, ref } = logprobPair(n, seed);
    const w = weightsOf(n, seed + 2);
    const coef = 0.1;
    const before = await klLoss(lp, ref, new Float64Array(n), w, est, coef);
    const lr = 0.5;
    const stepped = f32round(lp.map((x, i) => x - lr * before.grad[i]));
    const after = await klLoss(stepped, ref, new Float64Array(n), w, est, coef);
    const total = (x: Float64Array) => x.reduce((s, v, i) => s + w[i] * REF[est].k(v - ref[i]), 0);
    assert.ok(total(stepped) < total(lp), `${est}: Σ w·k ${total(lp)} → ${total(stepped)}`);
    assert.ok(after.loss < before.loss, `${est}: loss ${before.loss} → ${after.loss}`);
    if (est !== "k1") {
      // k2 and k3 pull every weighted token's log-ratio towards 0, lowering its k3.
      for (let i = 0; i < n; i++) {
        if (w[i] === 0) continue;
        const [r0, r1] = [lp[i] - ref[i], stepped[i] - ref[i]];
        assert.ok(Math.abs(r1) <= Math.abs(r0) + 1e-6, `${est} token ${i}: r ${r0} → ${r1}`);
        assert.ok(REF.k3.k(r1) <= REF.k3.k(r0) + 1e-12, `${est} token ${i}: k3`);
      }
    }
    console.log(`KL descent ${est}: Σ w·k ${total(lp).toFixed(5)} → ${total(stepped).toFixed(5)}`);
  }
});

Deno.test("KL in the loss: with advantages fixed, the loss rises with kl.coef (by coef·Σ w·k)", async () => {
  for (const est of ESTIMATORS) {
    const seed = freshSeed();
    const n = 80;
    const { lp, ref } = logprobPair(n, seed);
    const adv = f32round(randn(n, seed + 3));
    const w = weightsOf(n, seed + 2);
    const sumK = lp.reduce((s, x, i) => s + w[i] * REF[est].k(x - ref[i]), 0);
    const base = -adv.reduce((s, a, i) => s + a * w[i], 0); // ratio 1: −Σ A·w
    const losses: number[] = [];
    for (const coef of [0, 0.05, 0.2, 1]) {
      const { loss } = await klLoss(lp, ref, adv, w, est, coef);
      assertClose([loss], [base + coef * sumK], {
        rtol: 1e-5,
        atol: 1e-5,
        label: `${est} coef ${coef}`,
      });
      losses.push(loss);
    }
    if (est !== "k1") {
      // k2, k3 > 0 wherever log π ≠ log π_ref: strictly increasing in the coefficient.
      for (let i = 1; i < losses.length; i++) {
        assert.ok(losses[i] > losses[i - 1], `${est}: ${losses}`);
      }
    }
  }
});
