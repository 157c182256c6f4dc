import { rope, ropeInvFreq, ropeQK } from "../../../kernels/layers/rope.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  f32round,
  gpuReady,
  gradCheck,
  randInt,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

/**
 * float64 RoPE of x [tokens, heads, d] at positions [tokens]. `hfAngles`: use Hugging Face's
 * f32 angle (f32 inv_freq times f32 position, rounded to f32) — the op's defined semantics —
 * and evaluate everything else in float64; otherwise use exact float64 angles.
 */
function refRope(
  x: Float64Array,
  pos: ArrayLike<number>,
  d: number,
  theta: number,
  hfAngles = true,
  sign = 1,
): Float64Array {
  const half = d / 2;
  const inv = ropeInvFreq(theta, d);
  const heads = x.length / (pos.length * d);
  const out = new Float64Array(x.length);
  for (let t = 0; t < pos.length; t++) {
    for (let i = 0; i < half; i++) {
      const a = hfAngles ? Math.fround(pos[t] * inv[i]) : pos[t] * Math.pow(theta, (-2 * i) / d);
      const c = Math.cos(a);
      const s = sign * Math.sin(a);
      for (let h = 0; h < heads; h++) {
        const e = (t * heads + h) * d + i;
        out[e] = x[e] * c - x[e + half] * s;
        out[e + half] = x[e + half] * c + x[e] * s;
      }
    }
  }
  return out;
}

/** Left-padded batches: row b starts at position 0 after `pad[b]` padding slots (HF uses 1). */
function leftPaddedPositions(b: number, t: number, offset: number): Int32Array {
  const pos = new Int32Array(b * t);
  for (let r = 0; r < b; r++) {
    const pad = (r * 7) % Math.max(t, 1);
    for (let j = 0; j < t; j++) pos[r * t + j] = j < pad ? 1 : offset + j - pad;
  }
  return pos;
}

// Tolerance: the reference uses the same f32 angle, so the only f32 errors are cos/sin
// (≈1e-7 absolute, rope.wgsl) and two products and a sum per output: ≲ 4e-7·max|x|. 2e-6
// absolute on N(0,1) inputs (|x| ≲ 5) leaves room; relative 1e-5 for the big values.
bothReadPaths("rope forward vs float64 (HF f32 angles), odd and large shapes", async () => {
  let worst = 0;
  const cases: [number[], number, number][] = [
    [[1, 1, 1, 2], 10000, 3],
    [[2, 3, 5, 6], 10000, 50],
    [[1, 7, 3, 64], 10000, 100],
    [[3, 5, 2, 10], 1e6, 4000],
    [[2, 512, 14, 64], 1e6, 4096],
    [[1, 129, 4, 128], 10000, 3500],
  ];
  for (const [shape, theta, maxPos] of cases) {
    const [b, t, , d] = shape;
    const n = shape.reduce((p, q) => p * q, 1);
    const x = f32round(randn(n));
    const pos = randInt(b * t, maxPos);
    const got = await download(
      rope(upload(x, shape), upload(pos, [b, t], "i32"), { theta, headDim: d }),
    );
    const err = assertClose(got, refRope(x, pos, d, theta), {
      rtol: 1e-5,
      atol: 2e-6,
      label: `rope [${shape}] θ=${theta}`,
    });
    worst = Math.max(worst, err);
  }
  console.log(`rope forward: max rel err ${worst.toExponential(2)} (vs HF f32 angles)`);
});

// Accuracy of the kernel's own sin/cos: with D = 2, inv_freq = [1] and the angle is the
// position itself, so rotating (1, 0) yields (cos pos, sin pos), which we compare against
// float64 Math.cos/sin of the same (exactly representable) angle, up to 100000 rad.
bothReadPaths("rope cos/sin accuracy at large angles", async () => {
  const pos = Int32Array.from(
    { length: 2000 },
    (_, i) => i < 1000 ? i * 37 : 100000 - (i - 1000) * 17,
  );
  const x = new Float64Array(2 * pos.length);
  for (let t = 0; t < pos.length; t++) x[2 * t] = 1;
  const got = await download(rope(upload(x, [pos.length, 1, 2]), upload(pos, [pos.length], "i32"), {
    theta: 10000,
    headDim: 2,
  }));
  let maxAbs = 0;
  for (let t = 0; t < pos.length; t++) {
    maxAbs = Math.max(
      maxAbs,
      Math.abs(got[2 * t] - Math.cos(pos[t])),
      Math.abs(got[2 * t + 1] - Math.sin(pos[t])),
    );
  }
  console.log(`rope cos/sin: max abs err ${maxAbs.toExponential(2)} for angles ≤ 1e5`);
  assert.ok(maxAbs < 5e-7, `cos/sin error ${maxAbs}`);
});

