/**
 * Matrix multiplication: `matmul(a, b, {transA, transB})` = op(a) · op(b), batched over
 * leading dimensions, with a 2-D operand broadcast over the other's batch, operands of any
 * size (bound in windows under the 128 MiB storage-binding cap) and a backward for both.
 *
 * One WGSL core (`core.wgsl`) with three loader sets: texture (`texture.wgsl`, the fast
 * path on CPU adapters, in texture.ts: operands copied into rgba32float textures,
 * whose loads llvmpipe compiles to branch-free vector code), vec4 (`vec4.wgsl`, every row read with vec4
 * loads is a multiple of 4 floats) and scalar (`scalar.wgsl`, any shape). Transposes
 * are override constants, so `transA`/`transB` cost nothing extra and the backward reuses the
 * same pipelines. Why the kernels look the way they do, with numbers: bench/README.md.
 *
 * @example
 * ```ts
 * const y = matmul(x, weight, { transB: true }); // x [B, T, H] · weightᵀ, weight [N, H]
 * ```
 * @module
 */
import coreSrc from "./core.wgsl" with { type: "text" };
import vec4Src from "./vec4.wgsl" with { type: "text" };
import scalarSrc from "./scalar.wgsl" with { type: "text" };
import unpadSrc from "./unpad.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { fill, ones } from "../elementwise/elementwise.ts";
import { type Dims, problemLabel, type Window, windowOf } from "./problem.ts";
import {
  encodeTextured,
  matmulTextureDispatches,
  type TexturedWeight,
  textureRefusal,
} from "./texture.ts";
import { grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { copyInto, empty, numel, type Tensor } from "../core/tensor.ts";

export {
  matmulTextureDispatches,
  type MatmulTextureLimits,
  setMatmulTextureLimits,
  type TexturedWeight,
  textureWeight,
} from "./texture.ts";

/**
 * A kernel variant to force on every {@link matmul} (bench/variants/matmul.ts runs each one
 * against a float64 reference): the loader set and the rows per invocation.
 */
export interface MatmulVariant {
  /**
   * `texture`: the shape must qualify (CPU adapter, vec4 shapes, stored rows that reach a
   * multiple of 64 floats in 1, 2 or 4 rows; M ≥ minRows is waived), else matmul throws;
   * `vec4`: K % 4 = N % 4 = 0 (and M % 4 = 0 with transA), else matmul throws; `scalar`:
   * any shape.
   */
  path: "texture" | "vec4" | "scalar";
  /**
   * Rows per invocation (TM): 1, 2, 4, 8 or 16 for vec4 (≥ 4 when a matmul has transA; the
   * automatic choice otherwise) and scalar (default 4); 4 or 8 for texture (default 8).
   */
  tm?: number;
  /**
   * Columns per invocation, texture path only: 16, 12 or 8 (default: the least waste for N,
   * see `texColumns` in texture.ts); the buffer paths always compute 16.
   */
  tn?: number;
}

let variantOverride: MatmulVariant | undefined;
const pathDispatches = { vec4: 0, scalar: 0 };

/**
 * Force the path and tile of every later matmul (benches and tests compare variants);
 * `undefined` restores the automatic choice. Throws on a TM the path's WGSL does not have.
 */
export function setMatmulVariant(v: MatmulVariant | undefined): void {
  if (v) {
    if (!["texture", "vec4", "scalar"].includes(v.path)) {
      throw new Error(`setMatmulVariant: unknown path "${v.path}" (texture, vec4 or scalar)`);
    }
    const tms = v.path === "texture" ? [4, 8, 16] : [1, 2, 4, 8, 16];
    if (v.tm !== undefined && !tms.includes(v.tm)) {
      throw new Error(`setMatmulVariant: ${v.path} takes TM ${tms.join(", ")}, not ${v.tm}`);
    }
    if (v.tn !== undefined && (v.path !== "texture" || ![8, 12, 16].includes(v.tn))) {
      throw new Error(`setMatmulVariant: tn (8, 12 or 16 columns) is for the texture path only`);
    }
    v = { ...v };
  }
  variantOverride = v;
}

/** Dispatches encoded so far by each path (tests and benches check which path ran). */
export function matmulPathDispatches(): { texture: number; vec4: number; scalar: number } {
  return { texture: matmulTextureDispatches(), ...pathDispatches };
}

const vec4Kernel = kernel("matmul_vec4", `${coreSrc}\n${vec4Src}`);
const scalarKernel = kernel("matmul_scalar", `${coreSrc}\n${scalarSrc}`);
const unpadKernel = kernel("matmul_unpad", unpadSrc);

/**
 * Rows per invocation (TM) for a chunk of m rows: the 16×16 tile (fastest) when M allows,
 * smaller tiles for short M (decode, small batches) so few rows are computed only to be
 * thrown away. The scalar fallback keeps TM = 4: its 16-row pipeline compiles for seconds
 * for a gain on shapes real models rarely have. A workgroup is a single 8-lane row (WY = 1):
 * taller workgroups measured no faster and waste more rows at the M edge.
 */
function tileRows(m: number, vec4: boolean, transA: boolean): number {
  if (!vec4) return 4;
  const fits = [1, 2, 4, 8, 16].filter((t) => t >= Math.min(m, 16) && (!transA || t >= 4));
  return fits[0];
}

export interface MatmulOptions {
  /** Use aᵀ: `a` is [..., K, M]. */
  transA?: boolean;
  /** Use bᵀ: `b` is [..., N, K] (how Hugging Face stores nn.Linear weights). */
  transB?: boolean;
  /**
   * `b` (a 2-D weight, with transB) already copied into the texture path's layout by
   * `textureWeight` (texture.ts): the path binds it instead of copying b again. Only valid
   * while b is unchanged (matmulPacked passes it during a rollout); ignored where the path
   * does not run or would cut b into chunks.
   */
  bTexture?: TexturedWeight;
}

let bindingLimitOverride: number | undefined;

/**
 * Pretend storage bindings are capped at `bytes` (tests use it to exercise the windowed
 * path on small tensors); `undefined` restores the device's limit.
 */
export function setMatmulBindingLimit(bytes: number | undefined): void {
  bindingLimitOverride = bytes;
}

/**
 * op(a) · op(b). `a` is [..., M, K] ([..., K, M] with `transA`), `b` is [..., K, N]
 * ([..., N, K] with `transB`); the result is [...batch, M, N]. Batch dimensions must match,
 * or one operand is 2-D (or has batch size 1) and is broadcast over the other's batch.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.dtype !== "f32" || b.dtype !== "f32") throw new Error("matmul: f32 operands only");
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: operands need rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
  }
  const [M, K] = transA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [Kb, N] = transB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  if (K !== Kb) {
    throw new Error(
      `matmul: inner sizes differ: [${a.shape}]${transA ? "ᵀ" : ""} · [${b.shape}]${
        transB ? "ᵀ" : ""
      }`,
    );
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = numel(batchA);
  const nB = numel(batchB);
  const batchShape = broadcastBatch(batchA, batchB);
  const batch = numel(batchShape);

  const out = K === 0 ? fill([...batchShape, M, N], 0) : empty([...batchShape, M, N]);
  if (out.size > 0 && K > 0) {
    if (nB === 1 && !transA && batch > 1) {
      // A 2-D weight under a batch of activations is one tall matmul.
      const bTexture = opts.bTexture?.weight === b ? opts.bTexture : undefined;
      encode(out, a, b, { batch: 1, M: batch * M, N, K, transA, transB, sA: 0, sB: 0, bTexture });
    } else {
      const sA = nA === 1 ? 0 : M * K;
      const sB = nB === 1 ? 0 : K * N;
      const bTexture = batch === 1 && opts.bTexture?.weight === b ? opts.bTexture : undefined;
      encode(out, a, b, { batch, M, N, K, transA, transB, sA, sB, bTexture });
    }
  }
  return record(out, [a, b], (g) => [
    a.requiresGrad ? gradA(g, a, b, transA, transB, nA, batch) : null,
    b.requiresGrad ? gradB(g, a, b, transA, transB, nB, batch) : null,
  ]);
}

// dop(A) = dC · op(B)ᵀ, dop(B) = op(A)ᵀ · dC, each written as one matmul with flags.
function gradA(
  g: Tensor,
  a: Tensor,
  b: Tensor,
  tA: boolean,
  tB: boolean,
  nA: number,
  batch: number,
) {
  const ga = tA ? matmul(b, g, { transA: tB, transB: true }) : matmul(g, b, { transB: !tB });
  return nA === 1 && batch > 1 ? sumBatch(ga, a.shape) : shaped(ga, a.shape);
}

function gradB(
  g: Tensor,
  a: Tensor,
  b: Tensor,
  tA: boolean,
  tB: boolean,
  nB: number,
  batch: number,
) {
  if (nB === 1 && batch > 1 && !tA) {
    // Broadcast weight: Σ_b over the flattened batch is a single matmul of [B·M, ·] views.
    const K = a.shape.at(-1)!;
    const a2 = a.reshape([-1, K]);
    const g2 = g.reshape([-1, g.shape.at(-1)!]);
    const gb = tB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
    a2.dispose();
    g2.dispose();
    return shaped(gb, b.shape);
  }
  const gb = tB ? matmul(g, a, { transA: true, transB: tA }) : matmul(a, g, { transA: !tA });
  return nB === 1 && batch > 1 ? sumBatch(gb, b.shape) : shaped(gb, b.shape);
}

/** `t` with `shape` (same element count), consuming `t`. */
function shaped(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape) && t.rank === shape.length) return t;
  const r = t.reshape([...shape]);
  t.dispose();
  return r;
}

