import { gpu } from "../../../kernels/core/device.ts";
import { launchStats } from "../../../kernels/core/runtime.ts";
import {
  matmul,
  type MatmulOptions,
  matmulPathDispatches,
  matmulTextureDispatches,
  setMatmulBindingLimit,
  setMatmulTextureLimits,
  setMatmulVariant,
} from "../../../kernels/matmul/matmul.ts";
import { readAll, tensor } from "../../../kernels/core/tensor.ts";
import { texColumns } from "../../../kernels/matmul/texture.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  f32round,
  gpuReady,
  gradCheck,
  randn,
  rng,
  upload,
} from "../../helpers.ts";

await gpuReady;

const COMBOS: MatmulOptions[] = [
  { transA: false, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: false },
  { transA: true, transB: true },
];
const tag = (o: MatmulOptions) => `${o.transA ? "T" : "N"}${o.transB ? "T" : "N"}`;

/** Storage shapes of op(A) [M, K] and op(B) [K, N] under the transpose flags. */
function shapes(M: number, K: number, N: number, o: MatmulOptions, batch: number[] = []) {
  return {
    a: [...batch, ...(o.transA ? [K, M] : [M, K])],
    b: [...batch, ...(o.transB ? [N, K] : [K, N])],
  };
}

/**
 * float64 reference of matmul(a, b, o): batch dims of equal shape, or one side 2-D (or of
 * batch size 1) broadcast over the other's batch.
 */
function refMatmul(
  a: ArrayLike<number>,
  as: number[],
  b: ArrayLike<number>,
  bs: number[],
  o: MatmulOptions,
): Float64Array {
  const [M, K] = o.transA ? [as.at(-1)!, as.at(-2)!] : [as.at(-2)!, as.at(-1)!];
  const N = o.transB ? bs.at(-2)! : bs.at(-1)!;
  const nA = as.slice(0, -2).reduce((x, y) => x * y, 1);
  const nB = bs.slice(0, -2).reduce((x, y) => x * y, 1);
  const batch = Math.max(nA, nB);
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const oa = (nA === 1 ? 0 : z) * M * K;
    const ob = (nB === 1 ? 0 : z) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const x = a[oa + (o.transA ? k * M + m : m * K + k)];
          const y = b[ob + (o.transB ? n * K + k : k * N + n)];
          s += x * y;
        }
        out[(z * M + m) * N + n] = s;
      }
    }
  }
  return out;
}

/**
 * fp32 tolerance: each output sums K products in f32; for random normal data the rounding
 * error grows like √K·2⁻²⁴·|a||b| (worst case K·2⁻²⁴), so atol = 1e-5·√K is ~100× the
 * expected error while any indexing mistake (an O(1) error) still fails.
 */
const tol = (K: number) => ({ rtol: 1e-4, atol: 1e-5 * Math.sqrt(Math.max(K, 1)) });

async function checkForward(
  M: number,
  K: number,
  N: number,
  o: MatmulOptions,
  batchA: number[] = [],
  batchB: number[] = [],
): Promise<number> {
  const sa = shapes(M, K, N, o, batchA).a;
  const sb = shapes(M, K, N, o, batchB).b;
  const a = f32round(randn(sa.reduce((x, y) => x * y, 1)));
  const b = f32round(randn(sb.reduce((x, y) => x * y, 1)));
  const ta = upload(a, sa);
  const tb = upload(b, sb);
  const c = matmul(ta, tb, o);
  const r = Math.max(batchA.length, batchB.length);
  const pad = (s: number[]) => [...Array(r - s.length).fill(1), ...s];
  const batch = pad(batchA).map((d, i) => Math.max(d, pad(batchB)[i]));
  assert.deepEqual(c.shape, [...batch, M, N]);
  const got = await download(c);
  const label = `${tag(o)} [${sa}]·[${sb}]`;
  const err = assertClose(got, refMatmul(a, sa, b, sb, o), { ...tol(K), label });
  for (const t of [ta, tb, c]) t.dispose();
  return err;
}

bothReadPaths("matmul: odd shapes, all transpose combos, vs float64 (scalar path)", async () => {
  const errs: string[] = [];
  for (const o of COMBOS) {
    for (const [M, K, N] of [[1, 1, 1], [7, 13, 5], [129, 257, 65]]) {
      errs.push(`${tag(o)} ${M}x${K}x${N}: ${(await checkForward(M, K, N, o)).toExponential(1)}`);
    }
  }
  console.log("max rel err", errs.join(", "));
});

