/**
 * The texture path of {@link matmul} (CPU adapters): copy the operands into rgba32float array
 * textures, then run the matmul core with the texture loaders (`texture.wgsl`). A
 * storage-buffer load costs llvmpipe a loop over the SIMD lanes; a storage-texture load is
 * straight vector code: ≈ 1.7–2× end to end (bench/README.md has the numbers). The copies go
 * through the shared command encoder, the dispatches through runtime.ts like any kernel's.
 * @module
 */
import coreSrc from "./core.wgsl" with { type: "text" };
import texSrc from "./texture.wgsl" with { type: "text" };
import { gpu } from "../core/device.ts";
import { afterSubmit, commandEncoder, countCopy, kernel, launch, u32 } from "../core/runtime.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Dims, problemLabel, windowOf } from "./problem.ts";
import { storageTextureLimits, TextureCache } from "./textures.ts";

const texKernel = kernel("matmul_tex", `${coreSrc}\n${texSrc}`);

/** Size limits of the texture path (tests shrink them to exercise chunking). */
export interface MatmulTextureLimits {
  /** Largest texture width/height (texels / rows). */
  dim: number;
  /** Most array layers per texture. */
  layers: number;
  /** Most bytes per operand texture (bounds the extra memory the copies take). */
  bytes: number;
  /** Fewest rows of C (M) that take this path; below it the copies cost more than they save. */
  minRows: number;
}

const TEX_TM = 8; // rows per invocation (the 16-row tile spills more and measured slower)
// Texture panels, one layer each (texture.wgsl): texels of M for Aᵀ, of K for Bᵀ, of N
// for B, so that the rows a workgroup reads are short and its pages few.
const PANEL_AT = 16;
const PANEL_BT = 64;
// Plain B's panels are one workgroup's columns: 8 invocations × tn4 texels.

/**
 * Relative speed of the 8-row tile by vec4 columns per invocation (TN4), per FMA computed, at
 * 1024³ on llvmpipe: 8×8 and 8×12 ran 38 against 43–47 GFLOP/s for 8×16 on the AVX-512 VM
 * (bench/README.md, the texture path's tuning table), within noise of it on the AVX2 VM
 * ("Speed round 3"); the Xeon's ratio is kept, as the cautious one. The launcher
 * takes the TN4 that spends least time per useful column: N = 96 and 288 take 3 (no column
 * computed to be dropped, where 128-column blocks waste a quarter), N = 64 takes 2.
 */
export const TN4_SPEED: Readonly<Record<number, number>> = { 4: 1, 3: 0.85, 2: 0.85 };

/** The TN4 (4, 3 or 2) that computes N columns in the least time by {@link TN4_SPEED}. */
export function texColumns(N: number): number {
  let best = 4, cost = Infinity;
  for (const t of [4, 3, 2]) {
    const c = Math.ceil(N / (32 * t)) * 32 * t / TN4_SPEED[t];
    if (c < cost - 1e-9) [best, cost] = [t, c];
  }
  return best;
}
/** Bytes of cached operand textures before the cache is dropped. */
const CACHE_BYTES = 256 * 2 ** 20;

let texOverride: Partial<MatmulTextureLimits> | null | undefined;
let textureDispatches = 0;

/**
 * Override the texture path's limits (`null` turns the path off, `undefined` restores the
 * defaults: the device's texture limits, 64 MiB per operand texture, M ≥ 16).
 */
export function setMatmulTextureLimits(l: Partial<MatmulTextureLimits> | null | undefined): void {
  texOverride = l;
}

/** Dispatches encoded by the texture path so far (tests check which path ran). */
export function matmulTextureDispatches(): number {
  return textureDispatches;
}

function texLimits(): MatmulTextureLimits | null {
  const device = storageTextureLimits();
  if (texOverride === null || !device) return null;
  return { ...device, bytes: 64 * 2 ** 20, minRows: 16, ...texOverride };
}

const textures = new TextureCache("matmul_tex", CACHE_BYTES);

const down = (x: number, q: number) => Math.max(q, Math.floor(x / q) * q);

/** Most stored rows interleaved into bands by one copy: 2^MAX_SPLIT (see texture.wgsl). */
const MAX_SPLIT = 2;

/** log2 of the rows that make `pitch` floats a multiple of 64 (-1: more than 2^MAX_SPLIT). */
function splitLog(pitch: number): number {
  for (let s = 0; s <= MAX_SPLIT; s++) if (((pitch << s) & 63) === 0) return s;
  return -1;
}

/** The band splits of A and B (their stored row pitches: K or M, N or K). */
function splits(d: Dims): [number, number] {
  return [splitLog(d.transA ? d.M : d.K), splitLog(d.transB ? d.K : d.N)];
}

