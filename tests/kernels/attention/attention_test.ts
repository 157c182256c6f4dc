import { attention, attentionDecode } from "../../../kernels/attention/attention.ts";
import { backward, tapeLength } from "../../../kernels/core/autograd.ts";
import { createLayerKVCache, writeKV } from "../../../kernels/attention/kv_cache.ts";
import { readAll, type Tensor } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  f32round,
  freshSeed,
  gpuReady,
  gradCheck,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

interface Dims {
  B: number;
  T: number;
  Hq: number;
  Hkv: number;
  D: number;
}

/** Key visibility of query t in sequence b: causal, unmasked, inside `lens`. */
type Visible = (b: number, t: number, j: number) => boolean;
const causal = (mask?: ArrayLike<number>, T = 0): Visible => (b, t, j) =>
  j <= t && (!mask || mask[b * T + j] !== 0);

/**
 * float64 attention over [B, T, H, D] layouts: probabilities P[b, h, t, j] (0 where a key is
 * invisible; a row with no visible key is all 0) and the output P·V.
 */
function refAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  { B, T, Hq, Hkv, D }: Dims,
  visible: Visible,
  scale = 1 / Math.sqrt(D),
): { out: Float64Array; probs: Float64Array } {
  const out = new Float64Array(B * T * Hq * D);
  const probs = new Float64Array(B * Hq * T * T);
  const G = Hq / Hkv;
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / G);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * Hq + h) * D;
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          s[j] = -Infinity;
          if (!visible(b, t, j)) continue;
          const ko = ((b * T + j) * Hkv + hk) * D;
          let dot = 0;
          for (let i = 0; i < D; i++) dot += q[qo + i] * k[ko + i];
          s[j] = dot * scale;
          max = Math.max(max, s[j]);
        }
        if (max === -Infinity) continue;
        let z = 0;
        for (let j = 0; j < T; j++) z += s[j] === -Infinity ? 0 : Math.exp(s[j] - max);
        const po = ((b * Hq + h) * T + t) * T;
        for (let j = 0; j < T; j++) {
          if (s[j] === -Infinity) continue;
          const pr = Math.exp(s[j] - max) / z;
          probs[po + j] = pr;
          const vo = ((b * T + j) * Hkv + hk) * D;
          for (let i = 0; i < D; i++) out[qo + i] += pr * v[vo + i];
        }
      }
    }
  }
  return { out, probs };
}

/** float64 gradients of Σ out ⊙ dO with respect to q, k, v (analytic, via the probabilities). */
function refBackward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dO: ArrayLike<number>,
  dims: Dims,
  visible: Visible,
  scale = 1 / Math.sqrt(dims.D),
): Float64Array[] {
  const { B, T, Hq, Hkv, D } = dims;
  const { probs } = refAttention(q, k, v, dims, visible, scale);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const G = Hq / Hkv;
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / G);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * Hq + h) * D;
        const po = ((b * Hq + h) * T + t) * T;
        let rowDot = 0;
        for (let j = 0; j < T; j++) {
          const vo = ((b * T + j) * Hkv + hk) * D;
          let d = 0;
          for (let i = 0; i < D; i++) d += dO[qo + i] * v[vo + i];
          dp[j] = d;
          rowDot += probs[po + j] * d;
        }
        for (let j = 0; j < T; j++) {
          const pr = probs[po + j];
          if (pr === 0) continue;
          const ds = pr * (dp[j] - rowDot) * scale;
          const ko = ((b * T + j) * Hkv + hk) * D;
          for (let i = 0; i < D; i++) {
            dq[qo + i] += ds * k[ko + i];
            dk[ko + i] += ds * q[qo + i];
            dv[ko + i] += pr * dO[qo + i];
          }
        }
      }
    }
  }
  return [dq, dk, dv];
}

/** Random f32-representable inputs for `dims`. */
function inputs({ B, T, Hq, Hkv, D }: Dims, seed = freshSeed()) {
  return {
    q: f32round(randn(B * T * Hq * D, seed)),
    k: f32round(randn(B * T * Hkv * D, seed + 1)),
    v: f32round(randn(B * T * Hkv * D, seed + 2)),
  };
}

/** Left padding: sequence b starts after `pads[b]` pad tokens (pads ≥ 1 ⇒ fully masked rows). */
function leftPadMask(B: number, T: number, pads: number[]): Float32Array {
  const m = new Float32Array(B * T).fill(1);
  for (let b = 0; b < B; b++) for (let t = 0; t < Math.min(pads[b] ?? 0, T); t++) m[b * T + t] = 0;
  return m;
}