bothReadPaths("matmul: vec4 path with ragged tiles, all transpose combos", async () => {
  // Multiples of 4 but not of the 16×16 / 128-column tiles; M = 132 uses the 16-row tile.
  const errs: string[] = [];
  for (const o of COMBOS) {
    errs.push(`${tag(o)}: ${(await checkForward(36, 68, 40, o)).toExponential(1)}`);
  }
  errs.push(`NN 132: ${(await checkForward(132, 20, 136, COMBOS[0])).toExponential(1)}`);
  errs.push(`TT 132: ${(await checkForward(132, 64, 36, COMBOS[3])).toExponential(1)}`);
  console.log("max rel err", errs.join(", "));
});

bothReadPaths("matmul: narrow C (workgroups of 1, 2 or 4 tile columns)", async () => {
  // N ≤ 64 shapes the workgroup's 8 invocations as fewer columns × more rows of tiles.
  const errs: string[] = [];
  for (const N of [1, 3, 16, 17, 24, 43, 64]) {
    for (const o of [{}, { transB: true }, { transA: true }]) {
      const e = await checkForward(37, 24, N, o); // scalar path for odd N, vec4 otherwise
      errs.push(`${tag(o)} N=${N}: ${e.toExponential(1)}`);
    }
  }
  console.log("max rel err", errs.join(", "));
});

bothReadPaths(
  "matmul: ragged N with Bᵀ runs padded to N % 4 = 0, bit-identical to the scalar kernel",
  async () => {
    // An LM head over a 43-token vocabulary: B [43, 96] padded with a zero row, C' [M, 44] on
    // the fast path, C's 43 columns copied out.
    const errs: string[] = [];
    for (
      const [M, K, N, batch] of [[70, 96, 43, []], [768, 96, 43, []], [16, 24, 5, [3]]] as const
    ) {
      const o = { transB: true };
      const e = await checkForward(M, K, N, o, [...batch]);
      const a = upload(f32round(randn(M * K * (batch[0] ?? 1))), [...batch, M, K]);
      const b = upload(f32round(randn(N * K)), [N, K]);
      const before = matmulPathDispatches().scalar;
      const fast = matmul(a, b, o);
      assert.equal(matmulPathDispatches().scalar, before, "the padded product took no scalar path");
      setMatmulVariant({ path: "scalar" });
      let slow;
      try {
        slow = matmul(a, b, o);
      } finally {
        setMatmulVariant(undefined);
      }
      const [x, y] = await readAll([fast, slow]);
      assert.deepEqual(x, y, `${M}x${K}x${N}: padded and scalar results differ`);
      for (const t of [a, b, fast, slow]) t.dispose();
      errs.push(`${M}x${K}x${N}: ${e.toExponential(1)}`);
    }
    console.log("max rel err", errs.join(", "));
  },
);

bothReadPaths("matmul: short-M tiles (decode-sized batches)", async () => {
  const errs: string[] = [];
  for (const o of [COMBOS[1], COMBOS[2]]) {
    for (const M of [1, 2, 6, 13, 40]) {
      errs.push(`${tag(o)} M=${M}: ${(await checkForward(M, 24, 140, o)).toExponential(1)}`);
    }
  }
  console.log("max rel err", errs.join(", "));
});

bothReadPaths("matmul: batched, broadcast weight and broadcast left operand", async () => {
  const errs = [
    // same batch (attention-style [B, H, T, D] products)
    await checkForward(9, 8, 12, COMBOS[1], [2, 3], [2, 3]),
    await checkForward(7, 5, 6, COMBOS[2], [2, 3], [2, 3]),
    // activations [B, T, H] × weight [H, N] and × weightᵀ [N, H] (flattened to one matmul)
    await checkForward(5, 12, 8, COMBOS[0], [3], []),
    await checkForward(5, 12, 8, COMBOS[1], [3], []),
    await checkForward(6, 7, 9, COMBOS[3], [2], [1]), // transA: a batched product per batch
    // 2-D left operand broadcast over a batched right operand
    await checkForward(6, 8, 4, COMBOS[0], [], [3]),
    // a single matrix with batch dims of size 1 broadcasts too
    await checkForward(6, 8, 4, COMBOS[1], [3], [1, 1]),
  ];
  console.log("max rel err", errs.map((e) => e.toExponential(1)).join(", "));
});

Deno.test("matmul: 512×512×512 vs float64", async () => {
  const n = 512;
  console.log("max rel err", (await checkForward(n, n, n, COMBOS[0])).toExponential(2));
});

/**
 * Run `fn` and check it went through the texture path in at least `min` dispatches (CPU
 * adapters only: elsewhere the buffer kernels take every shape and the checks test those).
 */
