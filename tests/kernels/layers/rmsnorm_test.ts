import { backward } from "../../../kernels/core/autograd.ts";
import { add } from "../../../kernels/elementwise/elementwise.ts";
import { addRmsNorm, rmsNorm, rmsNormSizes } from "../../../kernels/layers/rmsnorm.ts";
import { readAll } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  f32round,
  gpuReady,
  gradCheck,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

/** float64 RMSNorm over the last dimension of a row-major [rows, h] array. */
function refRmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  const h = w.length;
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / h; r++) {
    let ss = 0;
    for (let j = 0; j < h; j++) ss += x[r * h + j] ** 2;
    const inv = 1 / Math.sqrt(ss / h + eps);
    for (let j = 0; j < h; j++) y[r * h + j] = x[r * h + j] * inv * w[j];
  }
  return y;
}

/** Run `fn` with both the CPU-tuned and the GPU-tuned workgroup/chunk sizes. */
async function bothConfigs(fn: (config: string) => Promise<void>): Promise<void> {
  const saved = { ...rmsNormSizes.cpu };
  try {
    await fn("cpu-sizes");
    // The GPU configuration (256-wide rows, 128-row dweight chunks + sum_to) with small
    // chunks so that more than one chunk appears in small tests.
    Object.assign(rmsNormSizes.cpu, { ...rmsNormSizes.gpu, chunk: 3 });
    await fn("gpu-sizes");
  } finally {
    Object.assign(rmsNormSizes.cpu, saved);
  }
}

// fp32 tolerance: inv sums h squares in f32 (strided partials then a tree), relative error
// ≲ (h/WG + log2 WG)·2⁻²⁴ in the worst case and ~√h·2⁻²⁴ typically; y adds two roundings.
// 1e-5 relative leaves ample room for h ≤ 4096 while catching any indexing mistake.
bothReadPaths("rmsNorm forward vs float64 (odd, 3-D and large shapes)", async () => {
  await bothConfigs(async (config) => {
    let worst = 0;
    for (const shape of [[1, 1], [7, 13], [129, 257], [2, 3, 5], [512, 896], [3, 3584]]) {
      const h = shape.at(-1)!;
      const n = shape.reduce((a, b) => a * b, 1);
      const x = f32round(randn(n, undefined, 2));
      const w = f32round(randn(h));
      const got = await rmsNorm(upload(x, shape), upload(w, [h]), 1e-6).read();
      worst = Math.max(
        worst,
        assertClose(got, refRmsNorm(x, w, 1e-6), { rtol: 1e-5, atol: 1e-6, label: `[${shape}]` }),
      );
    }
    console.log(`rmsNorm forward (${config}): max rel err ${worst.toExponential(2)}`);
  });
});

// Gradients are checked by gradCheck at its default 2e-3 relative tolerance (finite
// differences in float64 vs f32 kernels). The 1×1 case is reported apart: there
// dx = w·eps/(x² + eps)^{3/2} is a near-total cancellation of two O(1) f32 terms, so its
// error is ~1e-7 absolute but large relative to the tiny true value.
bothReadPaths("rmsNorm gradients (dx, dweight) vs finite differences", async () => {
  await bothConfigs(async (config) => {
    const errs: string[] = [];
    let worst = 0;
    for (const shape of [[1, 1], [7, 13], [3, 4, 9], [5, 8], [2, 3, 36]]) {
      const h = shape.at(-1)!;
      const r = await gradCheck(
        (x, w) => rmsNorm(x, w, 1e-5),
        (x, w) => refRmsNorm(x, w, 1e-5),
        [{ shape }, { shape: [h] }],
        { label: `rmsNorm [${shape}] ${config}` },
      );
      if (h === 1) errs.push(`[1,1] dx ${r.grads[0].toExponential(1)} (cancellation)`);
      else worst = Math.max(worst, r.forward, ...r.grads);
    }
    console.log(`rmsNorm grads (${config}): max rel err ${worst.toExponential(2)}; ${errs}`);
  });
});

/** float64 analytic gradients of Σ y·gy: [dx, dw]. */
function refRmsNormGrad(x: Float64Array, w: Float64Array, gy: Float64Array, eps: number) {
  const h = w.length;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(h);
  for (let r = 0; r < x.length / h; r++) {
    let ss = 0;
    let gwx = 0;
    for (let j = 0; j < h; j++) {
      ss += x[r * h + j] ** 2;
      gwx += gy[r * h + j] * w[j] * x[r * h + j];
    }
    const inv = 1 / Math.sqrt(ss / h + eps);
    for (let j = 0; j < h; j++) {
      const k = r * h + j;
      dx[k] = inv * w[j] * gy[k] - x[k] * inv ** 3 * gwx / h;
      dw[j] += gy[k] * x[k] * inv;
    }
  }
  return [dx, dw];
}

