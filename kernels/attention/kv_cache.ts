/**
 * The key/value cache for autoregressive decoding, on the GPU.
 *
 * Layout: `k` and `v` are [B, Hkv, maxT, D] f32 — each sequence's keys for one kv head are
 * contiguous, which is what `attentionDecode` (attention.ts) streams through. A cache is
 * zero-filled on creation so that never-written slots hold finite numbers (they are masked
 * out, but 0 · NaN would still poison a sum).
 *
 * Batched generation left-pads prompts to a common length P, so every sequence writes the
 * same position at each step: prefill writes positions 0 … P−1 with `writeKV(cache, k, v, 0)`,
 * decode step s writes position P + s. Positions are plain numbers known when encoding, so a
 * whole generation is encoded without reading anything back.
 *
 * @example
 * ```ts
 * const cache = createLayerKVCache(B, Hkv, maxT, D); // one per layer
 * writeKV(cache, kPrompt, vPrompt, 0);                 // prefill: k, v [B, P, Hkv, D]
 * const y = attention(q, kPrompt, vPrompt, { keyMask: promptMask });
 * writeKV(cache, k1, v1, P);                           // decode: k1, v1 [B, 1, Hkv, D]
 * const y1 = attentionDecode(q1, cache.k, cache.v, { length: P + 1, keyMask: cacheMask });
 * ```
 *
 * @module
 */
import src from "./kv_write.wgsl" with { type: "text" };
import { fill } from "../elementwise/elementwise.ts";
import { gpu } from "../core/device.ts";
import {
  grid,
  kernel,
  launch,
  type TextureBinding,
  u32,
  whenEncodedWorkSubmitted,
} from "../core/runtime.ts";
import { keep, type Tensor } from "../core/tensor.ts";
import { copyToFlat, flatTexture } from "../core/texture_reads.ts";
import { copyInto } from "../core/tensor.ts";

const writeKernel = kernel("attention_cache", src);

/** A layer's KV cache: `k`, `v` [batch, kvHeads, maxT, headDim]. */
export interface LayerKVCache {
  readonly k: Tensor;
  readonly v: Tensor;
  readonly batch: number;
  readonly kvHeads: number;
  readonly maxT: number;
  readonly headDim: number;
  /** Release both buffers. */
  dispose(): void;
}

/**
 * Texture mirrors of cache tensors (CPU adapters, core/texture_reads.ts): `writeKV` stores
 * every new vec4 into both, so `attentionDecode` reads the keys and values as textures without
 * copying the whole cache each step. The tensors stay the cache's truth (and what a GPU
 * reads); write a cache only through `writeKV`, or the mirror goes stale.
 */
const mirrors = new WeakMap<Tensor, TextureBinding & { raw: GPUTexture }>();

/** The texture mirror of a cache tensor made by {@link createLayerKVCache}, if it has one. */
export function kvMirror(t: Tensor): TextureBinding | undefined {
  return mirrors.get(t);
}

let placeholder: TextureBinding | undefined;
/** The 1×1 write target bound in place of absent mirrors. */
function noMirror(): TextureBinding {
  placeholder ??= {
    texture: gpu().device.createTexture({
      label: "kv-mirror placeholder",
      size: [1, 1],
      format: "rgba32float",
      usage: GPUTextureUsage.STORAGE_BINDING,
    }).createView(),
  };
  return placeholder;
}

/** A zero-filled cache for `maxT` positions (kept out of enclosing scopes). */
export function createLayerKVCache(
  batch: number,
  kvHeads: number,
  maxT: number,
  headDim: number,
): LayerKVCache {
  const shape = [batch, kvHeads, maxT, headDim];
  const k = keep(fill(shape, 0));
  const v = keep(fill(shape, 0));
  const texels = (batch * kvHeads * maxT * headDim) / 4;
  const textures = headDim % 4 === 0
    ? [flatTexture("kv-mirror k", texels), flatTexture("kv-mirror v", texels)]
    : [null, null];
  if (textures[0] && textures[1]) {
    mirrors.set(k, { texture: textures[0].createView(), raw: textures[0] });
    mirrors.set(v, { texture: textures[1].createView(), raw: textures[1] });
  }
  return {
    k,
    v,
    batch,
    kvHeads,
    maxT,
    headDim,
    dispose() {
      k.dispose();
      v.dispose();
      whenEncodedWorkSubmitted(() => textures.forEach((t) => t?.destroy()));
    },
  };
}

/**
 * Copy sequences `rows[i]` of `src` into sequence i of `dst` (same heads, maxT and head size;
 * e.g. dropping finished sequences from a batch), mirrors included, in stream order.
 */
export function copyKVRows(src: LayerKVCache, dst: LayerKVCache, rows: number[]): void {
  const rowSize = src.kvHeads * src.maxT * src.headDim;
  if (dst.kvHeads !== src.kvHeads || dst.maxT !== src.maxT || dst.headDim !== src.headDim) {
    throw new Error(`copyKVRows: caches [${src.k.shape}] and [${dst.k.shape}] differ per row`);
  }
  if (rows.length > dst.batch || rows.some((r) => !(r >= 0 && r < src.batch))) {
    throw new Error(`copyKVRows: rows ${rows} do not fit ${src.batch} → ${dst.batch}`);
  }
  rows.forEach((r, i) => {
    copyInto(src.k, dst.k, r * rowSize, i * rowSize, rowSize);
    copyInto(src.v, dst.v, r * rowSize, i * rowSize, rowSize);
  });
  // The mirrors again from the tensors (a whole copy: row runs need not line up in texels).
  for (const t of [dst.k, dst.v]) {
    const m = mirrors.get(t);
    if (m) copyToFlat(t.buffer, 0, t.size / 4, 16, m.raw);
  }
}

/**
 * Write `k`, `v` [B, T, Hkv, D] (T = prompt length at prefill, 1 per decode step) into the
 * cache at positions `pos` … `pos + T − 1` of every sequence, in stream order.
 */
export function writeKV(
  cache: Pick<LayerKVCache, "k" | "v">,
  k: Tensor,
  v: Tensor,
  pos: number,
): void {
  const [B, Hkv, maxT, D] = cache.k.shape;
  const [kb, T, kh, kd] = k.shape;
  if (k.rank !== 4 || kb !== B || kh !== Hkv || kd !== D || v.shape.join() !== k.shape.join()) {
    throw new Error(`writeKV: k [${k.shape}], v [${v.shape}] do not fit cache [${cache.k.shape}]`);
  }
  if (!Number.isInteger(pos) || pos < 0 || pos + T > maxT) {
    throw new Error(`writeKV: positions ${pos}…${pos + T - 1} outside the cache's ${maxT}`);
  }
  if (D % 4 !== 0) throw new Error(`writeKV: head size ${D} must be a multiple of 4`);
  const n = B * T * Hkv * (D / 4);
  const kt = mirrors.get(cache.k), vt = mirrors.get(cache.v);
  const mirrored = kt !== undefined && vt !== undefined;
  launch(writeKernel, {
    params: [u32(n), u32(T), u32(Hkv), u32(D / 4), u32(maxT), u32(pos)],
    bindings: [
      k.binding(),
      v.binding(),
      cache.k.binding(),
      cache.v.binding(),
      mirrored ? kt : noMirror(),
      mirrored ? vt : noMirror(),
    ],
    workgroups: grid(Math.ceil(n / 256)),
    overrides: { MIRROR: mirrored ? 1 : 0 },
  });
}