/** Σ over the leading (batch) dims of x [batch..., R, C] as ones[1, batch] · x[batch, R·C]. */
function sumBatch(x: Tensor, shape: readonly number[]): Tensor {
  const rc = x.shape.at(-1)! * x.shape.at(-2)!;
  const n = x.size / rc;
  const flat = x.reshape([n, rc]);
  const w = ones([1, n]);
  const s = matmul(w, flat);
  for (const t of [w, flat, x]) t.dispose();
  return shaped(s, shape);
}

/**
 * The output's batch shape: equal batch shapes (up to leading 1s), or one side with a single
 * matrix broadcast over the other's batch. Partial broadcasts ([2, 1] with [1, 3]) are not
 * supported.
 */
function broadcastBatch(x: readonly number[], y: readonly number[]): number[] {
  const r = Math.max(x.length, y.length);
  const px = [...Array(r - x.length).fill(1), ...x];
  const py = [...Array(r - y.length).fill(1), ...y];
  if (numel(px) === 1) return py;
  if (numel(py) === 1 || sameShape(px, py)) return px;
  throw new Error(`matmul: batch shapes [${x}] and [${y}] do not match`);
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
  const r = Math.max(x.length, y.length);
  const px = [...Array(r - x.length).fill(1), ...x];
  const py = [...Array(r - y.length).fill(1), ...y];
  return px.every((d, i) => d === py[i]);
}

