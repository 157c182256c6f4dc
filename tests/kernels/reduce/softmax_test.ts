import { backward } from "../../../kernels/core/autograd.ts";
import { setRowLayout } from "../../../kernels/reduce/rows.ts";
import { softmax } from "../../../kernels/reduce/softmax.ts";
import { sync } from "../../../kernels/core/runtime.ts";
import { copyInto, empty, readAll } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  freshSeed,
  gpuReady,
  gradCheck,
  randn,
  rng,
  upload,
} from "../../helpers.ts";

await gpuReady;

/** float64 softmax of each row. */
function ref(x: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
    for (let j = 0; j < cols; j++) out[r * cols + j] = Math.exp(x[r * cols + j] - m) / s;
  }
  return out;
}

async function withLayout(layout: "thread" | "group", fn: () => Promise<void>) {
  setRowLayout(layout);
  try {
    await fn();
  } finally {
    setRowLayout();
  }
}

// fp32: y = exp(x − lse) with |x − lse| ≲ 20 carries relative error ≈ |x − lse|·eps ≈ 1e-6
// plus lse's own ~1e-6, so 2e-5 relative (and 1e-9 absolute, far below the smallest
// probabilities checked) leaves a 10× margin.
const TOL = { rtol: 2e-5, atol: 1e-9 };

for (const layout of ["thread", "group"] as const) {
  Deno.test(`softmax (${layout} per row): forward vs float64 on odd and long rows`, async () => {
    await withLayout(layout, async () => {
      const errs: string[] = [];
      for (const [rows, cols] of [[1, 1], [7, 13], [129, 257], [3, 50_000], [2, 151_936]]) {
        const seed = freshSeed();
        const xv = Float32Array.from(randn(rows * cols, seed, 3));
        const [y] = await readAll([softmax(upload(xv, [rows, cols]))]);
        const e = assertClose(y, ref(xv, cols), {
          ...TOL,
          label: `softmax [${rows}, ${cols}] (seed ${seed})`,
        });
        errs.push(`[${rows},${cols}] ${e.toExponential(1)}`);
      }
      console.log(`softmax (${layout}) max rel err: ${errs.join(", ")}`);
    });
  });
}

bothReadPaths("softmax: extreme logits (±80, ties, −1e30) and 3-D shapes", async () => {
  const cols = 333;
  const r = rng(freshSeed());
  const xv = [
    ...Array(cols).fill(80),
    ...Array.from({ length: cols }, (_, j) => (j === 5 ? 80 : -80)),
    ...Array.from({ length: cols }, () => (r() < 0.5 ? 80 : -80)),
    ...Array.from({ length: cols }, (_, j) => (j % 2 ? -1e30 : r())),
  ];
  const [y] = await readAll([softmax(upload(xv, [2, 2, cols]))]);
  const e = assertClose(y, ref(Float32Array.from(xv), cols), { ...TOL, label: "extreme softmax" });
  assert.ok(y.every(Number.isFinite));
  console.log(`softmax extreme max rel err ${e.toExponential(1)}`);
});

bothReadPaths("softmax: gradient vs finite differences (both layouts)", async () => {
  const errs: string[] = [];
  for (const layout of ["thread", "group"] as const) {
    await withLayout(layout, async () => {
      for (const shape of [[1, 1], [7, 13], [3, 37], [2, 3, 5]]) {
        const cols = shape.at(-1)!;
        const { grads } = await gradCheck((x) => softmax(x), (x) => ref(x, cols), [{ shape }], {
          label: `softmax ${layout} [${shape}]`,
        });
        errs.push(grads[0].toExponential(1));
      }
    });
  }
  console.log(`softmax grad max rel err: ${errs.join(", ")}`);
});

bothReadPaths("softmax: forward and backward bit-identical run to run", async () => {
  const x = upload(randn(41 * 2003, freshSeed(), 2), [41, 2003]);
  const g = upload(randn(41 * 2003), [41, 2003]);
  const runOnce = async () => {
    x.requiresGrad = true;
    const y = softmax(x);
    backward(y, g);
    const [a, b] = await readAll([y, x.grad!]);
    x.grad = null;
    return [a, b].map((v) => new Uint32Array(v.buffer));
  };
  const first = await runOnce();
  const second = await runOnce();
  first.forEach((v, i) => assert.deepEqual(v, second[i], `output ${i} differs between runs`));
});

bothReadPaths("softmax: 221 × 151,936 (134 MB, over the binding cap) in row windows", async () => {
  const [rows, cols] = [221, 151_936];
  const xv = new Float32Array(rows * cols);
  const r = rng(freshSeed());
  for (let i = 0; i < xv.length; i++) xv[i] = (r() - 0.5) * 12;
  const x = upload(xv, [rows, cols]);
  x.requiresGrad = true;
  const gv = Float32Array.from(randn(cols));
  const g = empty([rows, cols]);
  for (let row = 0; row < rows; row++) copyInto(upload(gv, [cols]), g, 0, row * cols, cols);
  await sync();
  const t0 = performance.now();
  const y = softmax(x);
  backward(y, g);
  await sync();
  const ms = performance.now() - t0;
  const sample = [0, 219, 220];
  const outs = sample.flatMap((row) => {
    const a = empty([cols]);
    const b = empty([cols]);
    copyInto(y, a, row * cols, 0, cols);
    copyInto(x.grad!, b, row * cols, 0, cols);
    return [a, b];
  });
  const got = await readAll(outs);
  let worst = 0;
  sample.forEach((row, k) => {
    const want = ref(xv.subarray(row * cols, (row + 1) * cols), cols);
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += want[j] * gv[j];
    const wantDx = want.map((v, j) => v * (gv[j] - dot));
    worst = Math.max(
      worst,
      assertClose(got[2 * k], want, { ...TOL, label: `row ${row} y` }),
      assertClose(got[2 * k + 1], wantDx, { rtol: 1e-4, atol: 1e-9, label: `row ${row} dx` }),
    );
  });
  console.log(
    `softmax 221×151936: max rel err ${worst.toExponential(1)}, forward+backward ${
      ms.toFixed(0)
    } ms`,
  );
});
