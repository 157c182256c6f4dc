import { maskedMean, maskedSum, mean, sum } from "../../../kernels/reduce/reduce.ts";
import { setRowLayout } from "../../../kernels/reduce/rows.ts";
import { sync } from "../../../kernels/core/runtime.ts";
import { copyInto, empty, readAll, type Tensor } from "../../../kernels/core/tensor.ts";
import { backward } from "../../../kernels/core/autograd.ts";
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

type Mode = "sum" | "mean" | "maskedSum" | "maskedMean";

/** float64 reference: each row (or everything when cols = size) reduced, plus Σ|x·m| per row. */
function ref(
  mode: Mode,
  x: ArrayLike<number>,
  m: ArrayLike<number> | null,
  cols: number,
  scale = 1,
) {
  const rows = x.length / cols;
  const out = new Float64Array(rows);
  const abs = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let num = 0, den = 0;
    for (let j = r * cols; j < (r + 1) * cols; j++) {
      const w = m ? m[j] : 1;
      num += x[j] * w;
      abs[r] += Math.abs(x[j] * w);
      den += w;
    }
    out[r] = mode === "sum" || mode === "maskedSum" ? num : den === 0 ? 0 : num / den;
    out[r] *= scale;
    abs[r] *= Math.abs(scale) / (mode === "mean" || mode === "maskedMean" ? Math.max(den, 1) : 1);
  }
  return { out, abs };
}

function run(mode: Mode, x: Tensor, m: Tensor | null, axis?: number, scale?: number): Tensor {
  const opts = { axis, scale };
  if (mode === "sum") return sum(x, opts);
  if (mode === "mean") return mean(x, opts);
  if (mode === "maskedSum") return maskedSum(x, m!, opts);
  return maskedMean(x, m!, opts);
}

function randomMask(n: number, seed: number, keep = 0.7): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => (r() < keep ? 1 : 0));
}

/**
 * fp32 summation error is bounded by (longest chain of sequential additions)·eps·Σ|x|. The
 * kernels sum blocks of 256 terms apart, then the blocks (≤ 200 here), then ≤ 1024 chunk
 * partials in a fold: chains of ≤ ~1500 additions, each error typically cancelling like a
 * random walk, so 256·eps ≈ 1.5e-5 of Σ|x| is a safe bound (observed errors are 10–100×
 * smaller). The tolerance is absolute, per output, because Σx of random signs can be far
 * smaller than Σ|x|.
 */
function check(
  got: ArrayLike<number>,
  want: { out: Float64Array; abs: Float64Array },
  label: string,
): number {
  let worst = 0;
  for (let i = 0; i < want.out.length; i++) {
    const err = Math.abs(got[i] - want.out[i]);
    const tol = 256 * 2 ** -24 * want.abs[i] + 1e-30;
    if (!(err <= tol)) {
      assert.fail(`${label}: output ${i}: got ${got[i]}, want ${want.out[i]} (tol ${tol})`);
    }
    worst = Math.max(worst, err / (want.abs[i] + 1e-30));
  }
  return worst; // error relative to Σ|x·m| (the scale fp32 summation error is bounded by)
}

for (const layout of ["thread", "group"] as const) {
  Deno.test(`reductions (${layout} per row): full and last-axis, masked and plain, vs float64`, async () => {
    setRowLayout(layout);
    try {
      await checkShapes(layout);
    } finally {
      setRowLayout();
    }
  });
}

async function checkShapes(layout: string) {
  const errs: string[] = [];
  for (const shape of [[1, 1], [7, 13], [129, 257], [3, 50_000], [1000, 3]]) {
    const n = shape[0] * shape[1];
    const seed = freshSeed();
    const xv = Float32Array.from(randn(n, seed));
    const mv = randomMask(n, seed + 1);
    for (let j = 0; j < shape[1]; j++) mv[j] = 0; // row 0 fully masked: its mean is 0, not NaN
    const x = upload(xv, shape);
    const m = upload(mv, shape);
    let worst = 0;
    for (const mode of ["sum", "mean", "maskedSum", "maskedMean"] as const) {
      const masked = mode.startsWith("masked");
      const all = run(mode, x, masked ? m : null, undefined, 0.5);
      const rows = run(mode, x, masked ? m : null, -1);
      const [a, r] = await readAll([all, rows]);
      assert.deepEqual(all.shape, [1]);
      assert.deepEqual(rows.shape, [shape[0]]);
      const label = `${mode} [${shape}] (seed ${seed})`;
      worst = Math.max(worst, check(a, ref(mode, xv, masked ? mv : null, n, 0.5), `${label} all`));
      worst = Math.max(
        worst,
        check(r, ref(mode, xv, masked ? mv : null, shape[1]), `${label} rows`),
      );
    }
    errs.push(`[${shape}] ${worst.toExponential(1)}`);
  }
  console.log(`reduce (${layout}) max err/Σ|x|: ${errs.join(", ")}`);
}