async function viaTextures<T>(fn: () => Promise<T>, min = 1): Promise<T> {
  const before = matmulTextureDispatches();
  const out = await fn();
  const n = matmulTextureDispatches() - before;
  if (gpu().isCpu) assert.ok(n >= min, `expected ≥ ${min} texture-path dispatches, got ${n}`);
  return out;
}

Deno.test("matmul: texture path, all transpose combos, ragged tiles, batches", async () => {
  // Stored rows are multiples of 64 floats (the copies' condition); M, N and the K panels
  // (256 floats with transB) are ragged against the 8×128 workgroup tile.
  const errs: string[] = [];
  const cases: [number, number, number, MatmulOptions][] = [
    [70, 128, 192, COMBOS[0]],
    [70, 320, 132, COMBOS[1]],
    [64, 36, 192, COMBOS[2]],
    [128, 320, 68, COMBOS[3]],
  ];
  for (const [M, K, N, o] of cases) {
    const e = await viaTextures(() => checkForward(M, K, N, o));
    errs.push(`${tag(o)} ${M}x${K}x${N}: ${e.toExponential(1)}`);
  }
  // Batches as texture layers: both batched, and a broadcast left operand.
  const eb = await viaTextures(() => checkForward(16, 64, 40, COMBOS[1], [2, 3], [2, 3]));
  const et = await viaTextures(() => checkForward(128, 64, 64, COMBOS[3], [3], [3]));
  const el = await viaTextures(() => checkForward(16, 64, 64, COMBOS[0], [], [3]));
  errs.push(
    `batched NT: ${eb.toExponential(1)}`,
    `batched TT: ${et.toExponential(1)}`,
    `broadcast A: ${el.toExponential(1)}`,
  );
  console.log("max rel err", errs.join(", "));
});

Deno.test("matmul: texture path for rows that are not a multiple of 64 floats", async () => {
  // Hidden sizes like 96 give 384-byte rows, which copyBufferToTexture cannot take: 2 or 4
  // rows together can, so those operands are copied into bands of interleaved rows.
  const errs: string[] = [];
  const cases: [number, number, number, MatmulOptions][] = [
    [70, 96, 36, COMBOS[0]], // B rows of 36 floats would need 16 bands: the buffer path
    [70, 96, 100, COMBOS[1]], // A and B rows of 96: 2 bands each
    [96, 48, 96, COMBOS[2]], // Aᵀ rows of 96 (2 bands), B rows of 96
    [160, 80, 48, COMBOS[3]], // Aᵀ rows of 160 (2 bands), Bᵀ rows of 80 (4 bands)
    [768, 96, 288, { transB: true }], // a tiny preset's q/k/v-sized Linear layer
    [768, 288, 96, {}], // its input gradient
    [96, 768, 288, { transA: true }], // its weight gradient
    [45, 32, 160, {}], // 2 bands for A (an odd row count), B aligned
  ];
  for (const [M, K, N, o] of cases) {
    const pitchA = o.transA ? M : K, pitchB = o.transB ? K : N;
    const bandable = (p: number) => [1, 2, 4].some((r) => (p * r) % 64 === 0);
    const e = bandable(pitchA) && bandable(pitchB)
      ? await viaTextures(() => checkForward(M, K, N, o))
      : await viaTextures(() => checkForward(M, K, N, o), 0);
    errs.push(`${tag(o)} ${M}x${K}x${N}: ${e.toExponential(1)}`);
  }
  // Batches as layers, each copied in bands (row counts divisible by the bands).
  const eb = await viaTextures(() => checkForward(16, 96, 40, COMBOS[1], [2, 3], [2, 3]));
  const el = await viaTextures(() => checkForward(20, 96, 48, COMBOS[0], [], [3]));
  errs.push(`batched NT: ${eb.toExponential(1)}`, `broadcast A: ${el.toExponential(1)}`);
  console.log("max rel err", errs.join(", "));
});