// The f32 angle itself is rounded to ulp(angle)/2, exactly as in Hugging Face's f32 RoPE.
// Against exact float64 angles (pos · θ^(−2i/D), computed here without ropeInvFreq) the
// output error is therefore about |x|·ulp(max angle) (≈ 2.4e-4 at angle 4096): documented,
// and bounded here so a regression (a lossy GPU pow, a wrong exponent or θ, a half-size
// mix-up at D = 128) would show. Llama 2's θ = 1e4 and Qwen2's θ = 1e6 at head sizes 64
// (Qwen2.5 ≤ 3B, 14:2 heads) and 128 (7B, 28:4), through ropeQK as the model calls it.
bothReadPaths(
  "rope vs exact float64 angles (θ 1e4 and 1e6, D 64 and 128): error is the f32 angle rounding",
  async () => {
    const report: string[] = [];
    for (
      const [theta, d, nq, nk] of [[10000, 64, 2, 2], [1e6, 64, 14, 2], [1e6, 128, 28, 4]] as const
    ) {
      const [b, t] = [2, 256];
      const q = f32round(randn(b * t * nq * d));
      const k = f32round(randn(b * t * nk * d));
      const pos = leftPaddedPositions(b, t, 3800);
      const [qr, kr] = ropeQK(
        upload(q, [b, t, nq, d]),
        upload(k, [b, t, nk, d]),
        upload(pos, [b, t], "i32"),
        { theta, headDim: d },
      );
      const ulp = 2 ** (Math.floor(Math.log2(4096)) - 23);
      for (
        const [name, x, got] of [["q", q, await download(qr)], [
          "k",
          k,
          await download(kr),
        ]] as const
      ) {
        const exact = refRope(x, pos, d, theta, false);
        let maxAbs = 0;
        let maxX = 0;
        for (let i = 0; i < got.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(got[i] - exact[i]));
          maxX = Math.max(maxX, Math.abs(x[i]));
        }
        assert.ok(
          maxAbs <= 2 * maxX * ulp,
          `θ=${theta} D=${d} ${name}: error ${maxAbs} exceeds 2·|x|·ulp(angle) = ${2 * maxX * ulp}`,
        );
        report.push(
          `θ=${theta} D=${d} ${name} ${maxAbs.toExponential(2)} (|x|·ulp ${
            (maxX * ulp).toExponential(2)
          })`,
        );
      }
    }
    console.log(`rope vs exact angles (pos ≤ 4095): max abs err ${report.join("; ")}`);
  },
);

bothReadPaths(
  "ropeQK rotates q and k (GQA head counts) in one dispatch, KV-cache positions",
  async () => {
    const [b, t, nq, nk, d] = [4, 1, 14, 2, 64];
    const q = f32round(randn(b * t * nq * d));
    const k = f32round(randn(b * t * nk * d));
    const pos = Int32Array.from([37, 1000, 5, 4095]); // decode step: position = cache length
    const pt = upload(pos, [b, t], "i32");
    const [qr, kr] = ropeQK(upload(q, [b, t, nq, d]), upload(k, [b, t, nk, d]), pt, {
      theta: 1e6,
      headDim: d,
    });
    const eq = assertClose(await download(qr), refRope(q, pos, d, 1e6), {
      rtol: 1e-5,
      atol: 2e-6,
      label: "q",
    });
    const ek = assertClose(await download(kr), refRope(k, pos, d, 1e6), {
      rtol: 1e-5,
      atol: 2e-6,
      label: "k",
    });
    console.log(`ropeQK: max rel err q ${eq.toExponential(2)}, k ${ek.toExponential(2)}`);
  },
);

bothReadPaths("rope gradients vs finite differences (rope and ropeQK)", async () => {
  const errs: number[] = [];
  for (
    const [shape, maxPos] of [[[1, 1, 1, 2], 5], [[2, 3, 2, 6], 300], [
      [1, 4, 3, 16],
      4000,
    ]] as const
  ) {
    const [b, t, , d] = shape;
    const pos = randInt(b * t, maxPos);
    const r = await gradCheck(
      (x, p) => rope(x, p, { theta: 10000, headDim: d }),
      (x) => refRope(x, pos, d, 10000),
      [{ shape: [...shape] }, { shape: [b, t], data: pos, dtype: "i32" }],
      { label: `rope [${shape}]`, forwardAtol: 2e-6 },
    );
    errs.push(r.forward, ...r.grads);
  }
  const [b, t, nq, nk, d] = [2, 3, 3, 1, 8];
  const pos = randInt(b * t, 1000);
  for (const which of [0, 1]) {
    const r = await gradCheck(
      (q, k, p) => ropeQK(q, k, p, { theta: 500, headDim: d })[which],
      (q, k) => refRope(which === 0 ? q : k, pos, d, 500),
      [
        { shape: [b, t, nq, d], grad: which === 0 },
        { shape: [b, t, nk, d], grad: which === 1 },
        { shape: [b, t], data: pos, dtype: "i32" },
      ],
      { label: `ropeQK output ${which}`, forwardAtol: 2e-6 },
    );
    errs.push(r.forward, ...r.grads);
  }
  console.log(`rope grads: max rel err ${Math.max(...errs).toExponential(2)}`);
});
