/**
 * Causal self-attention with grouped-query heads and a key padding mask: the fused
 * (flash-attention style) forward for training and prefill, its backward, and single-token
 * decoding against a KV cache (see kv_cache.ts for the cache itself).
 *
 * Layouts (all f32, row-major):
 * - `q` [B, T, Hq, D]; `k`, `v` [B, T, Hkv, D]; Hq a multiple of Hkv, query head h reads kv
 *   head h / (Hq / Hkv); output [B, T, Hq, D]. D must be a multiple of 4 (≤ 256).
 * - `keyMask` [B, T], f32 or i32, nonzero = real token, 0 = pad. Pad keys are excluded; a
 *   query row with no visible key (e.g. the pad rows of a left-padded prompt) outputs zeros.
 * - KV cache `[B, Hkv, maxT, D]` (each sequence's keys of one head are contiguous, which is
 *   what decoding streams through); `writeKV()` in kv_cache.ts fills it.
 *
 * How the model uses it:
 * - training: `attention(q, k, v, { keyMask })` records its backward on the autograd tape
 *   (gradients for q, k, v; the GQA kv gradient sums over the query heads that share it).
 * - prefill: compute k, v for the (left-padded) prompt, `writeKV(cache, k, v, 0)`, then
 *   `attention(q, k, v, { keyMask: promptMask })` for the prompt's outputs.
 * - decode step at position `pos` (same for the whole batch, prompts being left-padded to
 *   one length): `writeKV(cache, k1, v1, pos)`, then
 *   `attentionDecode(q1, cache.k, cache.v, { length: pos + 1, keyMask: cacheMask })` where
 *   `cacheMask` [B, maxT] is the prompt mask followed by ones. Positions are plain numbers,
 *   so a whole generation encodes without reading anything back.
 *
 * The kernels are WGSL templates unrolled per head size and rows-per-invocation (see
 * `unroll` below): on Mesa's llvmpipe every storage load costs a per-lane scalar loop, so
 * each invocation keeps several query (or key) rows in registers and feeds each loaded k/v
 * vector into all of them, which needs straight-line code over the head dimension. Loops over
 * private arrays instead run 4× slower and take LLVM up to a minute to compile.
 *
 * @module
 */