bothReadPaths("reductions: keepDim and 1-D shapes", () => {
  const x = upload(randn(24), [2, 3, 4]);
  assert.deepEqual(sum(x, { axis: -1 }).shape, [2, 3]);
  assert.deepEqual(mean(x, { axis: 2, keepDim: true }).shape, [2, 3, 1]);
  assert.deepEqual(sum(upload(randn(5), [5]), { axis: -1 }).shape, [1]);
  assert.throws(() => sum(x, { axis: 0 }));
});

bothReadPaths("reductions: gradients vs finite differences, both row layouts", async () => {
  for (const layout of ["thread", "group"] as const) {
    setRowLayout(layout);
    try {
      await gradChecks();
    } finally {
      setRowLayout();
    }
  }
});

async function gradChecks() {
  let worst = 0;
  const shape = [7, 13];
  const n = 91;
  const mask = randomMask(n, freshSeed());
  for (let j = 0; j < 13; j++) mask[13 + j] = 0; // an empty row
  const maskIn = { shape, data: mask, grad: false };
  for (const mode of ["sum", "mean", "maskedSum", "maskedMean"] as const) {
    const masked = mode.startsWith("masked");
    for (const axis of [undefined, -1]) {
      const cols = axis === undefined ? n : 13;
      const { grads } = await gradCheck(
        (x, m) => run(mode, x, masked ? m : null, axis, 1.5),
        (x, m) => ref(mode, x, masked ? m : null, cols, 1.5).out,
        [{ shape }, maskIn],
        { label: `${mode} axis ${axis}` },
      );
      worst = Math.max(worst, ...grads);
    }
  }
  console.log(`reduce grad max rel err ${worst.toExponential(1)}`);
}

bothReadPaths("reductions: RL loss aggregations compose with their gradients", async () => {
  const [B, T] = [5, 11];
  const mask = randomMask(B * T, freshSeed(), 0.6);
  const rowsRef = (x: Float64Array, m: Float64Array, mode: Mode) => ref(mode, x, m, T).out;
  const meanOf = (v: Float64Array) => Float64Array.of(v.reduce((a, b) => a + b, 0) / v.length);
  const inputs = [{ shape: [B, T] }, { shape: [B, T], data: mask, grad: false }];
  // token_mean
  await gradCheck(
    (x, m) => maskedMean(x, m),
    (x, m) => ref("maskedMean", x, m, B * T).out,
    inputs,
    {
      label: "token_mean",
    },
  );
  // seq_mean_token_mean
  await gradCheck(
    (x, m) => mean(maskedMean(x, m, { axis: -1 })),
    (x, m) => meanOf(rowsRef(x, m, "maskedMean")),
    inputs,
    { label: "seq_mean_token_mean" },
  );
  // seq_mean_token_sum_norm (Dr.GRPO, constant C = 16)
  await gradCheck(
    (x, m) => maskedSum(x, m, { scale: 1 / (B * 16) }),
    (x, m) => Float64Array.of(meanOf(rowsRef(x, m, "maskedSum"))[0] / 16),
    inputs,
    { label: "seq_mean_token_sum_norm" },
  );
});

/**
 * Data for the big reductions that a dropped, doubled or misplaced chunk cannot pass:
 * integers in [lo, hi], whose f32 sums are exact while every partial stays below 2^24, so
 * the GPU must equal the float64 sum exactly. With lo ≥ 1 a dropped or doubled chunk (even
 * the 2,321-element tail of 4M + 17) moves the sum by thousands, deterministically; a chunk
 * read from the wrong place moves it unless two random slices sum alike (~1% at these
 * sizes). Random-sign floats cannot do this: at 4M the 2,321-element tail sums to ~48 σ,
 * and {@link check}'s 256·eps·Σ|x| is also ~48 σ, so dropping it passed ~70% of runs.
 */
function integers(n: number, seed: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

function exactSum(x: ArrayLike<number>, m: ArrayLike<number> | null): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += m ? x[i] * m[i] : x[i];
  if (!(Math.abs(s) < 2 ** 24)) throw new Error(`test data: sum ${s} is not exact in f32`);
  return s;
}