// ---------------------------------------------------------------------------------------
// Encoding: choose the variant, then split the problem so every binding fits the cap.

function encode(c: Tensor, a: Tensor, b: Tensor, d: Dims): void {
  const limit = bindingLimitOverride ?? gpu().maxBindingBytes;
  // Floats per binding window, leaving room for the alignment remainder of a window start.
  const cap = Math.floor(limit / 4) - gpu().offsetAlignment / 4;
  const v = variantOverride;
  const { M, N, K, transA, transB } = d;
  if (v?.path === "texture") {
    if (!encodeTextured(c, a, b, d, cap, v.tm, true, v.tn && v.tn / 4)) {
      throw new Error(
        `matmul: variant texture can't take ${describe(d)}: ${
          textureRefusal(d, true) ?? "its banded textures exceed the device's texture height"
        }`,
      );
    }
    return;
  }
  if (!v && encodeTextured(c, a, b, d, cap)) return;
  if (!v && encodePaddedN(c, a, b, d, cap)) return;
  const fitsVec4 = K % 4 === 0 && N % 4 === 0 && (!transA || M % 4 === 0);
  if (v?.path === "vec4" && !fitsVec4) {
    throw new Error(
      `matmul: variant vec4 can't take ${describe(d)}: K, N${
        transA ? " and M" : ""
      } must be multiples of 4`,
    );
  }
  if (v?.path === "vec4" && transA && v.tm !== undefined && v.tm < 4) {
    throw new Error(`matmul: variant vec4 TM ${v.tm} can't take transA (TM ≥ 4)`);
  }
  const vec4 = v?.path === "scalar" ? false : fitsVec4;
  const sC = M * N;
  const maxZ = gpu().maxWorkgroupsPerDim;

  // Whole batches per dispatch while every operand's window fits.
  const fit = (
    s: number,
    t: Tensor,
    per: number,
  ) => (s === 0 ? (t.size <= cap ? Infinity : 0) : Math.floor(cap / per));
  const bc = Math.min(
    maxZ,
    d.batch,
    fit(d.sA, a, M * K),
    fit(d.sB, b, K * N),
    Math.floor(cap / sC),
  );
  if (bc >= 1) {
    for (let b0 = 0; b0 < d.batch; b0 += bc) {
      const nb = Math.min(bc, d.batch - b0);
      dispatch(d, vec4, {
        nb,
        a: d.sA ? windowOf(a, b0 * d.sA, nb * d.sA) : windowOf(a, 0, a.size),
        b: d.sB ? windowOf(b, b0 * d.sB, nb * d.sB) : windowOf(b, 0, b.size),
        c: windowOf(c, b0 * sC, nb * sC),
        m: M,
        n: N,
        k: K,
        offA: 0,
        offB: 0,
        offC: 0,
        acc: false,
      });
    }
    return;
  }

  // One matrix is too big for a binding: tile M (rows of C and of A), N (rows of Bᵀ) and
  // K (rows of Aᵀ or B, accumulating into C) so that each operand's window fits.
  const q = vec4 ? 4 : 1;
  const chunk = (full: number, most: number) => {
    if (most >= full) return full;
    if (most < q) throw new Error(`matmul: a single row exceeds the binding limit`);
    return most >= 128 ? Math.floor(most / 128) * 128 : Math.floor(most / q) * q;
  };
  const mc = chunk(M, Math.min(transA ? M : Math.floor(cap / K), Math.floor(cap / N)));
  const nc = chunk(N, transB ? Math.floor(cap / K) : N);
  const kc = chunk(K, Math.min(transA ? Math.floor(cap / M) : K, transB ? K : Math.floor(cap / N)));
  for (let z = 0; z < d.batch; z++) {
    const bA = z * d.sA, bB = z * d.sB, bC = z * sC;
    for (let m0 = 0; m0 < M; m0 += mc) {
      const m = Math.min(mc, M - m0);
      for (let n0 = 0; n0 < N; n0 += nc) {
        const n = Math.min(nc, N - n0);
        for (let k0 = 0; k0 < K; k0 += kc) {
          const k = Math.min(kc, K - k0);
          const wa = transA ? windowOf(a, bA + k0 * M, k * M) : windowOf(a, bA + m0 * K, m * K);
          const wb = transB ? windowOf(b, bB + n0 * K, n * K) : windowOf(b, bB + k0 * N, k * N);
          dispatch(d, vec4, {
            nb: 1,
            a: wa,
            b: wb,
            c: windowOf(c, bC + m0 * N, m * N),
            m,
            n,
            k,
            offA: transA ? m0 : k0,
            offB: transB ? k0 : n0,
            offC: n0,
            acc: k0 > 0,
          });
        }
      }
    }
  }
}