function upQKV(x: ReturnType<typeof inputs>, d: Dims): [Tensor, Tensor, Tensor] {
  return [
    upload(x.q, [d.B, d.T, d.Hq, d.D]),
    upload(x.k, [d.B, d.T, d.Hkv, d.D]),
    upload(x.v, [d.B, d.T, d.Hkv, d.D]),
  ];
}

const label = (d: Dims) => `B${d.B} T${d.T} Hq${d.Hq} Hkv${d.Hkv} D${d.D}`;

// Forward tolerance: fp32 dot products of ≤ 128 terms and softmax sums of ≤ 512 terms keep
// ~1e-6 relative error; 1e-4 leaves two orders of margin without hiding a wrong mask.
const FWD = { rtol: 1e-4, atol: 1e-5 };

bothReadPaths(
  "attention forward vs float64: odd shapes, GQA, padding, fully masked rows, scale",
  async () => {
    const cases: [Dims, number[] | null, number | undefined][] = [
      [{ B: 1, T: 1, Hq: 1, Hkv: 1, D: 16 }, null, undefined],
      [{ B: 2, T: 7, Hq: 4, Hkv: 2, D: 16 }, [3, 0], undefined],
      [{ B: 1, T: 129, Hq: 2, Hkv: 1, D: 16 }, null, 0.3],
      [{ B: 2, T: 19, Hq: 4, Hkv: 1, D: 64 }, [0, 5], undefined],
      [{ B: 1, T: 20, Hq: 2, Hkv: 2, D: 128 }, [2], 0.05],
      [{ B: 3, T: 4, Hq: 2, Hkv: 1, D: 16 }, [4, 1, 0], undefined], // sequence 0 all padding
    ];
    const errs: string[] = [];
    for (const [d, pads, scale] of cases) {
      const x = inputs(d);
      const mask = pads ? leftPadMask(d.B, d.T, pads) : undefined;
      const maskT = mask ? upload(mask, [d.B, d.T], pads!.length % 2 ? "i32" : "f32") : undefined;
      const out = attention(...upQKV(x, d), { keyMask: maskT, scale });
      const got = await download(out);
      const want = refAttention(x.q, x.k, x.v, d, causal(mask, d.T), scale).out;
      assert.ok(got.every(Number.isFinite), `${label(d)}: non-finite output`);
      errs.push(
        `${label(d)} ${assertClose(got, want, { ...FWD, label: label(d) }).toExponential(1)}`,
      );
    }
    console.log(`attention forward max rel err: ${errs.join("; ")}`);
  },
);

bothReadPaths("attention forward, large: B2 T512 Hq8 Hkv2 D64 with left padding", async () => {
  const d = { B: 2, T: 512, Hq: 8, Hkv: 2, D: 64 };
  const x = inputs(d);
  const mask = leftPadMask(d.B, d.T, [0, 37]);
  const got = await download(attention(...upQKV(x, d), { keyMask: upload(mask, [d.B, d.T]) }));
  const want = refAttention(x.q, x.k, x.v, d, causal(mask, d.T)).out;
  console.log(
    `attention large forward max rel err ${assertClose(got, want, FWD).toExponential(2)}`,
  );
});

bothReadPaths(
  "attention backward: gradCheck of q, k, v (GQA, padding, fully masked rows)",
  async () => {
    // [dims, left pads, scale, whether k and v need gradients (else only the dq pass runs)]
    const cases: [Dims, number[] | null, number | undefined, boolean][] = [
      [{ B: 1, T: 1, Hq: 1, Hkv: 1, D: 4 }, null, undefined, true],
      [{ B: 2, T: 5, Hq: 4, Hkv: 2, D: 8 }, [2, 0], undefined, true],
      [{ B: 1, T: 9, Hq: 3, Hkv: 1, D: 4 }, [1], 0.7, true],
      [{ B: 2, T: 6, Hq: 2, Hkv: 1, D: 4 }, [0, 3], undefined, false],
    ];
    const errs: string[] = [];
    for (const [d, pads, scale, kvGrad] of cases) {
      const mask = pads ? leftPadMask(d.B, d.T, pads) : undefined;
      const maskT = mask ? upload(mask, [d.B, d.T]) : undefined;
      const kv = { shape: [d.B, d.T, d.Hkv, d.D], grad: kvGrad };
      const r = await gradCheck(
        (q, k, v) => attention(q, k, v, { keyMask: maskT, scale }),
        (q, k, v) => refAttention(q, k, v, d, causal(mask, d.T), scale).out,
        [{ shape: [d.B, d.T, d.Hq, d.D] }, kv, kv],
        { label: label(d) },
      );
      const names = kvGrad ? ["dq", "dk", "dv"] : ["dq"];
      errs.push(
        `${label(d)} ${r.grads.map((e, i) => `${names[i]} ${e.toExponential(1)}`).join(" ")}`,
      );
      maskT?.dispose();
    }
    console.log(`attention gradCheck max rel err: ${errs.join("; ")}`);
  },
);