import fwdSrc from "./forward.wgsl" with { type: "text" };
import dqSrc from "./backward_dq.wgsl" with { type: "text" };
import dkvSrc from "./backward_dkv.wgsl" with { type: "text" };
import decodeSrc from "./decode.wgsl" with { type: "text" };
import combineSrc from "./decode_combine.wgsl" with { type: "text" };
import { record } from "../core/autograd.ts";
import { gpu } from "../core/device.ts";
import { f32, grid, type Kernel, kernel, type TextureBinding, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { kvMirror } from "./kv_cache.ts";
import { empty, keep, type Tensor, tensor } from "../core/tensor.ts";

/**
 * Expand an unrolled WGSL template: every code line containing `$r` is repeated for r < rows
 * and every one containing `$i` for i < d4 (rows outer), with the placeholder replaced by the
 * index (comment lines are left alone). The placeholders are the only "macro": the rest is
 * plain WGSL, and sizes that vary per call still come through the uniform params.
 */
function unroll(src: string, counts: { r: number; i: number }): string {
  const out: string[] = [];
  for (const line of src.split("\n")) {
    let lines = [line];
    if (line.trimStart().startsWith("//")) {
      out.push(line);
      continue;
    }
    for (const [name, n] of Object.entries(counts)) {
      const token = `$${name}`;
      lines = lines.flatMap((l) =>
        l.includes(token)
          ? Array.from({ length: n }, (_, x) => l.replaceAll(token, String(x)))
          : [l]
      );
    }
    out.push(...lines);
  }
  return out.join("\n");
}

const kernels = new Map<string, Kernel>();
/** The kernel for `src` unrolled to `rows` × `d4`, compiled once per shape class. */
function unrolled(name: string, src: string, rows: number, d4: number, entry = "main"): Kernel {
  const key = `${name}/${entry}/${rows}/${d4}`;
  let k = kernels.get(key);
  if (!k) kernels.set(key, k = kernel(key, unroll(src, { r: rows, i: d4 }), entry));
  return k;
}

/** llvmpipe ends any shader loop after 65,535 iterations; key loops must stay below. */
const MAX_LOOP = 65535;

/** Workgroup size: the SIMD width on the CPU adapter, a warp-friendly 64 on a GPU. */
function wg(): number {
  return gpu().isCpu ? 8 : 64;
}

let dummy: Tensor | undefined;
/** `t`, or a one-element placeholder for an absent optional input (the kernel ignores it). */
function optional(t: Tensor | undefined) {
  if (t) return t.binding();
  dummy ??= keep(tensor(new Uint32Array([1]), [1]));
  return dummy.binding();
}

/**
 * Rows per invocation (the register tile) on the CPU adapter. Each loaded k/v (or q/dO) vector
 * feeds every row and loads dominate, but registers hold (2 forward, 3 dq, 4 dkv) · rows · D
 * floats and LLVM's compile time grows steeply with them. At D = 64, cold Mesa shader cache
 * (the cache makes later runs instant): forward 8 rows ≈ 3 s; dq and dkv ≈ 4 s each at 4
 * rows, ≈ 7 s each at 6 rows (−14% backward time) and ≈ 12 s at 8 (−21%). Attention is a
 * few percent of a model's FLOPs, so the backward stays at 4. A GPU wants small invocations.
 */
function rowsFor(kernel: "fwd" | "dq" | "dkv", d4: number): number {
  const cpu = gpu().isCpu;
  if (kernel === "fwd") return !cpu ? 2 : d4 <= 16 ? 8 : d4 <= 32 ? 4 : 2;
  return !cpu ? 1 : d4 <= 8 ? 8 : d4 <= 16 ? 4 : d4 <= 32 ? 2 : 1;
}

/** Throw unless every tensor fits one storage binding (128 MiB on llvmpipe). */
function checkBindable(op: string, ts: Record<string, Tensor | undefined>): void {
  const max = gpu().maxBindingBytes;
  for (const [name, t] of Object.entries(ts)) {
    if (t && t.bytes > max) {
      throw new Error(
        `${op}: ${name} [${t.shape}] is ${t.bytes} bytes, over the ${max}-byte binding limit; split the batch`,
      );
    }
  }
}

export interface AttentionOptions {
  /** [B, T] f32 or i32: nonzero = real token, 0 = pad (excluded as a key). */
  keyMask?: Tensor;
  /** Score scale; default 1/√D. */
  scale?: number;
}

function shapes(q: Tensor, k: Tensor, v: Tensor) {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(
      `attention: q, k, v must be [B, T, H, D], got [${q.shape}], [${k.shape}], [${v.shape}]`,
    );
  }
  const [B, T, Hq, D] = q.shape;
  const [, , Hkv] = k.shape;
  if (k.shape.join() !== [B, T, Hkv, D].join() || v.shape.join() !== k.shape.join()) {
    throw new Error(`attention: k [${k.shape}] and v [${v.shape}] must be [${B}, ${T}, Hkv, ${D}]`);
  }
  if (Hq % Hkv !== 0) throw new Error(`attention: Hq = ${Hq} is not a multiple of Hkv = ${Hkv}`);
  if (D % 4 !== 0 || D > 256) {
    throw new Error(`attention: head size ${D} must be a multiple of 4, ≤ 256`);
  }
  if (T > MAX_LOOP) {
    throw new Error(`attention: T = ${T} exceeds ${MAX_LOOP} (a shader loop's limit)`);
  }
  return { B, T, Hq, Hkv, D };
}