// Large-shape backward against the analytic float64 gradient (finite differences would be
// too slow here), and determinism: two runs must agree bit for bit. dw sums 300 rows, so
// its f32 error grows like √300·2⁻²⁴ relative to the row terms; 1e-5 of max|dw| covers it.
bothReadPaths("rmsNorm large backward vs float64, bit-identical run to run", async () => {
  const [rows, h] = [300, 896];
  const x = f32round(randn(rows * h));
  const w = f32round(randn(h));
  const gy = f32round(randn(rows * h));
  const [wantDx, wantDw] = refRmsNormGrad(x, w, gy, 1e-6);
  const run = async () => {
    const xt = upload(x, [rows, h]);
    const wt = upload(w, [h]);
    xt.requiresGrad = wt.requiresGrad = true;
    const y = rmsNorm(xt, wt);
    const yv = await y.read();
    backward(y, upload(gy, [rows, h]));
    const [dx, dw] = await readAll([xt.grad!, wt.grad!]);
    for (const t of [xt, wt, y]) t.dispose();
    return [yv, dx, dw];
  };
  await bothConfigs(async (config) => {
    const a = await run();
    const b = await run();
    for (let i = 0; i < 3; i++) assert.deepEqual(a[i], b[i]);
    const edx = assertClose(a[1], wantDx, { rtol: 1e-5, atol: 1e-5, label: "dx" });
    const edw = assertClose(a[2], wantDw, { rtol: 1e-5, atol: 1e-4, label: "dw" });
    console.log(
      `rmsNorm [${rows},${h}] backward (${config}): dx ${edx.toExponential(2)}, ` +
        `dw ${edw.toExponential(2)}`,
    );
  });
});

/** float64 [x + d, rmsNorm(x + d)]; `f32sum` rounds the sum to f32 as the kernel stores it. */
function refAddNorm(
  x: Float64Array,
  d: Float64Array,
  w: Float64Array,
  eps: number,
  f32sum = false,
) {
  const s = x.map((v, i) => (f32sum ? Math.fround(v + d[i]) : v + d[i]));
  return [s, refRmsNorm(s, w, eps)];
}

bothReadPaths(
  "addRmsNorm: sum and norm vs float64, equal to add + rmsNorm, gradients",
  async () => {
    await bothConfigs(async (config) => {
      let worst = 0;
      for (const shape of [[1, 1], [7, 13], [129, 257], [256, 896]]) {
        const h = shape.at(-1)!;
        const n = shape.reduce((a, b) => a * b, 1);
        const [x, d, w] = [randn(n), randn(n), randn(h)].map(f32round);
        const [xt, dt, wt] = [upload(x, shape), upload(d, shape), upload(w, [h])];
        const [s, y] = addRmsNorm(xt, dt, wt);
        const [sv, yv, unfused] = await readAll([s, y, rmsNorm(add(xt, dt), wt)]);
        const [ws, wy] = refAddNorm(x, d, w, 1e-6, true);
        assertClose(sv, ws, { rtol: 0, atol: 0, label: `sum [${shape}]` });
        worst = Math.max(
          worst,
          assertClose(yv, wy, { rtol: 1e-5, atol: 1e-6, label: `[${shape}]` }),
        );
        assert.deepEqual(yv, unfused, "addRmsNorm differs from rmsNorm(add(x, d))");
      }
      const errs: number[] = [];
      for (const shape of [[7, 13], [3, 8]]) {
        const h = shape.at(-1)!;
        for (const out of [0, 1]) {
          const r = await gradCheck(
            (x, d, w) => addRmsNorm(x, d, w, 1e-5)[out],
            (x, d, w) => refAddNorm(x, d, w, 1e-5)[out],
            [{ shape }, { shape }, { shape: [h], grad: out === 1 }],
            { label: `addRmsNorm[${out}] [${shape}] ${config}` },
          );
          errs.push(r.forward, ...r.grads);
        }
      }
      console.log(
        `addRmsNorm (${config}): forward max rel err ${worst.toExponential(2)}, grads ` +
          `${Math.max(...errs).toExponential(2)}`,
      );
    });
  },
);