/**
 * Key masks of every shape training and rollouts produce, one per sequence: left padding (a
 * prompt), right padding (a packed trajectory), holes, no padding, and all padding.
 */
function mixedMask(B: number, T: number): Float32Array {
  const m = new Float32Array(B * T).fill(1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const kind = b % 5;
      const masked = kind === 0
        ? t < 6
        : kind === 1
        ? t >= T - 9
        : kind === 2
        ? t % 4 === 1
        : kind === 4;
      if (masked) m[b * T + t] = 0;
    }
  }
  return m;
}

bothReadPaths(
  "attention backward vs float64 gradients at D=64 and D=128 (GQA, every padding shape)",
  async () => {
    // fp32 sums of ≤ T · 2 products per element; 2e-4 relative is far above the ~1e-6 seen.
    const cases: [Dims, "left" | "mixed"][] = [
      [{ B: 2, T: 45, Hq: 4, Hkv: 2, D: 64 }, "left"],
      [{ B: 5, T: 37, Hq: 4, Hkv: 2, D: 64 }, "mixed"],
      [{ B: 5, T: 37, Hq: 4, Hkv: 2, D: 128 }, "mixed"],
      [{ B: 1, T: 70, Hq: 2, Hkv: 1, D: 128 }, "left"],
    ];
    const report: string[] = [];
    for (const [d, kind] of cases) {
      const seed = freshSeed();
      const x = inputs(d, seed);
      const mask = kind === "left" ? leftPadMask(d.B, d.T, [0, 6]) : mixedMask(d.B, d.T);
      const dO = f32round(randn(d.B * d.T * d.Hq * d.D, seed + 3));
      const [q, k, v] = upQKV(x, d);
      for (const t of [q, k, v]) t.requiresGrad = true;
      const out = attention(q, k, v, { keyMask: upload(mask, [d.B, d.T]) });
      backward(out, upload(dO, [...out.shape]));
      const got = await readAll([out, q.grad!, k.grad!, v.grad!]);
      const visible = causal(mask, d.T);
      const want = [
        refAttention(x.q, x.k, x.v, d, visible).out,
        ...refBackward(x.q, x.k, x.v, dO, d, visible),
      ];
      const errs = ["out", "dq", "dk", "dv"].map((n, i) => {
        const tol = i === 0 ? FWD : { rtol: 2e-4, atol: 2e-5 };
        const what = `${label(d)} ${kind} padding ${n} (seed ${seed})`;
        return `${n} ${assertClose(got[i], want[i], { ...tol, label: what }).toExponential(1)}`;
      });
      report.push(`${label(d)} ${kind}: ${errs.join(" ")}`);
    }
    console.log(`attention backward max rel err: ${report.join("; ")}`);
  },
);

/**
 * Generate token by token: prefill `P` tokens (cache write + full attention), then append one
 * token per step and decode; each step must equal the matching row of full causal attention.
 */