/**
 * Why `d` cannot take the texture path, or null when it can: the path needs a CPU adapter
 * with read-only storage textures, vec4 shapes (K, N and, with transA, M multiples of 4) and
 * stored rows a multiple of 64 floats (copyBufferToTexture wants 256-byte row pitches) or
 * reaching one in 2 or 4 rows (copied in bands);
 * unless `forced`, also M ≥ minRows (a cost threshold, not a limit: below it the copies cost
 * more than they save).
 */
export function textureRefusal(d: Dims, forced = false): string | null {
  const lim = texLimits();
  const { M, N, K, transA: tA, transB: tB } = d;
  if (!lim) {
    return "texture path off (not a CPU adapter, no read-only storage textures, or " +
      "setMatmulTextureLimits(null))";
  }
  if (!forced && M < lim.minRows) return `M = ${M} < ${lim.minRows} rows`;
  if (K === 0) return "K = 0";
  if (N % 4 || K % 4 || (tA && M % 4)) {
    return `K = ${K}, N = ${N}${tA ? `, M = ${M}` : ""} must be multiples of 4`;
  }
  // copyBufferToTexture wants 256-byte row pitches: rows that are not a multiple of 64
  // floats are copied 2^s at a time into bands (texture.wgsl), s ≤ MAX_SPLIT.
  const [sa, sb] = splits(d);
  if (sa < 0 || sb < 0) {
    return `stored rows of A (${tA ? M : K} floats) and B (${tB ? K : N}) must be multiples ` +
      `of 64 floats, or reach one in ≤ ${1 << MAX_SPLIT} rows (256-byte copy pitch)`;
  }
  const rowsA = tA ? K : M, rowsB = tB ? N : K;
  if ((d.sA && d.batch > 1 && rowsA % (1 << sa)) || (d.sB && d.batch > 1 && rowsB % (1 << sb))) {
    return "a batched operand copied in bands needs a row count divisible by the band count";
  }
  return null;
}

type CopyArgs = [
  t: Tensor,
  at: number,
  row: number,
  rows: number,
  dst: GPUTexture,
  dims: number[],
  layer: number,
  s: number,
  band: number,
];

/**
 * Copy [w, h, layers] texels from `t` at element `at` (rows `row` floats apart, batches
 * `rows` rows apart) into `dst` from layer `layer` on; with a split s, every 2^s-th row into
 * its own band of `band` texture rows.
 */
function copyBands(enc: GPUCommandEncoder, ...args: CopyArgs): void {
  const [t, at, row, rows, dst, [w, h, z], layer, s, band] = args;
  const R = 1 << s;
  for (let r = 0; r < R && r < h; r++) {
    const hr = Math.ceil((h - r) / R);
    countCopy(w * 16 * hr * z);
    enc.copyBufferToTexture(
      {
        buffer: t.buffer,
        offset: (at + r * row) * 4,
        bytesPerRow: R * row * 4,
        rowsPerImage: z > 1 ? rows / R : hr,
      },
      { texture: dst, origin: [0, r * band, layer] },
      [w, hr, z],
    );
  }
}

/**
 * Copy a Bᵀ operand ([N, K] stored, rows K floats apart, batches N rows apart) window of kp
 * columns of K × np rows from element `at` into its K panels of PANEL_BT texels, one layer
 * each (`layerStep` layers apart; batches fill the layers between), rows banded by `split`.
 * The layout texture.wgsl's TRANS_B loader reads; shared by the per-call copies and
 * {@link TexturedWeight}.
 */
function copyBTPanels(
  enc: GPUCommandEncoder,
  t: Tensor,
  at: number,
  K: number,
  N: number,
  dst: GPUTexture,
  kp: number,
  np: number,
  batches: number,
  layerStep: number,
  split: number,
  band: number,
): void {
  for (let i = 0; i < Math.ceil(kp / 4 / PANEL_BT); i++) {
    const w = Math.min(PANEL_BT, kp / 4 - i * PANEL_BT);
    copyBands(
      enc,
      t,
      at + 4 * PANEL_BT * i,
      K,
      N,
      dst,
      [w, np, batches],
      i * layerStep,
      split,
      band,
    );
  }
}

/**
 * A weight W [N, K] used as Wᵀ (an nn.Linear weight), copied once into the Bᵀ layout the
 * texture path reads, for products that bind it instead of copying W per call
 * (`matmul(x, W, { transB: true, bTexture })`): decoding a rollout calls every weight once
 * per token with the same W. {@link refresh} re-copies W after it changed.
 */
export class TexturedWeight {
  readonly view: GPUTextureView;
  #texture: GPUTexture;
  #split: number;

