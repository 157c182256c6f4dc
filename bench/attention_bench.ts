/**
 * Attention benchmarks: the fused causal forward, its backward, and KV-cache decoding.
 *
 * Figures (`attention_<pass>_<shape>_<unit>`):
 * - `attention_fwd_<shape>_ms` / `_gflops` and `attention_bwd_<shape>_ms` / `_gflops` for
 *   `b4_t256_h4_d64` (B = 4, T = 256, 4 heads, D = 64) and `b1_t1024_h14kv2_d64` (one
 *   sequence of 1024 tokens with Qwen2.5-0.5B's heads: 14 query, 2 kv). The backward is
 *   timed as forward + backward minus forward. FLOPs follow the flash-attention convention:
 *   forward 4·B·Hq·T²·D / 2 (the causal half), backward 2.5× that.
 * - `attention_decode_b16_l<L>_ms` / `_gflops`: one decode step (16 sequences, Qwen2.5-0.5B
 *   heads) against a cache of L = 512 and 2048 keys; 4·B·Hq·L·D FLOPs.
 *
 * Run alone: `deno run -A bench/attention_bench.ts [--quick]`.
 *
 * @module
 */
import { attention, attentionDecode } from "../kernels/attention/attention.ts";
import { backward, zeroGrad } from "../kernels/core/autograd.ts";
import { initGpu } from "../kernels/core/device.ts";
import { createLayerKVCache } from "../kernels/attention/kv_cache.ts";
import { type Tensor, tensor } from "../kernels/core/tensor.ts";
import { type BenchSection, gflops, round, timeGpu } from "./util.ts";

function random(shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return tensor(data, shape);
}

/** [name, B, T, Hq, Hkv, D] of the training-shape measurements. */
const SHAPES: [string, number, number, number, number, number][] = [
  ["b4_t256_h4_d64", 4, 256, 4, 4, 64],
  ["b1_t1024_h14kv2_d64", 1, 1024, 14, 2, 64],
];

/** Forward/backward and decode figures (see the module doc); `log` reports progress. */
export async function benchAttention(
  quick: boolean,
  log: (msg: string) => void = console.error,
): Promise<Record<string, number>> {
  await initGpu();
  const out: Record<string, number> = {};
  const samples = quick ? 3 : 5;
  for (const [name, B, T, Hq, Hkv, D] of quick ? SHAPES.slice(0, 1) : SHAPES) {
    const q = random([B, T, Hq, D], 1);
    const k = random([B, T, Hkv, D], 2);
    const v = random([B, T, Hkv, D], 3);
    const g = random([B, T, Hq, D], 4);
    const flops = (4 * B * Hq * T * T * D) / 2;
    const fwd = await timeGpu(() => attention(q, k, v).dispose(), { samples });
    for (const t of [q, k, v]) t.requiresGrad = true;
    const both = await timeGpu(() => {
      const o = attention(q, k, v);
      backward(o, g);
      o.dispose();
      zeroGrad([q, k, v]);
    }, { samples });
    const bwdMs = Math.max(both.ms - fwd.ms, 1e-3);
    out[`attention_fwd_${name}_ms`] = round(fwd.ms);
    out[`attention_fwd_${name}_gflops`] = round(gflops(flops, fwd.ms));
    out[`attention_bwd_${name}_ms`] = round(bwdMs);
    out[`attention_bwd_${name}_gflops`] = round(gflops(2.5 * flops, bwdMs));
    log(
      `attention ${name}: forward ${fwd.ms.toFixed(2)} ms (best ${fwd.bestMs.toFixed(2)}), ` +
        `backward ${bwdMs.toFixed(2)} ms, ${fwd.batch} per submit`,
    );
    for (const t of [q, k, v, g]) t.dispose();
  }
  const [B, Hq, Hkv, D] = [16, 14, 2, 64];
  for (const L of quick ? [512] : [512, 2048]) {
    const cache = createLayerKVCache(B, Hkv, L, D);
    const q = random([B, 1, Hq, D], 5);
    const t = await timeGpu(() => attentionDecode(q, cache.k, cache.v, { length: L }).dispose(), {
      samples,
    });
    out[`attention_decode_b${B}_l${L}_ms`] = round(t.ms);
    out[`attention_decode_b${B}_l${L}_gflops`] = round(gflops(4 * B * Hq * L * D, t.ms));
    log(
      `attention decode B${B} L${L}: ${t.ms.toFixed(2)} ms (best ${
        t.bestMs.toFixed(2)
      }), ${t.batch} per submit`,
    );
    q.dispose();
    cache.dispose();
  }
  return out;
}

/** The section for bench/main.ts's registry. */
export const attentionSection: BenchSection = {
  description: "fused causal attention (forward, backward) and KV-cache decoding",
  run: (ctx) => benchAttention(ctx.quick, ctx.log),
};

if (import.meta.main) {
  const figures = await benchAttention(Deno.args.includes("--quick"));
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(44)} ${v}`);
}
