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
 * {@link unroll}): on Mesa's llvmpipe every storage load costs a per-lane scalar loop, so
 * each invocation keeps several query (or key) rows in registers and feeds each loaded k/v
 * vector into all of them, which needs straight-line code over the head dimension. Loops over
 * private arrays instead run 4× slower and take LLVM up to a minute to compile.
 *
 * @module
 */
import fwdSrc from "./attention_fwd.wgsl" with { type: "text" };
import dqSrc from "./attention_bwd_dq.wgsl" with { type: "text" };
import dkvSrc from "./attention_bwd_dkv.wgsl" with { type: "text" };
import { record } from "./autograd.ts";
import { gpu } from "./device.ts";
import { f32, grid, type Kernel, kernel, launch, u32 } from "./runtime.ts";
import { empty, keep, type Tensor, tensor } from "./tensor.ts";

/**
 * Expand an unrolled WGSL template: every line containing `$r` is repeated for r < rows and
 * every line containing `$i` for i < d4 (rows outer), with the placeholder replaced by the
 * index. Placeholders are the only "macro"; everything else is plain WGSL.
 */
export function unroll(src: string, counts: { r?: number; i?: number }): string {
  const out: string[] = [];
  for (const line of src.split("\n")) {
    let lines = [line];
    for (const [name, n] of Object.entries(counts)) {
      const token = `$${name}`;
      lines = lines.flatMap((l) =>
        l.includes(token) ? Array.from({ length: n ?? 0 }, (_, x) => l.replaceAll(token, String(x))) : [l]
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

/** Workgroup size: the SIMD width on the CPU adapter, a warp-friendly 64 on a GPU. */
function wg(): number {
  return gpu().isCpu ? 8 : 64;
}

let dummyMask: Tensor | undefined;
function maskBinding(mask: Tensor | undefined) {
  if (mask) return mask.binding();
  dummyMask ??= keep(tensor(new Uint32Array([1]), [1]));
  return dummyMask.binding();
}

/**
 * Rows per invocation (the register tile): more rows reuse each loaded k/v vector more, but
 * registers hold (2 forward, 3 dq, 4 dkv) · rows · D floats and compile time grows with it.
 */
const TUNE = (Deno.env.get("ATTN_ROWS") ?? "").split(",").map(Number);
const ROWS = {
  fwd: (d4: number) => TUNE[0] || (!gpu().isCpu ? 2 : d4 <= 16 ? 8 : 4),
  dq: (d4: number) => TUNE[1] || (!gpu().isCpu ? 1 : d4 <= 8 ? 8 : d4 <= 16 ? 4 : 2),
  dkv: (d4: number) => TUNE[2] || (!gpu().isCpu ? 1 : d4 <= 8 ? 8 : d4 <= 16 ? 4 : 2),
};

export interface AttentionOptions {
  /** [B, T] f32 or i32: nonzero = real token, 0 = pad (excluded as a key). */
  keyMask?: Tensor;
  /** Score scale; default 1/√D. */
  scale?: number;
}

function shapes(q: Tensor, k: Tensor, v: Tensor) {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`attention: q, k, v must be [B, T, H, D], got [${q.shape}], [${k.shape}], [${v.shape}]`);
  }
  const [B, T, Hq, D] = q.shape;
  const [, , Hkv] = k.shape;
  if (k.shape.join() !== [B, T, Hkv, D].join() || v.shape.join() !== k.shape.join()) {
    throw new Error(`attention: k [${k.shape}] and v [${v.shape}] must be [${B}, ${T}, Hkv, ${D}]`);
  }
  if (Hq % Hkv !== 0) throw new Error(`attention: Hq = ${Hq} is not a multiple of Hkv = ${Hkv}`);
  if (D % 4 !== 0 || D > 256) throw new Error(`attention: head size ${D} must be a multiple of 4, ≤ 256`);
  return { B, T, Hq, Hkv, D };
}

/**
 * Causal grouped-query attention `softmax(scale · q kᵀ + causal/pad mask) v`, fused (the
 * [T, T] scores never exist in memory). Records its backward when q, k or v needs grad.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { B, T, Hq, Hkv, D } = shapes(q, k, v);
  const mask = opts.keyMask;
  if (mask && mask.size !== B * T) throw new Error(`attention: keyMask [${mask.shape}] is not [${B}, ${T}]`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const d4 = D / 4;
  const rows = ROWS.fwd(d4);
  const out = empty([B, T, Hq, D]);
  const lse = empty([B, T, Hq]);
  const lanes = Math.ceil(T / rows) * B * Hq;
  launch(unrolled("attention_fwd", fwdSrc, rows, d4), {
    params: [u32(B), u32(T), u32(Hq), u32(Hkv), f32(scale * Math.LOG2E), u32(mask ? 1 : 0), u32(lanes), u32(0)],
    bindings: [q.binding(), k.binding(), v.binding(), maskBinding(mask), out.binding(), lse.binding()],
    workgroups: grid(Math.ceil(lanes / wg())),
    overrides: { WG: wg(), ROWS: rows, D4: d4 },
  });
  // The tape keeps lse (and the mask) alive for the backward; otherwise it goes back now.
  const saved = mask ? [q, k, v, lse, mask] : [q, k, v, lse];
  record(out, saved, (g) => [...attentionBackward(q, k, v, mask, out, lse, g, scale), null, null]);
  lse.dispose();
  return out;
}

/** dq, dk, dv for dO = `g` (two dispatches: dq + D_i, then dk/dv). */
function attentionBackward(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | undefined,
  out: Tensor,
  lse: Tensor,
  g: Tensor,
  scale: number,
): Tensor[] {
  const { B, T, Hq, Hkv, D } = shapes(q, k, v);
  const d4 = D / 4;
  const dq = empty(q.shape);
  const di = empty([B, T, Hq]);
  const common = [u32(B), u32(T), u32(Hq), u32(Hkv), f32(scale * Math.LOG2E), u32(mask ? 1 : 0)];
  const qRows = ROWS.dq(d4);
  const qLanes = Math.ceil(T / qRows) * B * Hq;
  if (!Deno.env.get("SKIP_DQ")) launch(unrolled("attention_bwd_dq", dqSrc, qRows, d4), {
    params: [...common, u32(qLanes), f32(scale)],
    bindings: [
      q.binding(), k.binding(), v.binding(), maskBinding(mask), out.binding(), g.binding(), lse.binding(),
      dq.binding(), di.binding(),
    ],
    workgroups: grid(Math.ceil(qLanes / wg())),
    overrides: { WG: wg(), ROWS: qRows, D4: d4 },
  });
  const dk = empty(k.shape);
  const dv = empty(v.shape);
  const kRows = ROWS.dkv(d4);
  const kLanes = Math.ceil(T / kRows) * B * Hkv;
  if (!Deno.env.get("SKIP_DKV")) launch(unrolled("attention_bwd_dkv", dkvSrc, kRows, d4), {
    params: [...common, u32(kLanes), f32(scale)],
    bindings: [
      q.binding(), k.binding(), v.binding(), maskBinding(mask), g.binding(), lse.binding(), di.binding(),
      dk.binding(), dv.binding(),
    ],
    workgroups: grid(Math.ceil(kLanes / wg())),
    overrides: { WG: wg(), ROWS: kRows, D4: d4 },
  });
  di.dispose();
  return [dq, dk, dv];
}
