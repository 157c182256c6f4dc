import { backward } from "../../kernels/autograd.ts";
import { rmsNorm, rmsNormSizes } from "../../kernels/rmsnorm.ts";
import { readAll } from "../../kernels/tensor.ts";
import { assert, assertClose, f32round, gpuReady, gradCheck, randn, upload } from "../helpers.ts";

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
Deno.test("rmsNorm forward vs float64 (odd, 3-D and large shapes)", async () => {
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

Deno.test("rmsNorm gradients (dx, dweight) vs finite differences", async () => {
  await bothConfigs(async (config) => {
    const errs: number[] = [];
    for (const shape of [[1, 1], [7, 13], [3, 4, 9]]) {
      const h = shape.at(-1)!;
      const r = await gradCheck(
        (x, w) => rmsNorm(x, w, 1e-5),
        (x, w) => refRmsNorm(x, w, 1e-5),
        [{ shape }, { shape: [h] }],
        { label: `rmsNorm [${shape}] ${config}` },
      );
      errs.push(r.forward, ...r.grads);
      console.log(shape, r);
    }
    console.log(`rmsNorm grads (${config}): max rel err ${Math.max(...errs).toExponential(2)}`);
  });
});

Deno.test("rmsNorm forward and backward are bit-identical run to run", async () => {
  const shape = [300, 896];
  const x = f32round(randn(300 * 896));
  const w = f32round(randn(896));
  const gy = f32round(randn(300 * 896));
  const run = async () => {
    const xt = upload(x, shape);
    const wt = upload(w, [896]);
    xt.requiresGrad = wt.requiresGrad = true;
    const y = rmsNorm(xt, wt);
    const yv = await y.read();
    backward(y, upload(gy, shape));
    const [dx, dw] = await readAll([xt.grad!, wt.grad!]);
    for (const t of [xt, wt, y]) t.dispose();
    return [yv, dx, dw];
  };
  await bothConfigs(async () => {
    const a = await run();
    const b = await run();
    for (let i = 0; i < 3; i++) assert.deepEqual(a[i], b[i]);
  });
});