  /** Use {@link textureWeight}. */
  constructor(readonly weight: Tensor, readonly height: number, dims: number[], split: number) {
    this.#split = split;
    this.#texture = gpu().device.createTexture({
      label: `matmul_tex W[${weight.shape}]`,
      size: dims,
      format: "rgba32float",
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    });
    this.view = this.#texture.createView({ dimension: "2d-array" });
    this.refresh();
  }

  /** Copy the weight in again (after it changed). */
  refresh(): void {
    const [N, K] = this.weight.shape;
    const band = this.height >> this.#split;
    copyBTPanels(
      commandEncoder(),
      this.weight,
      0,
      K,
      N,
      this.#texture,
      K,
      N,
      1,
      1,
      this.#split,
      band,
    );
  }

  /** Free the texture (after the work encoded so far is submitted). */
  dispose(): void {
    const t = this.#texture;
    afterSubmit(() => t.destroy());
  }
}

/**
 * `w` [N, K] as a {@link TexturedWeight}, or null where the texture path would not take it
 * as one whole operand: off on this adapter, a shape it refuses, or W larger than one
 * texture (more rows than the texture height, more K than its layers hold, over 64 MiB),
 * which the path cuts into chunks and copies per call as before.
 */
export function textureWeight(w: Tensor): TexturedWeight | null {
  const lim = texLimits();
  if (!lim || w.rank !== 2 || w.dtype !== "f32") return null;
  const [N, K] = w.shape;
  const d: Dims = { batch: 1, M: lim.minRows, N, K, transA: false, transB: true, sA: 0, sB: 0 };
  if (textureRefusal(d, true) !== null) return null;
  if (N > lim.dim || K > 4 * PANEL_BT * lim.layers || N * K > lim.bytes / 4) return null;
  const sb = splits(d)[1];
  const height = Math.ceil(N / (1 << sb)) * (1 << sb);
  if (height > lim.dim) return null;
  return new TexturedWeight(w, height, [
    Math.min(PANEL_BT, K / 4),
    height,
    Math.ceil(K / 4 / PANEL_BT),
  ], sb);
}

/**
 * Encode op(A)·op(B) through textures if this shape can take the path
 * ({@link textureRefusal}). Batches map to layers; M, N, K and the batch are cut so that
 * every texture fits the limits and every C window `capC` floats (the storage-binding cap
 * less an alignment remainder; K chunks accumulate into C). Returns false (nothing encoded)
 * when the shape does not qualify. `tm` (rows per invocation, 4, 8 or 16) and `forced` (ignore
 * minRows) come from a variant forced with setMatmulVariant; the default is 8. `tn4` (vec4
 * columns per invocation, 4, 3 or 2) defaults to the least waste for N ({@link texColumns}).
 */
