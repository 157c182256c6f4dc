import { AdamW } from "../../../kernels/optim/adamw.ts";
import { clipGradNorm } from "../../../kernels/optim/grad_norm.ts";
import { readAll, type Tensor } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  f32round,
  freshSeed,
  gpuReady,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

function withGrads(
  shapes: number[][],
  seed: number,
  nullAt = -1,
): { params: Tensor[]; grads: Float64Array[] } {
  const grads: Float64Array[] = [];
  const params = shapes.map((s, k) => {
    const n = s.reduce((a, b) => a * b, 1);
    const p = upload(randn(n, seed + 1000 + k), s);
    if (k !== nullAt) {
      const g = f32round(randn(n, seed + k, 0.1 + k));
      grads.push(g);
      p.grad = upload(g, s);
    }
    return p;
  });
  return { params, grads };
}

function refNorm(grads: Float64Array[], pre = 1): number {
  let s = 0;
  for (const g of grads) for (const x of g) s += (x * pre) ** 2;
  return Math.sqrt(s);
}

const refCoef = (norm: number, maxNorm: number, pre = 1) =>
  pre * Math.min(1, maxNorm / (norm + 1e-6));

function disposeAll(ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}

// fp32 tolerance: a sum of n squares in f32 (per-thread serial sums, then trees) has
// relative error ≲ (n/WG + log2 WG)·2^-24 ≈ 1e-5 for the 2M-element case; sqrt halves it.
const TOL = { rtol: 1e-5, atol: 1e-12 };

bothReadPaths(
  "clipGradNorm: global norm and coefficient vs float64 (odd shapes, skipped grad, windows)",
  async () => {
    const seed = freshSeed();
    let worst = 0;
    for (
      const [shapes, windowElements] of [
        [[[1]], undefined],
        [[[7, 13], [1], [129, 257], [5]], undefined],
        [[[129, 257], [3], [1000, 2049]], 8192], // many windows and several partials per window
      ] as [number[][], number | undefined][]
    ) {
      const { params, grads } = withGrads(shapes, seed, shapes.length > 2 ? 1 : -1);
      const want = refNorm(grads);
      for (const maxNorm of [want / 3, want * 2, Infinity]) {
        const { coef, norm } = clipGradNorm(params, maxNorm, { windowElements });
        const [c, n] = await readAll([coef, norm]);
        const label = `[${shapes.map((s) => s.join("x"))}] maxNorm ${maxNorm} (seed ${seed})`;
        worst = Math.max(worst, assertClose(n, [want], { ...TOL, label: `norm ${label}` }));
        worst = Math.max(
          worst,
          assertClose(c, [refCoef(want, maxNorm)], { ...TOL, label: `coef ${label}` }),
        );
        disposeAll([coef, norm]);
      }
      disposeAll(params);
    }
    console.log(`clipGradNorm: max rel error ${worst.toExponential(2)}`);
  },
);

bothReadPaths(
  "clipGradNorm: gradScale pre-scales, no grads gives norm 0, results are bit-reproducible",
  async () => {
    const seed = freshSeed();
    const { params, grads } = withGrads([[300, 301], [17]], seed);
    const want = refNorm(grads, 0.25);
    const a = clipGradNorm(params, 1.0, { gradScale: 0.25 });
    const b = clipGradNorm(params, 1.0, { gradScale: 0.25 });
    const [ca, na, cb, nb] = await readAll([a.coef, a.norm, b.coef, b.norm]);
    assertClose(na, [want], { ...TOL, label: "scaled norm" });
    assertClose(ca, [refCoef(want, 1.0, 0.25)], { ...TOL, label: "scaled coef" });
    assert.deepEqual([ca, na], [cb, nb]);
    const none = clipGradNorm([upload([1, 2], [2])], 1.0);
    const [c0, n0] = await readAll([none.coef, none.norm]);
    assert.deepEqual([c0[0], n0[0]], [1, 0]);
    disposeAll([...params, a.coef, a.norm, b.coef, b.norm, none.coef, none.norm]);
  },
);

bothReadPaths(
  "clipGradNorm + AdamW: the GPU coefficient scales the step with no readback",
  async () => {
    const seed = freshSeed();
    const { params, grads } = withGrads([[40, 41], [9]], seed);
    const init = await readAll(params);
    const opt = new AdamW(params, { lr: 0.05, weightDecay: 0, betas: [0.8, 0.9], eps: 0.5 });
    const { coef, norm } = clipGradNorm(params, 0.5);
    opt.step({ gradScale: coef });
    const got = await readAll(params);
    const c = refCoef(refNorm(grads), 0.5);
    // One AdamW step from zero state: m̂ = g, v̂ = g², so Δp = −lr·g/(|g| + eps) with g = c·grad
    // (a large eps keeps the dependence on c visible).
    got.forEach((x, k) => {
      const want = Float64Array.from(init[k], (p, i) => {
        const g = grads[k][i] * c;
        return p - 0.05 * g / (Math.abs(g) + 0.5);
      });
      assertClose(x, want, { rtol: 1e-6, atol: 1e-6, label: `param ${k}` });
    });
    disposeAll([...params, coef, norm]);
    opt.dispose();
  },
);
