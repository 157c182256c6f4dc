import { noGrad } from "../../../kernels/core/autograd.ts";
import {
  matmulPacked,
  matmulPackedDispatches,
  packWeight,
  setPackedMaxRows,
  setPackedTextureLimits,
} from "../../../kernels/matmul/packed.ts";
import { write } from "../../../kernels/core/tensor.ts";
import { gpu } from "../../../kernels/core/device.ts";
import { launchStats } from "../../../kernels/core/runtime.ts";
import { matmul, textureWeight } from "../../../kernels/matmul/matmul.ts";
import { assert, assertClose, download, f32round, gpuReady, randn, upload } from "../../helpers.ts";

await gpuReady;

/** float64 reference of x · wᵀ, x [M, K], w [N, K]; only the columns in `cols` if given. */
function ref(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number) {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      out[m * N + n] = s;
    }
  }
  return out;
}

// fp32 dot products of length K with O(1) inputs: error ≈ √K·2⁻²⁴·Σ|xw| ≈ 1e-5 relative
// to the output scale at K = 896; 1e-4 normwise leaves margin, elementwise atol covers
// outputs near zero.
const TOL = { rtol: 1e-4, atol: 1e-4 * 30 };

async function check(M: number, N: number, K: number, shape?: number[]) {
  const xd = f32round(randn(M * K));
  const wd = f32round(randn(N * K));
  const x = upload(xd, shape ?? [M, K]);
  const w = upload(wd, [N, K]);
  const pw = packWeight(w);
  const before = matmulPackedDispatches();
  const y = noGrad(() => matmulPacked(x, pw));
  assert.deepEqual(y.shape, [...(shape ?? [M, K]).slice(0, -1), N]);
  const got = await download(y);
  const rel = assertClose(got, ref(xd, wd, M, N, K), { ...TOL, label: `${M}×${N}×${K}` });
  console.log(`packed ${M}×${N}×${K}: max rel err ${rel.toExponential(2)}`);
  const ran = matmulPackedDispatches() > before;
  for (const t of [x, w, y]) t.dispose();
  pw.dispose();
  return ran;
}

Deno.test("matmulPacked matches float64 for M = 1, 2, 5, 8, 16", async () => {
  for (const [M, N, K] of [[1, 4864, 896], [2, 1000, 64], [5, 36, 896], [8, 1000, 896]]) {
    assert(await check(M, N, K), "packed path taken");
  }
  assert(await check(16, 36, 64, [2, 8, 64]), "packed path taken (batched x)");
});

Deno.test("matmulPacked chunks a big N across layers (N = 40,000)", async () => {
  const M = 3, N = 40000, K = 64;
  const xd = f32round(randn(M * K));
  const wd = f32round(randn(N * K));
  const x = upload(xd, [M, K]);
  const w = upload(wd, [N, K]);
  for (const dim of [undefined, 4096]) {
    setPackedTextureLimits(dim ? { dim } : undefined);
    const pw = packWeight(w);
    assert(pw.packed);
    const y = noGrad(() => matmulPacked(x, pw));
    const got = await download(y);
    // Sampled check: every 37th column of every row, plus the last column.
    const cols = [...Array(Math.ceil(N / 37)).keys()].map((i) => i * 37).concat([N - 1]);
    let worst = 0;
    for (let m = 0; m < M; m++) {
      const a = cols.map((n) => got[m * N + n]);
      const e = cols.map((n) => {
        let s = 0;
        for (let k = 0; k < K; k++) s += xd[m * K + k] * wd[n * K + k];
        return s;
      });
      worst = Math.max(worst, assertClose(a, e, { ...TOL, label: `big N row ${m}` }));
    }
    console.log(
      `packed ${M}×${N}×${K} (dim ${dim ?? "device"}): max rel err ${worst.toExponential(2)}`,
    );
    y.dispose();
    pw.dispose();
  }
  setPackedTextureLimits(undefined);
  x.dispose();
  w.dispose();
});

