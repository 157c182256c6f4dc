/**
 * Small-M products with a weight kept in texture form: `matmulPacked(x, packWeight(w))` =
 * x · wᵀ for an nn.Linear weight w [N, K], the decode-time shape (x: 1–8 rows).
 *
 * On CPU adapters {@link matmul} copies both operands into textures on every call
 * (texture.ts) — worth it from M ≥ 16, but for a few rows the copy of W costs more
 * than the product, so decode takes the slower storage-buffer kernel. {@link packWeight}
 * copies W into an rgba32float array texture once (again on {@link PackedWeight.refresh}
 * after an optimizer step); each call then copies only x (M × K floats) and runs the matmul
 * core with `packed.wgsl`'s loaders and a tile of 1, 2, 4 or 8 rows.
 *
 * Inference only (rollouts under `noGrad`): no backward. Shapes the path does not take
 * (GPU adapters, K or N not a multiple of 64 / 4, M > {@link packedMaxRows}) fall back to
 * `matmul(x, w, {transB: true})`, so callers need not care.
 *
 * @example
 * ```ts
 * const head = packWeight(lmHead.weight); // once per weight update
 * const logits = noGrad(() => matmulPacked(hidden, head)); // [B, 1, H] → [B, 1, V]
 * ```
 * @module
 */
import coreSrc from "./core.wgsl" with { type: "text" };
import packedSrc from "./packed.wgsl" with { type: "text" };
import { needsGrad } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { matmul } from "./matmul.ts";
import { arrayTexture, storageTextureLimits, TextureCache } from "./textures.ts";
import { type TexturedWeight, textureWeight } from "./texture.ts";
import {
  commandEncoder,
  countCopy,
  kernel,
  launch,
  u32,
  whenEncodedWorkSubmitted,
} from "../core/runtime.ts";
import { empty, type Tensor } from "../core/tensor.ts";

const packedKernel = kernel("matmul_packed", `${coreSrc}\n${packedSrc}`);

/** Columns of C per workgroup (8 invocations × 16 columns, as in core.wgsl). */
const TILE_N = 128;

/** A weight [N, K] copied into texture form for {@link matmulPacked}. */
export interface PackedWeight {
  /** The weight this packs ([N, K], used transposed). */
  readonly weight: Tensor;
  readonly N: number;
  readonly K: number;
  /** Whether the texture path holds it (false: every call falls back to matmul). */
  readonly packed: boolean;
  /** Re-copy the weight (after it changed, e.g. an optimizer step). Encoded, not submitted. */
  refresh(): void;
  /** Free the texture (after the commands already encoded have been submitted). */
  dispose(): void;
}

interface Layout {
  /** log2 texels per K panel; panels per chunk; rows (of W) per chunk; chunks. */
  pLog: number;
  panels: number;
  rows: number;
  chunks: number;
}

let maxRowsOverride: number | undefined;
let limitsOverride: { dim?: number; layers?: number } | undefined;
let packedDispatches = 0;

/** Most rows of x (M) that take the packed path (default 64; tests and benches set it). */
export function packedMaxRows(): number {
  return maxRowsOverride ?? 64;
}

/** Override {@link packedMaxRows} (`undefined` restores the default). */
export function setPackedMaxRows(rows: number | undefined): void {
  maxRowsOverride = rows;
}

/**
 * Pretend the device's texture limits are smaller (tests exercise the N chunking with it);
 * applies to weights packed afterwards. `undefined` restores the device's.
 */
export function setPackedTextureLimits(l: { dim?: number; layers?: number } | undefined): void {
  limitsOverride = l;
}

/** Dispatches encoded by the packed path so far (tests check which path ran). */
export function matmulPackedDispatches(): number {
  return packedDispatches;
}

function textureLimits(): { dim: number; layers: number } | null {
  const device = storageTextureLimits();
  return device && { ...device, ...limitsOverride };
}

/**
 * How W [N, K] is cut: K panels of 2^pLog texels (the largest power of two ≤ 64 dividing
 * K/4, so no panel is padded; 64 texels if that is under 16, accepting padding), N chunks of
 * at most `dim` rows (a multiple of the 128-column tile), one layer per (chunk, panel).
 * Null when W does not fit or copyBufferToTexture can't take its rows (K % 64: 256-byte
 * row pitch).
 */
function layoutOf(N: number, K: number): Layout | null {
  const lim = textureLimits();
  if (!lim || N === 0 || K === 0 || N % 4 || K % 64) return null;
  const k4 = K / 4;
  let pLog = 0;
  while (pLog < 6 && k4 % (2 << pLog) === 0) pLog++;
  if (pLog < 4) pLog = 6;
  const panels = Math.ceil(k4 / (1 << pLog));
  const most = lim.dim >= TILE_N ? Math.floor(lim.dim / TILE_N) * TILE_N : lim.dim;
  const chunks = Math.ceil(N / most);
  // Even chunks (rounded up to the tile) waste fewer rows in the last one.
  const rows = Math.min(most, Math.ceil(N / chunks / TILE_N) * TILE_N, N);
  if (Math.ceil(N / rows) * panels > lim.layers || (1 << pLog) > lim.dim) return null;
  return { pLog, panels, rows, chunks: Math.ceil(N / rows) };
}

class Packed implements PackedWeight {
  readonly N: number;
  readonly K: number;
  readonly layout: Layout | null;
  texture: GPUTexture | null = null;
  view: GPUTextureView | null = null;