bothReadPaths(
  "reductions: 4M-element sums are two-stage, fast and bit-identical run to run",
  async () => {
    const n = 4_000_000 + 17;
    const seed = freshSeed();
    const xv = Float32Array.from(randn(n, seed)); // random signs: the accuracy check
    const iv = integers(n, seed + 1, 1, 3); // exact sums: the every-chunk-once check
    const mv = randomMask(n, seed + 2);
    const x = upload(xv, [n]);
    const xi = upload(iv, [n]);
    const m = upload(mv, [n]);
    await sync();
    const t0 = performance.now();
    const outs = [sum(x), maskedMean(x, m), sum(x), maskedMean(x, m)];
    const got = await readAll(outs);
    const ms = performance.now() - t0;
    assert.equal(new Uint32Array(got[0].buffer)[0], new Uint32Array(got[2].buffer)[0]);
    assert.equal(new Uint32Array(got[1].buffer)[0], new Uint32Array(got[3].buffer)[0]);
    const e1 = check(got[0], ref("sum", xv, null, n), `sum 4M (seed ${seed})`);
    const e2 = check(got[1], ref("maskedMean", xv, mv, n), `maskedMean 4M (seed ${seed})`);
    const [is, ims, count] = await readAll([sum(xi), maskedSum(xi, m), sum(m)]);
    assert.equal(is[0], exactSum(iv, null), `integer sum 4M (seed ${seed})`);
    assert.equal(ims[0], exactSum(iv, mv), `integer maskedSum 4M (seed ${seed})`);
    assert.equal(count[0], exactSum(mv, null), `Σ mask 4M (seed ${seed})`);
    console.log(
      `4M: sum err/Σ|x| ${e1.toExponential(1)}, maskedMean err ${e2.toExponential(1)}; ` +
        `integer sum, maskedSum and Σ mask exact (${is[0]}, ${ims[0]}, ${count[0]}); ` +
        `4 reductions + readback ${ms.toFixed(0)} ms`,
    );
  },
);

bothReadPaths("reductions: a tensor over the 128 MiB binding cap reduces in windows", async () => {
  // 134.7 MB: two windows, the second starting mid-row (unaligned), and rows of 131,075
  // elements, past llvmpipe's 65,535-iteration loop limit for a single lane.
  // 0/1 integers (see `integers`): the masked sum (~11M) and every row sum are exact in
  // f32, so a dropped, doubled or misplaced chunk (36,864 elements) or window cannot pass.
  const [rows, cols] = [257, 131_075];
  const n = rows * cols;
  const seed = freshSeed();
  const xv = integers(n, seed, 0, 1);
  const x = upload(xv, [rows, cols]);
  const mv = new Float32Array(n).fill(1);
  for (let i = 0; i < n; i += 3) mv[i] = 0;
  const m = upload(mv, [rows, cols]);
  const [all, byRow, rowSums] = await readAll([
    maskedSum(x, m),
    mean(x, { axis: -1 }),
    sum(x, { axis: -1 }),
  ]);
  assert.equal(all[0], exactSum(xv, mv), `windowed maskedSum (seed ${seed})`);
  const e2 = check(byRow, ref("mean", xv, null, cols), `windowed row means (seed ${seed})`);
  const wantRows = ref("sum", xv, null, cols).out;
  for (let r = 0; r < rows; r++) {
    if (rowSums[r] !== wantRows[r]) {
      assert.fail(`windowed row sum ${r}: ${rowSums[r]}, want ${wantRows[r]} (seed ${seed})`);
    }
  }
  // Backward over windows: d(Σ_j x·m / Σ m)/dx = g[row]·m / Σ m, checked on sample rows.
  const gv = Float32Array.from(randn(rows));
  x.requiresGrad = true;
  backward(maskedMean(x, m, { axis: -1 }), upload(gv, [rows]));
  const sample = [0, 128, rows - 1];
  const got = await readAll(sample.map((row) => {
    const out = empty([cols]);
    copyInto(x.grad!, out, row * cols, 0, cols);
    return out;
  }));
  sample.forEach((row, k) => {
    let den = 0;
    for (let j = 0; j < cols; j++) den += mv[row * cols + j];
    const want = Float64Array.from({ length: cols }, (_, j) => gv[row] * mv[row * cols + j] / den);
    assertClose(got[k], want, { rtol: 1e-6, atol: 1e-12, label: `dx row ${row}` });
  });
  console.log(
    `windowed: maskedSum exact (${all[0]}), row sums exact, row means err ${e2.toExponential(1)}`,
  );
});
