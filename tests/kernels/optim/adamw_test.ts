import { AdamW } from "../../../kernels/optim/adamw.ts";
import { readAll, type Tensor } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  f32round,
  freshSeed,
  gpuReady,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

interface Hyper {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
}

/** float64 torch.optim.AdamW (single-tensor path) for one parameter; mutates p, m, v. */
function refStep(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  t: number,
  h: Hyper,
  scale: number,
) {
  const bc1 = 1 - h.b1 ** t;
  const bc2 = 1 - h.b2 ** t;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * scale;
    p[i] *= 1 - h.lr * h.wd;
    m[i] = h.b1 * m[i] + (1 - h.b1) * gi;
    v[i] = h.b2 * v[i] + (1 - h.b2) * gi * gi;
    p[i] -= (h.lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + h.eps);
  }
}

function setGrad(p: Tensor, g: ArrayLike<number> | null): void {
  p.grad?.dispose();
  p.grad = g ? upload(g, [...p.shape]) : null;
}

// fp32 tolerance: each step is a handful of rounded ops on values O(1); the update
// lr·m̂/(√v̂+ε) is O(lr) with relative error ~1e-6, so after a few steps |Δp| ≲ 1e-6·|p| + 1e-7.
const TOL = { rtol: 2e-5, atol: 2e-6 };

bothReadPaths(
  "AdamW: several tensors and steps vs float64 (decay, bias correction, gradScale, skip, windows)",
  async () => {
    const seed = freshSeed();
    const shapes = [[1], [7, 13], [129, 257], [300, 1000]];
    const hyper: Hyper = { lr: 3e-2, b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1 };
    const noDecayIndex = 1;
    const skippedUntil = 2; // param 3 has no grad for steps 1–2 (state created at step 3)
    const values = shapes.map((s, k) => f32round(randn(s.reduce((a, b) => a * b, 1), seed + k)));
    const params = values.map((x, k) => upload(x, shapes[k]));
    const ref = values.map((x) => ({
      p: Float64Array.from(x),
      m: new Float64Array(x.length),
      v: new Float64Array(x.length),
      t: 0,
    }));
    const opt = new AdamW(params, {
      lr: hyper.lr,
      betas: [hyper.b1, hyper.b2],
      eps: hyper.eps,
      weightDecay: hyper.wd,
      noDecay: (_p, i) => i === noDecayIndex,
      windowElements: 4096, // forces several windows on the [129,257] and [300,1000] tensors
    });
    const scales = [1, 0.25, "tensor", 1, 0.5];
    for (let step = 1; step <= scales.length; step++) {
      const lr = step === 4 ? hyper.lr / 3 : hyper.lr;
      const scaleTensor = scales[step - 1] === "tensor" ? upload([0.7], [1]) : null;
      const scale = scaleTensor ? Math.fround(0.7) : scales[step - 1] as number;
      values.forEach((x, k) => {
        const skipped = k === 3 && step <= skippedUntil;
        const g = skipped ? null : f32round(randn(x.length, seed + 100 * step + k));
        setGrad(params[k], g);
        if (g) {
          const r = ref[k];
          refStep(
            r.p,
            g,
            r.m,
            r.v,
            ++r.t,
            { ...hyper, lr, wd: k === noDecayIndex ? 0 : hyper.wd },
            scale,
          );
        }
      });
      opt.step({ lr: step === 4 ? lr : undefined, gradScale: scaleTensor ?? scale });
      scaleTensor?.dispose();
    }
    const got = await readAll(params);
    let worst = 0;
    got.forEach((g, k) => {
      worst = Math.max(
        worst,
        assertClose(g, ref[k].p, { ...TOL, label: `param ${k} [${shapes[k]}] (seed ${seed})` }),
      );
    });
    console.log(`adamw 5 steps, 4 tensors: max rel error ${worst.toExponential(2)}`);
    assert.equal(opt.stepCount, 5);
    const sd = await opt.stateDict();
    assert.deepEqual(sd.paramSteps, [5, 5, 5, 3]);
    assertClose(sd.m[2]!, ref[2].m, { ...TOL, label: "m" });
    assertClose(sd.v[2]!, ref[2].v, { rtol: 1e-5, atol: 1e-9, label: "v" });
    opt.dispose();
    params.forEach((p) => p.dispose());
  },
);

bothReadPaths("AdamW: a parameter without a gradient is untouched and gets no state", async () => {
  const a = upload(f32round(randn(10)), [10]);
  const b = upload(f32round(randn(5)), [5]);
  const before = await download(b);
  const opt = new AdamW([a, b], { lr: 0.1, weightDecay: 0.5 });
  setGrad(a, randn(10));
  opt.step();
  opt.step();
  assertClose(await download(b), before, { rtol: 0, atol: 0, label: "skipped param" });
  const sd = await opt.stateDict();
  assert.deepEqual(sd.paramSteps, [2, 0]);
  assert.equal(sd.m[1], null);
  opt.dispose();
  a.dispose();
  b.dispose();
});

bothReadPaths("AdamW: state dict round trip resumes bit-identically", async () => {
  const seed = freshSeed();
  const shapes = [[33], [64, 65]];
  const init = shapes.map((s, k) => f32round(randn(s[0] * (s[1] ?? 1), seed + k)));
  const grads = (step: number) =>
    shapes.map((s, k) => f32round(randn(s[0] * (s[1] ?? 1), seed + 10 * step + k)));
  const opts = { lr: 1e-2, weightDecay: 0.05, windowElements: 1024 };
  const a = init.map((x, k) => upload(x, shapes[k]));
  const optA = new AdamW(a, opts);
  for (let step = 1; step <= 3; step++) {
    grads(step).forEach((g, k) => setGrad(a[k], g));
    optA.step();
  }
  const sd = await optA.stateDict();
  const snapshot = await readAll(a);
  const b = snapshot.map((x, k) => upload(x, shapes[k]));
  const optB = new AdamW(b, opts);
  optB.loadStateDict(sd);
  assert.equal(optB.stepCount, 3);
  for (let step = 4; step <= 5; step++) {
    const gs = grads(step);
    gs.forEach((g, k) => {
      setGrad(a[k], g);
      setGrad(b[k], g);
    });
    optA.step();
    optB.step();
  }
  const [pa, pb] = [await readAll(a), await readAll(b)];
  pa.forEach((x, k) => assert.deepEqual(x, pb[k], `param ${k} differs after resume`));
  const [sa, sb] = [await optA.stateDict(), await optB.stateDict()];
  assert.deepEqual(sa, sb);
  for (const t of [...a, ...b]) t.dispose();
  optA.dispose();
  optB.dispose();
});
