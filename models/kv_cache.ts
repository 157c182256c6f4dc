/**
 * A model's KV cache: one `kernels/attention/kv_cache.ts` cache per decoder layer.
 *
 * @module
 */
import {
  createKVCache as createLayerCache,
  type KVCache as LayerCache,
} from "../kernels/attention/kv_cache.ts";
import type { ModelConfig } from "./hf_config.ts";

export interface KVCache {
  readonly layers: LayerCache[];
  readonly batch: number;
  readonly maxT: number;
  dispose(): void;
}

/** Zero-filled caches for `batch` sequences of up to `maxT` tokens. */
export function createKVCache(cfg: ModelConfig, batch: number, maxT: number): KVCache {
  const layers = Array.from(
    { length: cfg.numLayers },
    () => createLayerCache(batch, cfg.numKvHeads, maxT, cfg.headDim),
  );
  return {
    layers,
    batch,
    maxT,
    dispose: () => layers.forEach((c) => c.dispose()),
  };
}