/**
 * Causal grouped-query attention `softmax(scale · q kᵀ + causal/pad mask) v`, fused (the
 * [T, T] scores never exist in memory). Records its backward when q, k or v needs grad.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { B, T, Hq, Hkv, D } = shapes(q, k, v);
  const mask = opts.keyMask;
  if (mask && mask.size !== B * T) {
    throw new Error(`attention: keyMask [${mask.shape}] is not [${B}, ${T}]`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const out = empty([B, T, Hq, D]);
  if (out.size === 0) return out;
  checkBindable("attention", { q, k, v });
  const d4 = D / 4;
  const rows = rowsFor("fwd", d4);
  const lse = empty([B, T, Hq]);
  const lanes = Math.ceil(T / rows) * B * Hq;
  launchReads(unrolled("attention_fwd", fwdSrc, rows, d4), {
    params: [
      u32(B),
      u32(T),
      u32(Hq),
      u32(Hkv),
      f32(scale * Math.LOG2E),
      u32(mask ? 1 : 0),
      u32(lanes),
      u32(0),
    ],
    bindings: [q.binding(), k.binding(), v.binding(), optional(mask), out.binding(), lse.binding()],
    workgroups: grid(Math.ceil(lanes / wg())),
    overrides: { WG: wg(), ROWS: rows, D4: d4 },
  });
  // The tape keeps lse (and the mask) alive for the backward; otherwise it goes back now.
  const saved = mask ? [q, k, v, lse, mask] : [q, k, v, lse];
  record(out, saved, (g) => [...attentionBackward(q, k, v, mask, out, lse, g, scale), null, null]);
  lse.dispose();
  return out;
}

/**
 * dq, dk, dv for dO = `g`: one dispatch for dq (which also packs lse and D_i = rowsum(dO ⊙ O)
 * per row), then one for dk and dv unless neither k nor v needs a gradient.
 */
function attentionBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | undefined,
  out: Tensor,
  lse: Tensor,
  g: Tensor,
  scale: number,
): (Tensor | null)[] {
  const { B, T, Hq, Hkv, D } = shapes(q, k, v);
  const d4 = D / 4;
  const dq = empty(q.shape);
  const ld = empty([B, T, Hq, 2]);
  const common = [u32(B), u32(T), u32(Hq), u32(Hkv), f32(scale * Math.LOG2E), u32(mask ? 1 : 0)];
  const qRows = rowsFor("dq", d4);
  const qLanes = Math.ceil(T / qRows) * B * Hq;
  launchReads(unrolled("attention_bwd_dq", dqSrc, qRows, d4), {
    params: [...common, u32(qLanes), f32(scale)],
    bindings: [
      q.binding(),
      k.binding(),
      v.binding(),
      optional(mask),
      out.binding(),
      g.binding(),
      lse.binding(),
      dq.binding(),
      ld.binding(),
    ],
    workgroups: grid(Math.ceil(qLanes / wg())),
    overrides: { WG: wg(), ROWS: qRows, D4: d4 },
  });
  if (!k.requiresGrad && !v.requiresGrad) {
    ld.dispose();
    return [dq, null, null];
  }
  const dk = empty(k.shape);
  const dv = empty(v.shape);
  const kRows = rowsFor("dkv", d4);
  const kLanes = Math.ceil(T / kRows) * B * Hkv;
  launchReads(unrolled("attention_bwd_dkv", dkvSrc, kRows, d4), {
    params: [...common, u32(kLanes), f32(scale)],
    bindings: [
      q.binding(),
      k.binding(),
      v.binding(),
      optional(mask),
      g.binding(),
      ld.binding(),
      dk.binding(),
      dv.binding(),
    ],
    workgroups: grid(Math.ceil(kLanes / wg())),
    overrides: { WG: wg(), ROWS: kRows, D4: d4 },
  });
  ld.dispose();
  return [dq, dk, dv];
}

export interface DecodeOptions {
  /**
   * Filled cache positions, the same for the whole batch: keys 0 … length − 1 are candidates
   * (default maxT; give it, since work is proportional to it).
   */
  length?: number;
  /** [B, M] (M ≥ length) f32 or i32 over cache positions: 0 excludes a slot (left padding). */
  keyMask?: Tensor;
  /** [B] i32 per-sequence lengths: sequence b only sees keys j < cacheLens[b]. */
  cacheLens?: Tensor;
  /** Score scale; default 1/√D. */
  scale?: number;
}

/**
 * Query heads per invocation in decoding: on the CPU adapter the largest divisor of the GQA
 * group ≤ 8 (every loaded k/v vector then serves that many heads), on a GPU one.
 */
function decodeRows(group: number): number {
  if (!gpu().isCpu) return 1;
  for (let r = Math.min(group, 8); r > 1; r--) if (group % r === 0) return r;
  return 1;
}

