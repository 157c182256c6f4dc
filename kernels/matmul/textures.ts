/**
 * What the two texture paths (texture.ts for M ≥ 16, packed.ts for decode) share: whether the
 * adapter takes storage-texture operands at all and how big a texture may be
 * ({@link storageTextureLimits}), and a cache of rgba32float array textures reused by shape
 * ({@link TextureCache}).
 *
 * The paths exist because llvmpipe compiles a storage-texture load to straight vector code
 * where a lane-varying storage-buffer load is a loop over the SIMD lanes; on a GPU they are
 * off.
 * @module
 */
import { gpu } from "../core/device.ts";
import { afterSubmit } from "../core/runtime.ts";

/** The device's texture limits, or null when the texture paths are off on this adapter. */
export function storageTextureLimits(): { dim: number; layers: number } | null {
  const g = gpu();
  const features = (navigator.gpu as { wgslLanguageFeatures?: Set<string> }).wgslLanguageFeatures;
  if (!g.isCpu || !features?.has("readonly_and_readwrite_storage_textures")) return null;
  return {
    dim: g.device.limits.maxTextureDimension2D,
    layers: g.device.limits.maxTextureArrayLayers,
  };
}

/** An rgba32float 2-D array texture and its view. */
export interface ArrayTexture {
  texture: GPUTexture;
  view: GPUTextureView;
}

/** Create an rgba32float [w, h, layers] array texture that copies write and shaders read. */
export function arrayTexture(label: string, w: number, h: number, layers: number): ArrayTexture {
  const texture = gpu().device.createTexture({
    label,
    size: [w, h, layers],
    format: "rgba32float",
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  });
  return { texture, view: texture.createView({ dimension: "2d-array" }) };
}

/**
 * Textures kept for reuse by role and shape: commands run in order, so the next copy into
 * one cannot overtake the dispatch that reads it. When `maxBytes` more would be exceeded
 * ({@link reserve}), every cached texture is dropped (destroyed after the next submit).
 */
export class TextureCache {
  #textures = new Map<string, ArrayTexture>();
  #bytes = 0;

  constructor(readonly label: string, readonly maxBytes = Infinity) {}

  /** The [w, h, layers] texture for `role`, created on first use. */
  get(role: string, w: number, h: number, layers: number): ArrayTexture {
    const key = `${role}:${w}x${h}x${layers}`;
    let t = this.#textures.get(key);
    if (!t) {
      t = arrayTexture(`${this.label} ${key}`, w, h, layers);
      this.#textures.set(key, t);
      this.#bytes += w * h * layers * 16;
    }
    return t;
  }

  /** Make room for `bytes` more: drop the cache if they would take it past `maxBytes`. */
  reserve(bytes: number): void {
    if (this.#bytes + bytes <= this.maxBytes) return;
    const old = [...this.#textures.values()];
    afterSubmit(() => old.forEach((o) => o.texture.destroy()));
    this.#textures.clear();
    this.#bytes = 0;
  }
}
