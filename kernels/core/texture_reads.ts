/**
 * Texture reads: on CPU adapters a kernel can take its read-only inputs as storage textures
 * instead of storage buffers, copied there just before the dispatch.
 *
 * Why: Mesa's llvmpipe compiles a lane-varying storage-buffer load into a loop over the SIMD
 * lanes that inserts each lane's value into a vector at a variable index; without AVX-512, LLVM
 * does that insert through the stack (store the vector, store one lane, reload the vector: a
 * store-forwarding stall per lane and component). A `texture_storage_2d<…, read>` load is
 * straight vector code. Measured with 8-lane workgroups reading lane-varying vec4s in a loop
 * (bench/README.md "Texture reads"): 15.5 vs 1.5–1.9 ns per lane-vec4 on an AVX2 Zen 3, 2.4–3.3
 * vs 0.75 on an AVX-512 Xeon. A copy (`copyBufferToTexture`, a memcpy on llvmpipe, 2–4 GB/s)
 * costs ≈ 4 ns per 16 bytes, so a tensor read even once comes out ahead, and one read many times
 * (attention's keys and values) far ahead. GPUs are left on the buffer kernels.
 *
 * How a kernel opts in: its WGSL declares the inputs as usual
 * (`@group(0) @binding(2) var<storage, read> k: array<vec4f>;`, or `array<f32|u32|i32>`), and
 * {@link withTextureReads} rewrites the named bindings to textures (every `k[i]` becomes a
 * load of texel i of a flat 2-D texture, 8 KiB per row), so one source serves both paths. At launch
 * {@link textureBindings} copies each input into a cached texture of its role and returns the
 * bindings, or null (use the buffer kernel) when the path is off or an input does not fit.
 * @module
 */
import { gpu } from "./device.ts";
import {
  afterSubmit,
  type Binding,
  type BufferBinding,
  commandEncoder,
  countCopy,
  type Kernel,
  kernel,
  type Launch,
  launch,
  type TextureBinding,
} from "./runtime.ts";

/**
 * Every texture row holds 8 KiB (512 rgba32float, 1024 rg32float or 2048 r32 texels): element i
 * is texel (i mod row, i / row). Pool buffers of 64 KiB and up are multiples of 8 KiB, so a
 * copy of whole rows fits them and an input is one copy (each costs ≈ 35 µs on llvmpipe).
 */
const ROW_BYTES = 8192;
/** Texels per row for `bytes`-byte texels, and its log2 (the WGSL helpers mask and shift). */
const rowOf = (bytes: number) => ROW_BYTES / bytes;
const log2 = (n: number) => Math.round(Math.log2(n));
/** Below this many input bytes in all a launch keeps the buffer kernel: copies cost more. */
const MIN_INPUT_BYTES = 32 * 1024;
/** What the cached textures may hold in all before the cache is dropped and rebuilt. */
const CACHE_BYTES = 512 * 1024 * 1024;
/** Inputs larger than this stay buffers (a big weight read once per call costs more to copy). */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

type Elem = "vec4f" | "vec2f" | "f32" | "u32" | "i32";
const FORMATS: Record<Elem, { format: GPUTextureFormat; bytes: number; wgsl: string }> = {
  vec4f: { format: "rgba32float", bytes: 16, wgsl: "vec4f" },
  vec2f: { format: "rg32float", bytes: 8, wgsl: "vec2f" },
  f32: { format: "r32float", bytes: 4, wgsl: "f32" },
  u32: { format: "r32uint", bytes: 4, wgsl: "u32" },
  i32: { format: "r32sint", bytes: 4, wgsl: "i32" },
};

let forced: boolean | undefined;

/**
 * Force texture reads on (where the adapter can) or off, or with `undefined` restore the
 * automatic choice (on for CPU adapters). Tests run the kernels both ways.
 */
export function setTextureReads(on: boolean | undefined): void {
  forced = on;
}

