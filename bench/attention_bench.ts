/**
 * Attention benchmarks: the fused causal forward, its backward, and KV-cache decoding.
 *
 * Each measurement encodes enough calls into one submit to fill a time budget and waits once,
 * taking the best of a few trials, so the ~11 ms queue wait of the CPU adapter is amortised. FLOPs follow the
 * flash-attention convention: forward 4·B·Hq·T²·D / 2 (causal half), backward 2.5× that,
 * decode 4·B·Hq·L·D.
 *
 * Run alone: `deno run -A bench/attention_bench.ts [--quick]`.
 *
 * @module
 */
import { attention, attentionDecode } from "../kernels/attention.ts";
import { backward, zeroGrad } from "../kernels/autograd.ts";
import { initGpu } from "../kernels/device.ts";
import { createKVCache } from "../kernels/kv_cache.ts";
import { sync } from "../kernels/runtime.ts";
import { scope, type Tensor, tensor } from "../kernels/tensor.ts";

function randomTensor(shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return tensor(data, shape);
}

/**
 * Best wall time per call (ms): calls are encoded back to back into one submit, as many as
 * fill about `budgetMs`, so the ~11 ms queue wait of the CPU adapter is amortised.
 */
async function timeIt(fn: () => void, budgetMs: number, trials: number): Promise<number> {
  fn(); // compile + warm up
  await sync();
  let t0 = performance.now();
  fn();
  await sync();
  const reps = Math.max(1, Math.min(64, Math.round(budgetMs / (performance.now() - t0))));
  let best = Infinity;
  for (let t = 0; t < trials; t++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    await sync();
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best;
}

interface Shape {
  name: string;
  B: number;
  T: number;
  Hq: number;
  Hkv: number;
  D: number;
}

/**
 * Forward and backward ms and GFLOP/s for training shapes, decode ms and GFLOP/s at cache
 * lengths 512 and 2048 with batch 16 (Qwen2.5-0.5B heads: 14 query, 2 kv, D = 64).
 */
export async function benchAttention(quick: boolean): Promise<Record<string, number>> {
  await initGpu();
  const out: Record<string, number> = {};
  const budget = quick ? 100 : 400;
  const trials = quick ? 1 : 3;
  const shapes: Shape[] = [
    { name: "b4_t256_h4_d64", B: 4, T: 256, Hq: 4, Hkv: 4, D: 64 },
    { name: "b1_t1024_h14kv2_d64", B: 1, T: 1024, Hq: 14, Hkv: 2, D: 64 },
  ];
  for (const s of quick ? shapes.slice(0, 1) : shapes) {
    const q = randomTensor([s.B, s.T, s.Hq, s.D], 1);
    const k = randomTensor([s.B, s.T, s.Hkv, s.D], 2);
    const v = randomTensor([s.B, s.T, s.Hkv, s.D], 3);
    const g = randomTensor([s.B, s.T, s.Hq, s.D], 4);
    const flops = (4 * s.B * s.Hq * s.T * s.T * s.D) / 2;
    const fwd = await timeIt(() => scope(() => void attention(q, k, v)), budget, trials);
    for (const t of [q, k, v]) t.requiresGrad = true;
    const both = await timeIt(
      () => {
        scope(() => backward(attention(q, k, v), g));
        zeroGrad([q, k, v]);
      },
      budget,
      trials,
    );
    const bwd = Math.max(both - fwd, 1e-3);
    out[`attention/${s.name}/fwd_ms`] = fwd;
    out[`attention/${s.name}/fwd_gflops`] = flops / fwd / 1e6;
    out[`attention/${s.name}/bwd_ms`] = bwd;
    out[`attention/${s.name}/bwd_gflops`] = (2.5 * flops) / bwd / 1e6;
    for (const t of [q, k, v, g]) t.dispose();
  }
  const [B, Hq, Hkv, D] = [16, 14, 2, 64];
  for (const L of quick ? [512] : [512, 2048]) {
    const cache = createKVCache(B, Hkv, L, D);
    const q = randomTensor([B, 1, Hq, D], 5);
    const ms = await timeIt(
      () => scope(() => void attentionDecode(q, cache.k, cache.v, { length: L })),
      budget,
      trials,
    );
    out[`attention/decode_b${B}_l${L}/ms`] = ms;
    out[`attention/decode_b${B}_l${L}/gflops`] = (4 * B * Hq * L * D) / ms / 1e6;
    q.dispose();
    cache.dispose();
  }
  return out;
}

if (import.meta.main) {
  const results = await benchAttention(Deno.args.includes("--quick"));
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(44)} ${v.toFixed(2)}`);
}
