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
import { grid, kernel, launch, u32 } from "../core/runtime.ts";
import { keep, type Tensor } from "../core/tensor.ts";

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
    },
  };
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
  launch(writeKernel, {
    params: [u32(n), u32(T), u32(Hkv), u32(D / 4), u32(maxT), u32(pos)],
    bindings: [k.binding(), v.binding(), cache.k.binding(), cache.v.binding()],
    workgroups: grid(Math.ceil(n / 256)),
  });
}