/** Whether kernels take texture reads now: a CPU adapter (unless forced) with read-only storage textures. */
export function textureReadsOn(): boolean {
  const features = (navigator.gpu as { wgslLanguageFeatures?: Set<string> }).wgslLanguageFeatures;
  if (!features?.has("readonly_and_readwrite_storage_textures")) return false;
  return forced ?? gpu().isCpu;
}

const DECL =
  /@group\(0\)\s*@binding\((\d+)\)\s*var\s*<\s*storage\s*,\s*read\s*>\s*(\w+)\s*:\s*array\s*<\s*(vec4f|vec4<f32>|vec2f|vec2<f32>|f32|u32|i32)\s*>\s*;/g;

/**
 * `source` with the read-only array bindings `names` turned into texture reads: each
 * declaration becomes a `texture_storage_2d<format, read>` and a helper `name_at(i)`, and
 * every `name[expr]` becomes `name_at(expr)` (and `arrayLength(&name)` the largest u32: a
 * texture load out of bounds is defined, so clamps to the length may go). Throws if a name is
 * not such a binding or is used any other way (a pointer argument). Comments are dropped.
 */
export function withTextureReads(source: string, names: string[]): string {
  let out = source.replace(/\/\/.*$/gm, ""); // comments would read as uses
  for (const name of names) {
    let elem: Elem | undefined;
    // An array (or pointer) local or parameter of the same name would have its indexing
    // rewritten into texture loads of the binding: refuse it rather than read wrong data.
    const arrays = [
      "array",
      "ptr",
      ...[...out.matchAll(/\balias\s+(\w+)\s*=\s*array\b/g)].map((m) => m[1]),
    ]
      .join("|");
    const params = [...out.matchAll(/\bfn\s+\w+\s*\(([^)]*)\)/g)].flatMap((m) =>
      m[1].split(",").filter((p) => new RegExp(`:\\s*(${arrays})\\b`).test(p))
        .map((p) => p.split(":")[0].trim().split(/\s+/).pop())
    );
    const local = new RegExp(
      `\\b(let|var)\\s+${name}(?![\\w$])\\s*(:\\s*(${arrays})\\b|=\\s*(${arrays})\\b)`,
    );
    if (params.includes(name) || local.test(out)) {
      throw new Error(`withTextureReads: a local or parameter shadows the binding ${name}`);
    }
    out = out.replace(DECL, (m, binding: string, n: string, type: string) => {
      if (n !== name) return m;
      elem = type.replace("<f32>", "f") as Elem;
      const f = FORMATS[elem];
      const texel = elem === "vec4f" ? "" : elem === "vec2f" ? ".xy" : ".x";
      const row = rowOf(f.bytes);
      return `@group(0) @binding(${binding}) var ${name}: texture_storage_2d<${f.format}, read>;\n` +
        `fn ${name}_at(i: u32) -> ${f.wgsl} { ` +
        `return textureLoad(${name}, vec2u(i & ${row - 1}u, i >> ${log2(row)}u))${texel}; }`;
    });
    if (!elem) throw new Error(`withTextureReads: no read-only array binding named ${name}`);
    out = replaceIndexing(out, name);
    // A load past a texture's end is defined (zero or some texel), so a clamp to the array's
    // length has nothing left to guard.
    out = out.replace(new RegExp(`arrayLength\\(\\s*&\\s*${name}\\s*\\)`, "g"), "0xffffffffu");
    // What is left of a storage array once its indexing is gone: `&name` (arrayLength, a
    // pointer argument). Other uses of the word are locals that shadow it.
    if (new RegExp(`&\\s*${name}(?!\\w)`).test(out)) {
      throw new Error(`withTextureReads: ${name} is used other than as ${name}[i]`);
    }
  }
  return out;
}

/** Replace every `name[ … ]` (brackets balanced) by `name_at( … )`. */
function replaceIndexing(src: string, name: string): string {
  const re = new RegExp(`(?<![\\w.])${name}\\s*\\[`, "g");
  let out = "";
  let last = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let depth = 1;
    let j = m.index + m[0].length;
    for (; j < src.length && depth > 0; j++) {
      if (src[j] === "[") depth++;
      else if (src[j] === "]") depth--;
    }
    if (depth > 0) throw new Error(`withTextureReads: unbalanced ${name}[`);
    out += src.slice(last, m.index) + `${name}_at(` + src.slice(m.index + m[0].length, j - 1) +
      ")";
    last = j;
    re.lastIndex = j;
  }
  return out + src.slice(last);
}