async function decodeAgainstFull(d: Dims, P: number, pads: number[], useLens: boolean) {
  const x = inputs(d);
  const { B, T, Hq, Hkv, D } = d;
  const mask = leftPadMask(B, T, pads);
  // cacheLens variant: sequence b ignores its last lensCut[b] keys (as if they were not there).
  const lensCut = Array.from({ length: B }, (_, b) => (useLens ? 2 * b : 0));
  const visible: Visible = (b, t, j) => causal(mask, T)(b, t, j) && j < t + 1 - lensCut[b];
  const want = refAttention(x.q, x.k, x.v, d, visible).out;
  const maxT = T + 3;
  const cache = createLayerKVCache(B, Hkv, maxT, D);
  // The cache mask covers every slot (the prompt's pads, then ones).
  const cacheMask = upload(
    Float32Array.from({ length: B * maxT }, (_, i) => {
      const [b, j] = [Math.floor(i / maxT), i % maxT];
      return j < T ? mask[b * T + j] : 1;
    }),
    [B, maxT],
  );
  const slice = (a: Float64Array, H: number, t0: number, n: number) => {
    const out = new Float64Array(B * n * H * D);
    for (let b = 0; b < B; b++) {
      out.set(a.subarray(((b * T + t0) * H) * D, ((b * T + t0 + n) * H) * D), b * n * H * D);
    }
    return out;
  };
  const prefillMask = upload(
    Float32Array.from({ length: B * P }, (_, i) => mask[Math.floor(i / P) * T + (i % P)]),
    [B, P],
  );
  const kp = upload(slice(x.k, Hkv, 0, P), [B, P, Hkv, D]);
  const vp = upload(slice(x.v, Hkv, 0, P), [B, P, Hkv, D]);
  writeKV(cache, kp, vp, 0);
  let worst = 0;
  if (!useLens) {
    const pre = attention(upload(slice(x.q, Hq, 0, P), [B, P, Hq, D]), kp, vp, {
      keyMask: prefillMask,
    });
    worst = assertClose(await download(pre), slice(want, Hq, 0, P), { ...FWD, label: "prefill" });
  }
  const steps: Tensor[] = [];
  for (let t = P; t < T; t++) {
    writeKV(
      cache,
      upload(slice(x.k, Hkv, t, 1), [B, 1, Hkv, D]),
      upload(slice(x.v, Hkv, t, 1), [B, 1, Hkv, D]),
      t,
    );
    const lens = useLens
      ? upload(Int32Array.from(lensCut, (c) => t + 1 - c), [B], "i32")
      : undefined;
    const q1 = upload(slice(x.q, Hq, t, 1), t % 2 ? [B, 1, Hq, D] : [B, Hq, D]);
    // With cacheLens the filled length defaults to the whole cache (lens bound each row).
    const length = useLens ? undefined : t + 1;
    steps.push(
      attentionDecode(q1, cache.k, cache.v, { length, keyMask: cacheMask, cacheLens: lens }),
    );
  }
  // One readback for the whole generation: nothing above waited on the GPU.
  const got = await readAll(steps);
  got.forEach((g, s) => {
    const e = assertClose(g, slice(want, Hq, P + s, 1), {
      ...FWD,
      label: `${label(d)} step ${P + s}`,
    });
    worst = Math.max(worst, e);
  });
  cache.dispose();
  return worst;
}

bothReadPaths(
  "attentionDecode equals full causal attention row by row (KV cache, left padding)",
  async () => {
    const e1 = await decodeAgainstFull({ B: 3, T: 23, Hq: 4, Hkv: 2, D: 16 }, 5, [2, 0, 5], false);
    const e2 = await decodeAgainstFull(
      { B: 2, T: 300, Hq: 14, Hkv: 2, D: 64 },
      290,
      [3, 40],
      false,
    );
    const e3 = await decodeAgainstFull({ B: 3, T: 70, Hq: 2, Hkv: 2, D: 16 }, 60, [0, 4, 9], true);
    const fmt = (e: number) => e.toExponential(1);
    console.log(
      `attentionDecode max rel err: G2 D16 ${fmt(e1)}; G7 D64 T300 ${fmt(e2)}; cacheLens ${
        fmt(e3)
      }`,
    );
  },
);

bothReadPaths(
  "attention is deterministic: bit-identical forward, backward and decode reruns",
  async () => {
    const d = { B: 2, T: 33, Hq: 4, Hkv: 2, D: 16 };
    const x = inputs(d);
    const mask = upload(leftPadMask(d.B, d.T, [0, 3]), [d.B, d.T]);
    const dO = upload(randn(d.B * d.T * d.Hq * d.D), [d.B, d.T, d.Hq, d.D]);
    // Decode reads k, v as if they were a [B, Hkv, T, D] cache: any fixed numbers will do.
    const q1 = upload(x.q.subarray(0, d.B * d.Hq * d.D), [d.B, 1, d.Hq, d.D]);
    const kc = upload(x.k, [d.B, d.Hkv, d.T, d.D]);
    const vc = upload(x.v, [d.B, d.Hkv, d.T, d.D]);
    const run = async () => {
      const [q, k, v] = upQKV(x, d);
      for (const t of [q, k, v]) t.requiresGrad = true;
      const out = attention(q, k, v, { keyMask: mask });
      backward(out, dO);
      const dec = attentionDecode(q1, kc, vc, { length: d.T, keyMask: mask });
      return await readAll([out, q.grad!, k.grad!, v.grad!, dec]);
    };
    const a = await run();
    const b = await run();
    a.forEach((x, i) =>
      assert.deepEqual(
        new Uint32Array(x.buffer),
        new Uint32Array(b[i].buffer),
        `output ${i} differs`,
      )
    );
    assert.equal(tapeLength(), 0);
  },
);