/** x [M, K] and a packed w [N, K] on fresh random data, plus a second weight to refresh to. */
function refreshCase(M: number, N: number, K: number) {
  const xd = f32round(randn(M * K));
  const w1 = f32round(randn(N * K));
  const w2 = f32round(randn(N * K));
  const x = upload(xd, [M, K]);
  const w = upload(w1, [N, K]);
  return { xd, w1, w2, x, w, pw: packWeight(w) };
}

Deno.test("matmulPacked: refresh() picks up a changed weight; deterministic", async () => {
  const M = 4, N = 36, K = 128;
  const { xd, w1, w2, x, w, pw } = refreshCase(M, N, K);
  const ya = noGrad(() => matmulPacked(x, pw));
  const yb = noGrad(() => matmulPacked(x, pw));
  write(w, Float32Array.from(w2));
  pw.refresh();
  const yc = noGrad(() => matmulPacked(x, pw));
  const [a, b, c] = [await download(ya), await download(yb), await download(yc)];
  assert.deepEqual(a, b, "bit-identical run to run");
  assertClose(a, ref(xd, w1, M, N, K), { ...TOL, label: "before refresh" });
  assertClose(c, ref(xd, w2, M, N, K), { ...TOL, label: "after refresh" });
  for (const t of [x, w, ya, yb, yc]) t.dispose();
  pw.dispose();
});

Deno.test("matmulPacked falls back to matmul where the path does not apply", async () => {
  // K % 64 ≠ 0 (copy row pitch), N % 4 ≠ 0 (vec4 C), M above the row limit, rank-1 x.
  assert(!(await check(3, 36, 36)), "K = 36 falls back");
  assert(!(await check(3, 37, 64)), "N = 37 falls back");
  setPackedMaxRows(8);
  try {
    assert(!(await check(9, 36, 64)), "M = 9 > 8 falls back");
  } finally {
    setPackedMaxRows(undefined);
  }
  assert(await check(1, 36, 64, [64]), "rank-1 x takes the packed path");
  const w = upload(randn(36 * 64), [36, 64]);
  w.requiresGrad = true;
  const pw = packWeight(w);
  const x = upload(randn(64), [1, 64]);
  assert.throws(() => matmulPacked(x, pw), /noGrad/);
  for (const t of [x, w]) t.dispose();
  pw.dispose();
});

Deno.test("matmulPacked beyond the packed rows: the weight textured once, no copy per call", async () => {
  // K = 96 (the packed path can't take it) and 40 rows (more than it takes): matmul's
  // texture path with the weight bound from a texture made on first use. Same bits as a
  // plain matmul, fewer copies per call, and refresh() picks up a changed weight.
  const M = 40, N = 288, K = 96;
  const { xd, w1, w2, x, w, pw } = refreshCase(M, N, K);
  const copies = (fn: () => unknown) => {
    const before = launchStats().copies;
    fn();
    return launchStats().copies - before;
  };
  let ya = noGrad(() => matmulPacked(x, pw)); // first use: textures the weight
  ya.dispose();
  let yb = matmul(x, w, { transB: true });
  yb.dispose();
  const perCall = copies(() => ya = noGrad(() => matmulPacked(x, pw)));
  const plain = copies(() => yb = matmul(x, w, { transB: true }));
  const tw = gpu().isCpu ? textureWeight(w) : null; // null where the texture path is off
  if (tw) {
    tw.dispose();
    assert.ok(perCall < plain, `textured weight: ${perCall} copies per call vs ${plain}`);
  }
  write(w, Float32Array.from(w2));
  pw.refresh();
  const yc = noGrad(() => matmulPacked(x, pw));
  const [a, b, c] = [await download(ya), await download(yb), await download(yc)];
  assert.deepEqual(a, b, "bit-identical to matmul");
  assertClose(a, ref(xd, w1, M, N, K), { ...TOL, label: "before refresh" });
  assertClose(c, ref(xd, w2, M, N, K), { ...TOL, label: "after refresh" });
  for (const t of [x, w, ya, yb, yc]) t.dispose();
  pw.dispose();
});