interface Cached {
  texture: GPUTexture;
  view: GPUTextureView;
  height: number;
  format: GPUTextureFormat;
}
const cache = new Map<string, Cached>();
let cachedBytes = 0;

/** The cached texture of `role` with at least `height` rows, grown (to a power of two) as needed. */
function textureFor(role: string, format: GPUTextureFormat, bytes: number, height: number) {
  const key = `${role}:${format}`;
  const hit = cache.get(key);
  if (hit && hit.height >= height) return hit;
  const limit = gpu().device.limits.maxTextureDimension2D;
  const h = Math.min(limit, 2 ** Math.ceil(Math.log2(Math.max(height, 1))));
  const size = ROW_BYTES * h;
  if (cachedBytes + size > CACHE_BYTES) {
    const old = [...cache.values()];
    afterSubmit(() => old.forEach((o) => o.texture.destroy()));
    cache.clear();
    cachedBytes = 0;
  } else if (hit) {
    cache.delete(key);
    cachedBytes -= ROW_BYTES * hit.height;
    afterSubmit(() => hit.texture.destroy());
  }
  const texture = gpu().device.createTexture({
    label: `texture-read ${key}`,
    size: [rowOf(bytes), h],
    format,
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  });
  const entry = { texture, view: texture.createView(), height: h, format };
  cache.set(key, entry);
  cachedBytes += size;
  return entry;
}

/**
 * A flat rgba32float texture of `texels` vec4s that kernels read (as {@link launchReads}'s
 * textures do) and write with `textureStore` — e.g. a KV cache's mirror, kept up to date by
 * the kernel that writes the cache so no copy is needed — and {@link copyToFlat} fills, or null when texture reads are off
 * or it would be over 64 MiB or taller than the adapter's textures. Zero-filled, as WebGPU
 * creates every texture.
 */
export function flatTexture(label: string, texels: number): GPUTexture | null {
  const height = Math.ceil(texels / rowOf(16));
  if (!textureReadsOn() || texels * 16 > MAX_INPUT_BYTES) return null;
  if (height > gpu().device.limits.maxTextureDimension2D) return null;
  return gpu().device.createTexture({
    label,
    size: [rowOf(16), Math.max(height, 1)],
    format: "rgba32float",
    usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  });
}

/**
 * Encode the copy of `texels` texels (`bytes` each) from `buffer` at `offset` into the flat
 * layout of `texture`: one copy of whole rows when the buffer holds the last row's bytes (the
 * texels past the input are never read), else the full rows and then the rest.
 */
export function copyToFlat(
  buffer: GPUBuffer,
  offset: number,
  texels: number,
  bytes: number,
  texture: GPUTexture,
): void {
  const enc = commandEncoder();
  const row = rowOf(bytes);
  countCopy(texels * bytes);
  const rows = Math.ceil(texels / row);
  if (texels >= row && offset + rows * ROW_BYTES <= buffer.size) {
    enc.copyBufferToTexture(
      { buffer, offset, bytesPerRow: ROW_BYTES, rowsPerImage: rows },
      { texture },
      [row, rows],
    );
    return;
  }
  const full = Math.floor(texels / row), rest = texels % row;
  if (full > 0) {
    enc.copyBufferToTexture(
      { buffer, offset, bytesPerRow: ROW_BYTES, rowsPerImage: full },
      { texture },
      [row, full],
    );
  }
  if (rest > 0) {
    enc.copyBufferToTexture(
      { buffer, offset: offset + full * ROW_BYTES },
      { texture, origin: [0, full] },
      [rest, 1],
    );
  }
}

/** An input for {@link textureBindings}: a buffer window and its element type in the WGSL. */
export interface TextureInput {
  binding: BufferBinding;
  elem: Elem;
}