  constructor(readonly weight: Tensor) {
    if (weight.rank !== 2 || weight.dtype !== "f32") {
      throw new Error(
        `packWeight: want an f32 [N, K] weight, got ${weight.dtype}[${weight.shape}]`,
      );
    }
    [this.N, this.K] = weight.shape;
    this.layout = layoutOf(this.N, this.K);
    if (this.layout) {
      const { pLog, panels, rows, chunks } = this.layout;
      const t = arrayTexture(
        `matmul_packed W[${this.N},${this.K}]`,
        Math.min(1 << pLog, this.K / 4),
        rows,
        chunks * panels,
      );
      this.texture = t.texture;
      this.view = t.view;
      this.refresh();
    }
  }

  get packed(): boolean {
    return this.texture !== null;
  }

  #textured: TexturedWeight | null | undefined;

  /**
   * The weight in the texture path's layout ({@link textureWeight}), made on first use: for
   * products with more rows than the packed path takes (a rollout of many sequences), or
   * weights it cannot pack (K not a multiple of 64). Undefined where that path would not
   * take the weight whole. It holds the weight's bytes once more until {@link dispose}.
   */
  textured(): TexturedWeight | undefined {
    if (this.#textured === undefined) this.#textured = textureWeight(this.weight);
    return this.#textured ?? undefined;
  }

  refresh(): void {
    this.#textured?.refresh();
    if (!this.texture || !this.layout) return;
    const { pLog, panels, rows } = this.layout;
    const { N, K } = this;
    const enc = commandEncoder(); // ends the shared pass: copies go between passes
    for (let n0 = 0, j = 0; n0 < N; n0 += rows, j++) {
      const h = Math.min(rows, N - n0);
      for (let i = 0; i < panels; i++) {
        const w = Math.min(1 << pLog, K / 4 - (i << pLog));
        enc.copyBufferToTexture(
          {
            buffer: this.weight.buffer,
            offset: (n0 * K + 4 * (i << pLog)) * 4,
            bytesPerRow: K * 4,
          },
          { texture: this.texture, origin: [0, 0, j * panels + i] },
          [w, h, 1],
        );
      }
    }
  }

  dispose(): void {
    this.#textured?.dispose();
    this.#textured = null;
    const t = this.texture;
    this.texture = null;
    this.view = null;
    if (t) whenEncodedWorkSubmitted(() => t.destroy());
  }
}

/** Pack `w` [N, K] (an nn.Linear weight) for {@link matmulPacked}; encodes the copy. */
export function packWeight(w: Tensor): PackedWeight {
  return new Packed(w);
}

// x textures by [K/4, rows]: tiny (≤ packedMaxRows × K floats each), so never dropped.
const xTextures = new TextureCache("matmul_packed x");

/** Rows per invocation for M rows: the smallest tile of 1, 2, 4, 8 holding them (8 beyond). */
function tileRows(M: number): number {
  return [1, 2, 4, 8].find((t) => t >= M) ?? 8;
}

/**
 * x · wᵀ for x [..., K] and a packed w [N, K]: [..., N]. No autograd: throws if x or the
 * weight needs a gradient while grad mode is on (run under `noGrad`).
 */
export function matmulPacked(x: Tensor, pw: PackedWeight): Tensor {
  const { N, K } = pw;
  if (needsGrad(x, pw.weight)) {
    throw new Error("matmulPacked: no backward; call it under noGrad");
  }
  if (x.dtype !== "f32" || x.rank < 1 || x.shape.at(-1) !== K) {
    throw new Error(`matmulPacked: x ${x.dtype}[${x.shape}] does not match weight [${N}, ${K}]`);
  }
  const M = x.size / K;
  const p = pw instanceof Packed ? pw : null;
  if (
    !p?.view || !p.layout || M === 0 || M > packedMaxRows() || M * N * 4 > gpu().maxBindingBytes
  ) {
    // The texture path for M ≥ its minimum, with the weight textured once (on first use,
    // then kept while packed) instead of copied per call.
    const opts = { transB: true, bTexture: p && M >= 16 ? p.textured() : undefined };
    if (M === 0 || x.rank === 2) return matmul(x, pw.weight, opts);
    const x2 = x.reshape([M, K]);
    const y2 = matmul(x2, pw.weight, opts);
    const y = y2.reshape([...x.shape.slice(0, -1), N]);
    x2.dispose();
    y2.dispose();
    return y;
  }
  const tm = tileRows(M);
  const rows = Math.ceil(M / tm) * tm;
  const tx = xTextures.get("x", K / 4, rows, 1);
  countCopy(M * K * 4);
  commandEncoder().copyBufferToTexture(
    { buffer: x.buffer, offset: 0, bytesPerRow: K * 4, rowsPerImage: M },
    { texture: tx.texture },
    [K / 4, M, 1],
  );
  const out = empty([...x.shape.slice(0, -1), N]);
  const { pLog, panels, rows: nc } = p.layout;
  for (let n0 = 0, j = 0; n0 < N; n0 += nc, j++) {
    const np = Math.min(nc, N - n0);
    // Core Params: ldb is the layer step between K panels, offB the chunk's first layer.
    launch(packedKernel, {
      params: [
        ...[M, np, K, K / 4],
        ...[0, 1, N / 4, 0],
        ...[0, j * panels, n0 / 4, 0],
        ...[0, 0, 0, 0],
      ].map(u32),
      bindings: [{ texture: tx.view }, { texture: p.view }, out.binding()],
      workgroups: [Math.ceil(np / TILE_N), rows / tm, 1],
      overrides: { TRANS_B: 1, TM: tm, P_LOG: pLog },
    });
    packedDispatches++;
  }
  return out;
}