/**
 * Attention of one new token per sequence against a KV cache (no gradient): `q` [B, 1, Hq, D]
 * or [B, Hq, D]; `kCache`, `vCache` [B, Hkv, maxT, D] (kv_cache.ts). Returns q's shape. The
 * key range is split across invocations (flash-decoding) and merged by a second dispatch.
 */
export function attentionDecode(
  q: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  opts: DecodeOptions = {},
): Tensor {
  const [B, Hkv, maxT, D] = kCache.shape;
  const Hq = q.size / (B * D);
  const { length = maxT, keyMask, cacheLens } = opts;
  if (kCache.rank !== 4 || vCache.shape.join() !== kCache.shape.join()) {
    throw new Error(
      `attentionDecode: caches [${kCache.shape}], [${vCache.shape}] must be [B, Hkv, maxT, D]`,
    );
  }
  if (
    q.shape[0] !== B || q.shape.at(-1) !== D || !Number.isInteger(Hq) || Hq % Hkv !== 0 ||
    q.size !== B * Hq * D
  ) {
    throw new Error(`attentionDecode: q [${q.shape}] does not match cache [${kCache.shape}]`);
  }
  if (D % 4 !== 0 || D > 256) {
    throw new Error(`attentionDecode: head size ${D} must be a multiple of 4, ≤ 256`);
  }
  if (!Number.isInteger(length) || length < 1 || length > maxT) {
    throw new Error(`attentionDecode: length ${length} outside 1…${maxT}`);
  }
  const maskStride = keyMask ? keyMask.size / B : 0;
  if (keyMask && (keyMask.shape[0] !== B || maskStride < length)) {
    throw new Error(`attentionDecode: keyMask [${keyMask.shape}] must be [${B}, ≥ ${length}]`);
  }
  if (cacheLens && (cacheLens.size !== B || cacheLens.dtype === "f32")) {
    throw new Error(`attentionDecode: cacheLens ${cacheLens} is not an i32 [${B}]`);
  }
  checkBindable("attentionDecode", { q, kCache, vCache, keyMask });
  const d4 = D / 4;
  const rows = decodeRows(Hq / Hkv);
  const groups = B * (Hq / rows);
  // Enough splits to occupy every core (≥ 256 invocations), each at least 16 keys long and
  // short enough for llvmpipe's loop limit.
  const want = Math.max(
    Math.min(Math.ceil(256 / groups), Math.ceil(length / 16)),
    Math.ceil(length / MAX_LOOP),
  );
  const chunk = Math.ceil(length / Math.max(want, 1));
  const nsplit = Math.ceil(length / chunk);
  const po = empty([nsplit, B, Hq, D]);
  const pml = empty([nsplit, B, Hq, 2]);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const head = [u32(B), u32(Hq), u32(Hkv), u32(maxT), u32(length), u32(chunk), u32(nsplit)];
  const lanes = nsplit * groups;
  // The caches' texture mirrors (kv_cache.ts), when both have one, instead of copies.
  const km = kvMirror(kCache), vm = kvMirror(vCache);
  const mirrors: Record<number, TextureBinding> = km && vm ? { 1: km, 2: vm } : {};
  launchReads(unrolled("attention_decode", decodeSrc, rows, d4), {
    params: [
      ...head,
      u32(lanes),
      f32(scale * Math.LOG2E),
      u32(keyMask ? 1 : 0),
      u32(maskStride),
      u32(cacheLens ? 1 : 0),
    ],
    bindings: [
      q.binding(),
      kCache.binding(),
      vCache.binding(),
      optional(keyMask),
      optional(cacheLens),
      po.binding(),
      pml.binding(),
    ],
    workgroups: grid(Math.ceil(lanes / wg())),
    overrides: { WG: wg(), ROWS: rows, D4: d4 },
  }, mirrors);
  const out = empty(q.shape);
  launchReads(unrolled("attention_decode_combine", combineSrc, 1, d4), {
    params: [...head, u32(B * Hq)],
    bindings: [po.binding(), pml.binding(), out.binding()],
    workgroups: grid(Math.ceil((B * Hq) / wg())),
    overrides: { WG: wg(), D4: d4 },
  });
  po.dispose();
  pml.dispose();
  return out;
}
