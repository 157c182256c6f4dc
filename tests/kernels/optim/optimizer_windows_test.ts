/**
 * AdamW and gradient clipping at their default window: the largest the 128 MiB binding cap
 * allows. adamw_test.ts and grad_norm_test.ts force small windows to cover the windowing
 * logic cheaply; this runs the defaults on a tensor just past one window (a Qwen-sized
 * embedding is four), so a default that binds more than the cap, or a second window that is
 * dropped or misplaced, fails here.
 */
import { AdamW } from "../../../kernels/optim/adamw.ts";
import { gpu } from "../../../kernels/core/device.ts";
import { clipGradNorm } from "../../../kernels/optim/grad_norm.ts";
import { copyInto, empty, readAll, type Tensor, tensor } from "../../../kernels/core/tensor.ts";
import { assert, assertClose, freshSeed, gpuReady, rng } from "../../helpers.ts";

await gpuReady;

/** Uniform values in [−scale, scale), f32, from a seed (fast enough for 33M elements). */
function uniform(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

Deno.test("AdamW + clipGradNorm at their default window: a tensor just past the binding cap", async () => {
  const seed = freshSeed();
  const cap = Math.floor(gpu().maxBindingBytes / 4 / 256) * 256; // elements per default window
  const n = cap + 4099; // a second window of 4,099 elements (not a whole vec4)
  const small = 1000;
  const hyper = { lr: 1e-2, b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1 };
  const init = [uniform(n, seed, 1), uniform(small, seed + 1, 1)];
  const params = init.map((x) => tensor(x, [x.length]));
  const opt = new AdamW(params, {
    lr: hyper.lr,
    betas: [hyper.b1, hyper.b2],
    eps: hyper.eps,
    weightDecay: hyper.wd,
  });
  // Elements checked: both ends of each window and a random spread.
  const r = rng(seed + 2);
  const picks = [
    ...Array.from({ length: 8 }, (_, i) => i),
    ...Array.from({ length: 16 }, (_, i) => cap - 8 + i),
    ...Array.from({ length: 8 }, (_, i) => n - 8 + i),
    ...Array.from({ length: 64 }, () => Math.floor(r() * n)),
  ];
  const ref = {
    p: picks.map((i) => init[0][i]),
    m: picks.map(() => 0),
    v: picks.map(() => 0),
    small: {
      p: Float64Array.from(init[1]),
      m: new Float64Array(small),
      v: new Float64Array(small),
    },
  };
  const update = (p: number, m: number, v: number, g: number, t: number) => {
    p *= 1 - hyper.lr * hyper.wd;
    m = hyper.b1 * m + (1 - hyper.b1) * g;
    v = hyper.b2 * v + (1 - hyper.b2) * g * g;
    p -= (hyper.lr / (1 - hyper.b1 ** t)) * m /
      (Math.sqrt(v) / Math.sqrt(1 - hyper.b2 ** t) + hyper.eps);
    return [p, m, v];
  };
  const report: string[] = [];
  // The second window's gradients are 10× larger: dropping that window moves the norm by
  // ~1%, a thousand times the tolerance. Both steps reuse them (33M random draws are slow).
  const g = uniform(n, seed + 10, 0.01);
  for (let i = cap; i < n; i++) g[i] *= 10;
  const gs = uniform(small, seed + 11, 0.01);
  let sq = 0;
  for (const x of g) sq += x * x;
  for (const x of gs) sq += x * x;
  const norm = Math.sqrt(sq);
  for (let step = 1; step <= 2; step++) {
    const maxNorm = step === 1 ? norm / 2 : norm * 2; // clipped, then not
    const coef = Math.min(1, maxNorm / (norm + 1e-6));
    params[0].grad = tensor(g, [n]);
    params[1].grad = tensor(gs, [small]);
    const clip = clipGradNorm(params, maxNorm);
    opt.step({ gradScale: clip.coef });
    const [gotCoef, gotNorm] = await readAll([clip.coef, clip.norm]);
    const eNorm = assertClose(gotNorm, [norm], { rtol: 1e-5, label: `norm, step ${step}` });
    assertClose(gotCoef, [coef], { rtol: 1e-5, label: `coef, step ${step}` });
    picks.forEach((i, k) => {
      [ref.p[k], ref.m[k], ref.v[k]] = update(ref.p[k], ref.m[k], ref.v[k], g[i] * coef, step);
    });
    for (let i = 0; i < small; i++) {
      const s = ref.small;
      [s.p[i], s.m[i], s.v[i]] = update(s.p[i], s.m[i], s.v[i], gs[i] * coef, step);
    }
    report.push(`step ${step}: norm err ${eNorm.toExponential(1)} (coef ${coef.toFixed(3)})`);
    for (const t of [clip.coef, clip.norm, params[0].grad, params[1].grad]) t.dispose();
  }
  const slots: Tensor[] = picks.map((i) => {
    const out = empty([1]);
    copyInto(params[0], out, i, 0, 1);
    return out;
  });
  const got = await readAll([...slots, params[1]]);
  const TOL = { rtol: 2e-5, atol: 2e-6 };
  const e1 = assertClose(got.slice(0, picks.length).map((x) => x[0]), ref.p, {
    ...TOL,
    label: `big parameter at elements ${picks.slice(0, 32)}… (seed ${seed})`,
  });
  const e2 = assertClose(got.at(-1)!, ref.small.p, {
    ...TOL,
    label: `small parameter (seed ${seed})`,
  });
  // The checked elements moved: a window the optimizer skipped would be left at its start.
  const moved = picks.filter((i, k) => got[k][0] !== init[0][i]).length;
  assert.equal(moved, picks.length, `${picks.length - moved} checked elements did not move`);
  console.log(
    `default window (${cap} elements) + ${n - cap}: ${report.join(", ")}; AdamW max rel err ` +
      `${e1.toExponential(1)} (big), ${e2.toExponential(1)} (small)`,
  );
  for (const t of [...slots, ...params]) t.dispose();
  opt.dispose();
});
