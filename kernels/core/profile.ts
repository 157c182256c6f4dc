/**
 * Per-kernel profile of whatever `fn` encodes: GPU time from `timestamp-query` (each
 * dispatch in a pass of its own, timed at the pass's start and end), CPU encode time of each
 * launch, dispatch and submit counts.
 *
 * @example
 * ```ts
 * const p = await profile(() => trainStep());
 * console.log(formatProfile(p, 10)); // the ten kernels that took the most GPU time
 * ```
 *
 * Passes of one dispatch each cost a little more than the shared pass, so a profiled run is
 * slightly slower than a plain one; the shares are what to read. Without `timestamp-query`
 * the GPU times are NaN and the rest still counts.
 * @module
 */
import { gpu } from "./device.ts";
import { flush, type LaunchObserver, launchStats, observeLaunches, sync } from "./runtime.ts";

/** One kernel's totals over the profiled work. */
export interface KernelTime {
  name: string;
  dispatches: number;
  /** Summed GPU time of its dispatches (NaN without timestamp-query). */
  gpuMs: number;
  /** Summed CPU time spent encoding its launches (pipeline lookup, params, bind group). */
  encodeMs: number;
}

export interface Profile {
  /** Kernels by GPU time, largest first. */
  kernels: KernelTime[];
  dispatches: number;
  submits: number;
  gpuMs: number;
  encodeMs: number;
  /** Wall-clock time of `fn` and the final wait. */
  wallMs: number;
  /** Buffer-to-texture copies the texture paths encoded (outside passes: not in gpuMs). */
  copies: number;
  copyBytes: number;
}

/** Dispatches timed per submit (a query set holds at most 4096 queries). */
const PER_SUBMIT = 2048;

/**
 * Run `fn` (which may encode, submit and read back as it likes) under the profiler; with
 * `byLabel`, kernels that label their launches (matmul: its problem size) are reported per
 * label.
 */
export async function profile(
  fn: () => unknown,
  opts: { byLabel?: boolean } = {},
): Promise<Profile> {
  const device = gpu().device;
  const timing = device.features.has("timestamp-query");
  const querySet = timing
    ? device.createQuerySet({ type: "timestamp", count: 2 * PER_SUBMIT })
    : undefined;
  const resolve = timing
    ? device.createBuffer({
      size: 16 * PER_SUBMIT,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    })
    : undefined;
  const byName = new Map<string, KernelTime>();
  let names: string[] = [];
  const pending: { staging: GPUBuffer; names: string[] }[] = [];
  const observer: LaunchObserver = {
    byLabel: opts.byLabel,
    full: () => timing && names.length >= PER_SUBMIT,
    passFor(name, encodeMs) {
      let k = byName.get(name);
      if (!k) byName.set(name, k = { name, dispatches: 0, gpuMs: timing ? 0 : NaN, encodeMs: 0 });
      k.dispatches++;
      k.encodeMs += encodeMs;
      if (!querySet) return undefined;
      const i = names.push(name) - 1;
      return { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
    },
    beforeSubmit(encoder) {
      if (!querySet || !resolve || names.length === 0) return;
      const bytes = 16 * names.length;
      const staging = device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      encoder.resolveQuerySet(querySet, 0, 2 * names.length, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, staging, 0, bytes);
      pending.push({ staging, names });
      names = [];
    },
  };
  flush(); // earlier work is not ours
  const before = launchStats();
  const t0 = performance.now();
  observeLaunches(observer);
  try {
    await fn();
    await sync();
  } finally {
    observeLaunches(undefined);
  }
  const wallMs = performance.now() - t0;
  const after = launchStats();
  for (const { staging, names } of pending) {
    await staging.mapAsync(GPUMapMode.READ);
    const ns = new BigUint64Array(staging.getMappedRange());
    names.forEach((name, i) => {
      const dt = ns[2 * i + 1] >= ns[2 * i] ? Number(ns[2 * i + 1] - ns[2 * i]) : 0;
      byName.get(name)!.gpuMs += dt / 1e6;
    });
    staging.unmap();
    staging.destroy();
  }
  querySet?.destroy();
  resolve?.destroy();
  const kernels = [...byName.values()].sort((a, b) => b.gpuMs - a.gpuMs || b.encodeMs - a.encodeMs);
  const total = (f: (k: KernelTime) => number) => kernels.reduce((s, k) => s + f(k), 0);
  return {
    kernels,
    dispatches: after.dispatches - before.dispatches,
    submits: after.submits - before.submits,
    gpuMs: total((k) => k.gpuMs),
    encodeMs: total((k) => k.encodeMs),
    wallMs,
    copies: after.copies - before.copies,
    copyBytes: after.copyBytes - before.copyBytes,
  };
}

/** A plain-text table of the `top` kernels by GPU time, with the totals. */
export function formatProfile(p: Profile, top = 12): string {
  const pct = (x: number) => (p.gpuMs > 0 ? `${((100 * x) / p.gpuMs).toFixed(1)}%` : "—");
  const rows = p.kernels.slice(0, top).map((k) =>
    `  ${k.name.padEnd(22)} ${String(k.dispatches).padStart(6)} ${
      k.gpuMs.toFixed(2).padStart(10)
    } ${pct(k.gpuMs).padStart(6)} ${k.encodeMs.toFixed(2).padStart(9)}`
  );
  return [
    `  ${"kernel".padEnd(22)} ${"disp".padStart(6)} ${"gpu ms".padStart(10)} ${
      "share".padStart(6)
    } ${"encode ms".padStart(9)}`,
    ...rows,
    `  ${"total".padEnd(22)} ${String(p.dispatches).padStart(6)} ${
      p.gpuMs.toFixed(2).padStart(10)
    } ${"".padStart(6)} ${p.encodeMs.toFixed(2).padStart(9)}   (${p.submits} submits, wall ${
      p.wallMs.toFixed(1)
    } ms; ${p.copies} texture copies, ${(p.copyBytes / 1e6).toFixed(1)} MB, untimed)`,
  ].join("\n");
}
