/**
 * A model's KV cache: one `kernels/attention/kv_cache.ts` cache per decoder layer.
 *
 * @module
 */
import { createLayerKVCache, type LayerKVCache } from "../kernels/attention/kv_cache.ts";
import type { ModelConfig } from "./hf_config.ts";

/** One {@link LayerKVCache} per decoder layer, for `batch` sequences of up to `maxT` tokens. */
export interface KVCache {
  readonly layers: LayerKVCache[];
  readonly batch: number;
  readonly maxT: number;
  dispose(): void;
}

/** Zero-filled caches for `batch` sequences of up to `maxT` tokens. */
export function createKVCache(cfg: ModelConfig, batch: number, maxT: number): KVCache {
  const layers = Array.from(
    { length: cfg.numLayers },
    () => createLayerKVCache(batch, cfg.numKvHeads, maxT, cfg.headDim),
  );
  return {
    layers,
    batch,
    maxT,
    dispose: () => layers.forEach((c) => c.dispose()),
  };
}