Deno.test("matmul: texture path with 16, 12 and 8 columns per invocation", async () => {
  // Each column count forced on N ragged against its 128-, 96- or 64-column workgroups,
  // every transpose combo, batches as layers, and B panels cut small (several layers).
  const errs: string[] = [];
  try {
    for (const tn of [16, 12, 8]) {
      setMatmulVariant({ path: "texture", tm: 8, tn });
      const cases: [number, number, number, MatmulOptions][] = [
        [40, 64, 112, COMBOS[0]],
        [24, 128, 92, COMBOS[1]],
        [32, 96, 288, COMBOS[2]],
        [64, 64, 196, COMBOS[3]],
      ];
      for (const [M, K, N, o] of cases) {
        const e = await viaTextures(() => checkForward(M, K, N, o));
        errs.push(`${tn} ${tag(o)} ${M}x${K}x${N}: ${e.toExponential(1)}`);
      }
      const eb = await viaTextures(() => checkForward(16, 64, 52, COMBOS[1], [2, 3], [2, 3]));
      errs.push(`${tn} batched NT: ${eb.toExponential(1)}`);
      setMatmulTextureLimits({ dim: 32, layers: 8, bytes: 64 * 1024 });
      const ec = await viaTextures(() => checkForward(48, 64, 320, COMBOS[0]), 2);
      setMatmulTextureLimits(undefined);
      errs.push(`${tn} chunked NN: ${ec.toExponential(1)}`);
    }
  } finally {
    setMatmulVariant(undefined);
    setMatmulTextureLimits(undefined);
  }
  assert.throws(() => setMatmulVariant({ path: "vec4", tn: 12 }), /texture path only/);
  assert.throws(() => setMatmulVariant({ path: "texture", tn: 4 }), /texture path only/);
  console.log("max rel err", errs.join(", "));
});

Deno.test("matmul: the texture path's column count follows N", () => {
  // No column computed only to be dropped where a narrower workgroup covers N exactly.
  assert.deepStrictEqual([96, 288, 64, 44, 256, 896, 4864].map(texColumns), [3, 3, 2, 2, 4, 4, 4]);
});

Deno.test("matmul: texture path cut to small textures and C windows", async () => {
  // 32-texel textures of at most 16 KiB and 3 layers, C windows of 16 KiB: M, N and K
  // chunks (K chunks accumulate into C), several B panels, and batch groups of 3 + 2.
  setMatmulTextureLimits({ dim: 32, layers: 3, bytes: 16 * 1024 });
  setMatmulBindingLimit(16 * 1024);
  try {
    const errs: string[] = [];
    for (const o of COMBOS) {
      const e = await viaTextures(() => checkForward(128, 192, 256, o), 4);
      errs.push(`${tag(o)}: ${e.toExponential(1)}`);
    }
    const eb = await viaTextures(() => checkForward(16, 64, 16, COMBOS[1], [5], [5]), 2);
    errs.push(`batch: ${eb.toExponential(1)}`);
    console.log("max rel err", errs.join(", "));
  } finally {
    setMatmulTextureLimits(undefined);
    setMatmulBindingLimit(undefined);
  }
});

bothReadPaths("matmul: gradients of both operands, every transpose combo", async () => {
  const errs: string[] = [];
  for (const o of COMBOS) {
    for (const [M, K, N] of [[3, 5, 2], [4, 8, 4]]) {
      const s = shapes(M, K, N, o);
      const r = await gradCheck(
        (a, b) => matmul(a, b, o),
        (a, b) => refMatmul(a, s.a, b, s.b, o),
        [{ shape: s.a }, { shape: s.b }],
        { label: `grad ${tag(o)} ${M}x${K}x${N}` },
      );
      errs.push(`${tag(o)} ${M}x${K}x${N}: ${Math.max(...r.grads).toExponential(1)}`);
    }
  }
  console.log("max rel grad err", errs.join(", "));
});

Deno.test("matmul: gradients through batch broadcasting", async () => {
  const cases: [number[], number[], MatmulOptions][] = [
    [[2, 3, 4], [5, 4], { transB: true }], // Linear: x [B, T, H] · Wᵀ, dW over B·T rows
    [[2, 3, 4], [4, 5], {}],
    [[2, 4, 3], [4, 5], { transA: true }], // dW summed over the batch
    [[3, 4], [2, 4, 5], {}], // broadcast left operand: dA summed over the batch
    [[2, 3, 4], [2, 4, 2], {}],
  ];
  const errs: string[] = [];
  for (const [sa, sb, o] of cases) {
    const r = await gradCheck(
      (a, b) => matmul(a, b, o),
      (a, b) => refMatmul(a, sa, b, sb, o),
      [{ shape: sa }, { shape: sb }],
      { label: `grad [${sa}]·[${sb}] ${tag(o)}` },
    );
    errs.push(Math.max(...r.grads).toExponential(1));
  }
  console.log("max rel grad err", errs.join(", "));
});

