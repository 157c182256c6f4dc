/**
 * Matmul throughput and the launch overheads every op pays on this adapter. Figures:
 * `matmul_<n>_gflops` (square n³), `matmul_4096x256x1024_gflops` ([4096, 256] · [256, 1024],
 * a small model's MLP shape) and its `_transB` variant (weight stored [1024, 256], as a
 * Linear layer computes), `submit_wait_ms` (submit + wait of a one-dispatch batch) and
 * `dispatch_us` (cost of one more dispatch when hundreds share a submit). Each GFLOP/s figure
 * also comes as `_cpu_gflops`: FLOPs per CPU-second of the process × the core count, steadier
 * than wall clock when other processes share the cores. The PyTorch peer
 * (`bench/torch_peer.py`) measures the same shapes under the same names prefixed `torch_`.
 *
 * Run alone: `deno run -A --unstable-webgpu bench/matmul_bench.ts [--quick]`.
 * @module
 */
import { initGpu } from "../kernels/core/device.ts";
import { fill } from "../kernels/elementwise/elementwise.ts";
import { matmul } from "../kernels/matmul/matmul.ts";
import { flush, sync } from "../kernels/core/runtime.ts";
import { type Tensor, tensor } from "../kernels/core/tensor.ts";
import {
  type BenchContext,
  type BenchSection,
  CORES,
  gflops,
  round,
  timeAsync,
  timeGpu,
} from "./util.ts";

/** [name, M, K, N, transB] — the same list lives in torch_peer.py. */
export const MATMUL_SHAPES: [string, number, number, number, boolean][] = [
  ["matmul_256", 256, 256, 256, false],
  ["matmul_512", 512, 512, 512, false],
  ["matmul_1024", 1024, 1024, 1024, false],
  ["matmul_2048", 2048, 2048, 2048, false],
  ["matmul_4096x256x1024", 4096, 256, 1024, false],
  ["matmul_4096x256x1024_transB", 4096, 256, 1024, true],
];

function random(shape: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return tensor(data, shape);
}

export async function benchMatmul(ctx: BenchContext): Promise<Record<string, number>> {
  await initGpu();
  const out: Record<string, number> = {};
  for (const [name, M, K, N, transB] of MATMUL_SHAPES) {
    if (ctx.quick && M * K * N > 1024 ** 3) continue;
    const a = random([M, K], 1);
    const b = random(transB ? [N, K] : [K, N], 2);
    const t = await timeGpu(() => matmul(a, b, { transB }).dispose(), {
      samples: ctx.quick ? 3 : 5,
    });
    out[`${name}_gflops`] = round(gflops(2 * M * N * K, t.ms));
    // Work per CPU-second × cores: what the kernel does with the machine to itself.
    if (Number.isFinite(t.cpuMs)) {
      out[`${name}_cpu_gflops`] = round(gflops(2 * M * N * K, t.cpuMs / CORES));
    }
    ctx.log(
      `${name}: ${t.ms.toFixed(2)} ms median (best ${t.bestMs.toFixed(2)}), ` +
        `${out[`${name}_gflops`]} GFLOP/s, ${out[`${name}_cpu_gflops`]} per CPU-time, ` +
        `${t.batch} per submit`,
    );
    a.dispose();
    b.dispose();
  }
  Object.assign(out, await benchOverheads(ctx));
  return out;
}

/** Submit+wait of a trivial batch, and the marginal cost of a dispatch in a big batch. */
export async function benchOverheads(ctx: BenchContext): Promise<Record<string, number>> {
  await initGpu();
  const wait = await timeAsync(async () => {
    fill([64], 1).dispose();
    await sync();
  }, ctx.quick ? 8 : 20);
  const many = ctx.quick ? 200 : 500;
  const burst = await timeAsync(async () => {
    for (let i = 0; i < many; i++) fill([64], i).dispose();
    flush();
    await sync();
  }, ctx.quick ? 3 : 7);
  const dispatchUs = Math.max(0, ((burst.ms - wait.ms) / (many - 1)) * 1000);
  ctx.log(`submit+wait ${wait.ms.toFixed(2)} ms; ${many} dispatches ${burst.ms.toFixed(1)} ms`);
  return { submit_wait_ms: round(wait.ms), dispatch_us: round(dispatchUs) };
}

export const matmulSection: BenchSection = {
  description: "matmul GFLOP/s and launch overheads (WebGPU)",
  run: benchMatmul,
};

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const figures = await benchMatmul({ quick, log: (m) => console.error(m) });
  console.log(JSON.stringify(figures, null, 2));
}