/**
 * A 2-D Bᵀ with N not a multiple of 4 (an LM head over a 43-token vocabulary) would take the
 * scalar kernel: pad B with zero rows to N4 = ⌈N/4⌉·4, compute C' [M, N4] on the fast paths,
 * and copy C's N columns out (each sum is the same k-ordered sum, so C is bit-identical to
 * the scalar kernel's). Only when everything fits one binding; false: nothing encoded.
 */
function encodePaddedN(c: Tensor, a: Tensor, b: Tensor, d: Dims, cap: number): boolean {
  const { M, N, K } = d;
  const N4 = Math.ceil(N / 4) * 4;
  if (!d.transB || N % 4 === 0 || K % 4 !== 0 || (d.transA && M % 4) || d.sB !== 0) {
    return false;
  }
  if (d.batch * M * N4 > cap || N4 * K > cap || M < 16) return false;
  const bp = fill([N4, K], 0);
  copyInto(b, bp, 0, 0, N * K);
  const cp = empty([d.batch * M, N4]);
  encode(cp, a, bp, { ...d, N: N4 });
  const rows = d.batch * M;
  launchReads(unpadKernel, {
    params: [rows, N, N4].map(u32),
    bindings: [cp.binding(), c.binding()],
    workgroups: grid(Math.ceil((rows * N) / 64)),
    label: problemLabel(d),
  });
  bp.dispose();
  cp.dispose();
  return true;
}