bothReadPaths(
  "matmul: windows under a small binding limit (M, N, K and batch chunks)",
  async () => {
    setMatmulBindingLimit(16 * 1024); // 4096 floats per binding
    try {
      const errs: string[] = [];
      for (const o of COMBOS) {
        // Each operand is 2–3× the limit, so A, B and C are all tiled; K chunks accumulate.
        const before = launchStats().dispatches;
        errs.push(`${tag(o)}: ${(await checkForward(68, 160, 132, o)).toExponential(1)}`);
        assert.ok(launchStats().dispatches - before > 2, "expected several windowed dispatches");
        errs.push(`${tag(o)} ragged: ${(await checkForward(67, 161, 130, o)).toExponential(1)}`);
      }
      // A batch that only fits a few matrices at a time.
      errs.push(
        `batch: ${(await checkForward(16, 20, 24, COMBOS[1], [12], [12])).toExponential(1)}`,
      );
      console.log("max rel err", errs.join(", "));
    } finally {
      setMatmulBindingLimit(undefined);
    }
  },
);

Deno.test("matmul: transB weight beyond the 128 MiB binding cap (LM-head shape)", async () => {
  // weight [N, K] = 153.6 MB; M = 3 takes the buffer kernels (windows of the weight), M = 16
  // the texture path on CPU adapters (N cut to the texture height, C to the binding cap).
  const [K, N] = [64, 600_000];
  const r = rng(1234);
  const w = new Float32Array(N * K);
  for (let i = 0; i < w.length; i++) w[i] = r() - 0.5;
  const tw = tensor(w, [N, K]);
  // float64 reference on a sample of outputs, including both sides of each window edge.
  const cols = [0, 1, N - 1, N - 2, 524_159, 524_160, 524_161, 524_287, 524_288, 8191, 8192];
  for (let i = 0; i < 400; i++) cols.push(Math.floor(r() * N));
  const errs: string[] = [];
  for (const M of [3, 16]) {
    const x = Float32Array.from(randn(M * K));
    const tx = tensor(x, [M, K]);
    const before = launchStats().dispatches; // counts both paths' dispatches
    const run = () => matmul(tx, tw, { transB: true });
    const y = M === 16 ? await viaTextures(() => Promise.resolve(run())) : run();
    const n = launchStats().dispatches - before;
    assert.ok(n >= 2, "expected the weight to be split into windows");
    const got = await y.read();
    const want: number[] = [];
    const have: number[] = [];
    for (const n of cols) {
      for (let m = 0; m < M; m++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
        want.push(s);
        have.push(got[m * N + n]);
      }
    }
    const err = assertClose(have, want, { ...tol(K), label: `windowed LM head M=${M}` });
    errs.push(`M=${M}: ${err.toExponential(2)}`);
    for (const t of [tx, y]) t.dispose();
  }
  console.log("max rel err", errs.join(", "));
  tw.dispose();
});

Deno.test("matmul: same inputs give bit-identical outputs", async () => {
  const cases = [[70, 64, 36, COMBOS[0]], [33, 47, 29, COMBOS[3]], [72, 128, 192, COMBOS[1]]];
  for (const [M, K, N, o] of cases as [number, number, number, MatmulOptions][]) {
    const s = shapes(M, K, N, o);
    const ta = upload(randn(M * K), s.a);
    const tb = upload(randn(K * N), s.b);
    const [x, y] = await readAll([matmul(ta, tb, o), matmul(ta, tb, o)]);
    assert.deepEqual(new Uint32Array(x.buffer), new Uint32Array(y.buffer));
    ta.dispose();
    tb.dispose();
  }
  setMatmulBindingLimit(16 * 1024); // the K-accumulating windowed path too
  try {
    const ta = upload(randn(40 * 300), [40, 300]);
    const tb = upload(randn(300 * 20), [300, 20]);
    const [x, y] = await readAll([matmul(ta, tb), matmul(ta, tb)]);
    assert.deepEqual(new Uint32Array(x.buffer), new Uint32Array(y.buffer));
  } finally {
    setMatmulBindingLimit(undefined);
  }
});

Deno.test("matmul: shape errors name both operands", () => {
  const a = upload(randn(6), [2, 3]);
  const b = upload(randn(8), [4, 2]);
  assert.throws(() => matmul(a, b), /inner sizes differ.*\[2,3\].*\[4,2\]/);
  const c = upload(randn(24), [2, 3, 4]);
  const d = upload(randn(36), [3, 4, 3]);
  assert.throws(() => matmul(c, d), /batch shapes/);
  for (const t of [a, b, c, d]) t.dispose();
});

Deno.test("matmul: empty inner dimension gives zeros", async () => {
  const a = tensor(new Float32Array(0), [3, 0]);
  const b = tensor(new Float32Array(0), [0, 5]);
  const c = matmul(a, b);
  assert.deepEqual(c.shape, [3, 5]);
  assert.deepEqual(Array.from(await download(c)), new Array(15).fill(0));
});