/**
 * Copy each input into its role's texture (`role` + index; commands run in order, so the next
 * copy into it cannot overtake this dispatch) and return the texture bindings, or null when
 * texture reads are off, an input is over 64 MiB or needs more rows than the adapter's
 * textures have, or the inputs come to less than `minBytes` (32 KiB: each copy costs ≈ 35 µs,
 * what the buffer loads of ≈ 40 KB cost on AVX2); then launch the buffer kernel. Encodes the copies now, between compute passes.
 */
export function textureBindings(
  role: string,
  inputs: TextureInput[],
  minBytes = MIN_INPUT_BYTES,
): TextureBinding[] | null {
  if (!textureReadsOn()) return null;
  const limit = gpu().device.limits.maxTextureDimension2D;
  const plans = inputs.map(({ binding, elem }) => {
    const { bytes, format } = FORMATS[elem];
    const offset = binding.offset ?? 0;
    const size = Math.min(
      binding.size ?? binding.buffer.size - offset,
      binding.buffer.size - offset,
    );
    const texels = Math.floor(size / bytes);
    return { binding, bytes, format, offset, texels, height: Math.ceil(texels / rowOf(bytes)) };
  });
  const refused = (p: (typeof plans)[number]) =>
    p.height > limit || p.offset % p.bytes !== 0 || p.texels * p.bytes > MAX_INPUT_BYTES;
  if (plans.some(refused)) return null;
  if (plans.reduce((sum, p) => sum + p.texels * p.bytes, 0) < minBytes) return null;
  return plans.map((p, i) => {
    const t = textureFor(`${role}.${i}`, p.format, p.bytes, p.height);
    copyToFlat(p.binding.buffer, p.offset, p.texels, p.bytes, t.texture);
    return { texture: t.view };
  });
}

/** The read-only array bindings of a WGSL source that can be textures: binding → (name, type). */
function readArrays(source: string): Map<number, { name: string; elem: Elem }> {
  const out = new Map<number, { name: string; elem: Elem }>();
  for (const m of source.matchAll(DECL)) {
    out.set(Number(m[1]), { name: m[2], elem: m[3].replace("<f32>", "f") as Elem });
  }
  return out;
}

const textured = new WeakMap<Kernel, { kernel: Kernel; reads: Map<number, Elem> }>();

/** `k` with every read-only array binding read through a texture (made once per kernel). */
function texturedKernel(k: Kernel) {
  let t = textured.get(k);
  if (!t) {
    const arrays = readArrays(k.source);
    const names = [...arrays.values()].map((a) => a.name);
    t = {
      kernel: kernel(k.name, withTextureReads(k.source, names), k.entry),
      reads: new Map([...arrays].map(([b, a]) => [b, a.elem])),
    };
    textured.set(k, t);
  }
  return t;
}

/**
 * {@link launch} `k`, with its read-only array inputs copied into textures and read from there
 * when texture reads are on (CPU adapters) and every input fits; else `k` as it is. `given`
 * (by index into `l.bindings`) are inputs already held as flat textures ({@link flatTexture}),
 * bound as they are instead of copied. The textured kernel compiles once per kernel and keeps
 * its name (profiles read the same).
 */
export function launchReads(k: Kernel, l: Launch, given: Record<number, TextureBinding> = {}) {
  if (!textureReadsOn()) return launch(k, l);
  const t = texturedKernel(k);
  const first = k.bindings[0] === "uniform" ? 1 : 0;
  const slots = [...t.reads.keys()].filter((b) => !given[b - first]);
  const views = textureBindings(
    k.name,
    slots.map((b) => ({ binding: l.bindings[b - first] as BufferBinding, elem: t.reads.get(b)! })),
    Object.keys(given).length > 0 ? 0 : MIN_INPUT_BYTES, // given textures: worth it whatever the rest
  );
  if (!views) return launch(k, l);
  const bindings: Binding[] = l.bindings.map((b, i) => given[i] ?? b);
  slots.forEach((b, i) => bindings[b - first] = views[i]);
  launch(t.kernel, { ...l, bindings });
}