interface Part {
  nb: number;
  a: Window;
  b: Window;
  c: Window;
  m: number;
  n: number;
  k: number;
  /** Extra element offsets inside the windows (row offsets of a chunk). */
  offA: number;
  offB: number;
  offC: number;
  acc: boolean;
}

/** The problem in the words of an error message: `M×K×N nt` (op letters: n, or t = transposed). */
function describe(d: Dims): string {
  return `${d.M}×${d.K}×${d.N} ${d.transA ? "t" : "n"}${d.transB ? "t" : "n"}`;
}

/**
 * The workgroup's 8 invocations as WX columns × WY rows of tiles: 8 × 1 (128 columns) in
 * general, narrower for narrow C (an LM head over a 43-token vocabulary, a value head's one
 * column), where a 128-column workgroup would leave most of its lanes without a column.
 */
function workgroupShape(n: number): [number, number] {
  const wx = n <= 16 ? 1 : n <= 32 ? 2 : n <= 64 ? 4 : 8;
  return [wx, 8 / wx];
}

function dispatch(d: Dims, vec4: boolean, p: Part): void {
  const unit = vec4 ? 4 : 1;
  const tm = variantOverride?.tm ?? tileRows(p.m, vec4, d.transA);
  pathDispatches[vec4 ? "vec4" : "scalar"]++;
  const lda = d.transA ? d.M : d.K;
  const ldb = d.transB ? d.K : d.N;
  const params = [
    p.m,
    p.n,
    p.k,
    Math.ceil(p.k / 4),
    lda / unit,
    ldb / unit,
    d.N / unit,
    p.acc ? 1 : 0,
    (p.a.off + p.offA) / unit,
    (p.b.off + p.offB) / unit,
    (p.c.off + p.offC) / unit,
    0,
    d.sA / unit,
    d.sB / unit,
    (d.M * d.N) / unit,
    0,
  ];
  const [wx, wy] = workgroupShape(p.n);
  launchReads(vec4 ? vec4Kernel : scalarKernel, {
    params: params.map(u32),
    bindings: [p.a.binding, p.b.binding, p.c.binding],
    workgroups: [Math.ceil(p.n / (16 * wx)), Math.ceil(p.m / (tm * wy)), p.nb],
    overrides: {
      TRANS_A: d.transA ? 1 : 0,
      TRANS_B: d.transB ? 1 : 0,
      TM: tm,
      ...(wx === 8 ? {} : { WX: wx, WY: wy }),
    },
    label: problemLabel(d),
  });
}
