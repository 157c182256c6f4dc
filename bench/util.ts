/**
 * Shared benchmark helpers: the section interface that `bench/main.ts` registers, and GPU
 * timing that brackets batches of encoded dispatches with `sync()` (one submit + wait per
 * batch, as a training step would), reporting the median of several batches after warm-up.
 *
 * @module
 */
import type { Profile } from "../kernels/core/profile.ts";
import { sync } from "../kernels/core/runtime.ts";

/** Options every section receives from the command line. */
export interface BenchContext {
  /** `--quick`: smaller sizes, fewer repetitions (CI smoke runs). */
  quick: boolean;
  /** Progress output; goes to stderr so `--json` output stays one clean object. */
  log: (msg: string) => void;
  /** A line for under the table (printed once however many rounds run). */
  note?: (msg: string) => void;
}

/** One named group of measurements; `run` returns machine-readable figures. */
export interface BenchSection {
  /** What it measures, shown in the table header. */
  description: string;
  run: (ctx: BenchContext) => Promise<Record<string, number>>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Timing {
  /** Median milliseconds per call over the samples. */
  ms: number;
  /** Fastest sample (ms per call): the least disturbed by other processes. */
  bestMs: number;
  /** Median CPU milliseconds per call, all threads of this process (NaN if unknown). */
  cpuMs: number;
  /** Calls per timed batch. */
  batch: number;
}

/**
 * CPU time of this process in ms, summed over its threads (llvmpipe's workers included),
 * from /proc/self/task/∗/schedstat; NaN where that is unavailable. On a machine whose cores
 * are shared, work per CPU-second is steadier than work per wall-second.
 */
export function cpuTimeMs(): number {
  try {
    let ns = 0;
    for (const e of Deno.readDirSync("/proc/self/task")) {
      try {
        ns += Number(Deno.readTextFileSync(`/proc/self/task/${e.name}/schedstat`).split(" ")[0]);
      } catch { /* thread ended */ }
    }
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * Time `encode` (which only encodes GPU work): one warm-up call (pipeline compiles), then
 * `samples` batches of `n` calls each followed by one `sync()`, with `n` chosen so a batch
 * takes about `minMs`. Per-call time includes the batch's single submit+wait, amortised.
 */
export async function timeGpu(
  encode: () => void,
  { samples = 5, minMs = 250, maxBatch = 1000 } = {},
): Promise<Timing> {
  encode();
  await sync();
  let t0 = performance.now();
  encode();
  await sync();
  const once = performance.now() - t0;
  const n = Math.max(1, Math.min(maxBatch, Math.ceil(minMs / Math.max(once, 0.01))));
  const per: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < samples; s++) {
    t0 = performance.now();
    const c0 = cpuTimeMs();
    for (let i = 0; i < n; i++) encode();
    await sync();
    per.push((performance.now() - t0) / n);
    cpu.push((cpuTimeMs() - c0) / n);
  }
  return { ms: median(per), bestMs: Math.min(...per), cpuMs: median(cpu), batch: n };
}

/** Time an async CPU-side action (e.g. a lone submit+wait) the same way. */
export async function timeAsync(fn: () => Promise<void>, samples = 15): Promise<Timing> {
  await fn();
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    await fn();
    per.push(performance.now() - t0);
  }
  return { ms: median(per), bestMs: Math.min(...per), cpuMs: NaN, batch: 1 };
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** Cores of this machine (the CPU-normalised figures assume all of them to oneself). */
export const CORES = navigator.hardwareConcurrency;

/** Round for display and JSON (3 significant digits, at least 2 decimals below 10). */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return Number(x.toFixed(Math.min(digits, 6)));
}

/**
 * Figures of a profile (kernels/core/profile.ts) under `prefix`: `<prefix>_profile_dispatches`,
 * `_submits`, `_gpu_ms`, `_encode_ms`, `_wall_ms`, and `<prefix>_kernel_<name>_ms` (GPU time)
 * for the `top` kernels by GPU time (names with `/` and the like become `_`).
 */
export function profileFigures(prefix: string, p: Profile, top = 10): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}_profile_dispatches`]: p.dispatches,
    [`${prefix}_profile_submits`]: p.submits,
    [`${prefix}_profile_gpu_ms`]: round(p.gpuMs),
    [`${prefix}_profile_encode_ms`]: round(p.encodeMs),
    [`${prefix}_profile_wall_ms`]: round(p.wallMs),
    [`${prefix}_profile_copies`]: p.copies,
    [`${prefix}_profile_copy_mb`]: round(p.copyBytes / 1e6),
  };
  for (const k of p.kernels.slice(0, top)) {
    const name = k.name.replace(/[^A-Za-z0-9]+/g, "_").replace(/_+$/, "");
    out[`${prefix}_kernel_${name}_ms`] = round(k.gpuMs);
  }
  return out;
}