export function encodeTextured(
  c: Tensor,
  a: Tensor,
  b: Tensor,
  d: Dims,
  capC: number,
  tm = TEX_TM,
  forced = false,
  tn4 = texColumns(d.N),
): boolean {
  if (textureRefusal(d, forced) !== null) return false;
  const lim = texLimits()!;
  const { M, N, K, transA: tA, transB: tB } = d;
  const PANEL_B = 8 * tn4;
  const panelsA = (m: number) => (tA ? Math.ceil(m / 4 / PANEL_AT) : 1);
  const panelsB = (n: number, k: number) =>
    tB ? Math.ceil(k / 4 / PANEL_BT) : Math.ceil(n / 4 / PANEL_B);
  // Chunk sizes: texture widths and heights, the byte budget per texture, the C binding cap.
  let kc = Math.min(K, tA ? lim.dim : 4 * lim.dim, tB ? 4 * PANEL_BT * lim.layers : lim.dim);
  let mc = Math.min(M, tA ? 4 * PANEL_AT * lim.layers : lim.dim);
  let nc = Math.min(N, tB ? lim.dim : 4 * PANEL_B * lim.layers);
  const budget = lim.bytes / 4; // floats per texture
  if (mc * kc > budget) mc = down(budget / kc, tA ? 4 : tm);
  if (mc * kc > budget) kc = down(budget / mc, 4);
  if (nc * kc > budget) nc = down(budget / kc, 4);
  if (nc * kc > budget) kc = down(budget / nc, 4);
  mc = Math.min(mc, down(capC / N, tA ? 4 : 1));
  let nb = Math.min(d.batch, lim.layers, Math.floor(budget / (Math.max(mc, nc) * kc)));
  nb = Math.min(nb, Math.floor(capC / (M * N)));
  if (d.sA) nb = Math.min(nb, Math.floor(lim.layers / panelsA(mc)));
  if (d.sB) nb = Math.min(nb, Math.floor(lim.layers / panelsB(nc, kc)));
  if (nb < 1 || mc < M || nc < N || kc < K) nb = 1;

  // Texture heights round up to whole bands (one band per interleaved row).
  const [sa, sb] = splits(d);
  const bands = (h: number, s: number) => Math.ceil(h / (1 << s)) * (1 << s);
  const heightA = bands(tA ? kc : mc, sa), heightB = bands(tB ? nc : kc, sb);
  if (heightA > lim.dim || heightB > lim.dim) return false;
  const overrides = {
    TRANS_A: tA ? 1 : 0,
    TRANS_B: tB ? 1 : 0,
    TM: tm,
    TN4: tn4,
    B_PANEL_TEXELS: PANEL_B,
    ROWS_FIRST: 1,
    SPLIT_A: sa,
    SPLIT_B: sb,
  };
  for (let z0 = 0; z0 < d.batch; z0 += nb) {
    const zn = Math.min(nb, d.batch - z0);
    // Layers per texture: one per batch (one in all when that operand is broadcast).
    const la = d.sA ? nb : 1, lb = d.sB ? nb : 1;
    const dimsA = tA
      ? [Math.min(PANEL_AT, mc / 4), heightA, la * panelsA(mc)]
      : [kc / 4, heightA, la];
    const dimsB = tB
      ? [Math.min(PANEL_BT, kc / 4), heightB, lb * panelsB(nc, kc)]
      : [Math.min(PANEL_B, nc / 4), heightB, lb * panelsB(nc, kc)];
    const texels = (x: number[]) => x[0] * x[1] * x[2];
    // B textured once (a rollout's weight): bound as it is when this is one whole operand.
    const pre = d.bTexture && tB && d.batch === 1 && nc === N && kc === K &&
        d.bTexture.weight === b && d.bTexture.height === heightB
      ? d.bTexture
      : undefined;
    textures.reserve(16 * (texels(dimsA) + (pre ? 0 : texels(dimsB))));
    const ta = textures.get("a", dimsA[0], dimsA[1], dimsA[2]);
    const tb = pre ? null : textures.get("b", dimsB[0], dimsB[1], dimsB[2]);
    const tbView = pre?.view ?? tb!.view;
    for (let m0 = 0; m0 < M; m0 += mc) {
      const mp = Math.min(mc, M - m0);
      for (let n0 = 0; n0 < N; n0 += nc) {
        const np = Math.min(nc, N - n0);
        for (let k0 = 0; k0 < K; k0 += kc) {
          const kp = Math.min(kc, K - k0);
          const cw = windowOf(c, (z0 * M + m0) * N, ((zn - 1) * M + mp) * N);
          const copy = (...args: CopyArgs) => copyBands(commandEncoder(), ...args);
          const bandA = heightA >> sa, bandB = heightB >> sb;
          const atA = z0 * d.sA + (tA ? k0 * M + m0 : m0 * K + k0);
          const atB = z0 * d.sB + (tB ? n0 * K + k0 : k0 * N + n0);
          const za = d.sA ? zn : 1, zb = d.sB ? zn : 1;
          if (!tA) copy(a, atA, K, M, ta.texture, [kp / 4, mp, za], 0, sa, bandA);
          for (let i = 0; tA && i < panelsA(mp); i++) {
            const w = Math.min(PANEL_AT, mp / 4 - i * PANEL_AT);
            copy(a, atA + 4 * PANEL_AT * i, M, K, ta.texture, [w, kp, za], i * la, sa, bandA);
          }
          if (!pre && tB) {
            copyBTPanels(commandEncoder(), b, atB, K, N, tb!.texture, kp, np, zb, lb, sb, bandB);
          }
          for (let i = 0; !pre && !tB && i < panelsB(np, kp); i++) {
            const w = Math.min(PANEL_B, np / 4 - i * PANEL_B);
            copy(b, atB + 4 * PANEL_B * i, N, K, tb!.texture, [w, kp, zb], i * lb, sb, bandB);
          }
          // Core Params; on this path lda/ldb are the panels' layer strides. (A full
          // parameter ring makes launch() submit first: the copies above go with it.)
          launch(texKernel, {
            params: [
              ...[mp, np, kp, kp / 4],
              ...[la, lb, N / 4, k0 > 0 ? 1 : 0],
              ...[0, 0, (cw.off + n0) / 4, bandA],
              ...[d.sA ? 1 : 0, d.sB ? 1 : 0, (M * N) / 4, bandB],
            ].map(u32),
            bindings: [{ texture: ta.view }, { texture: tbView }, cw.binding],
            workgroups: [Math.ceil(mp / tm), Math.ceil(np / (32 * tn4)), zn], // ROWS_FIRST
            overrides,
            label: problemLabel(d),
          });
          textureDispatches++;
        }
      }
    }
  }
  return true;
}
