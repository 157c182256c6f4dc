/**
 * The TypeScript side of the row kernels (reduce, softmax, logprobs and their backwards):
 * how a row is spread over threads on this adapter ({@link rowLanes}, the overrides of
 * kernels/wgsl/row_lanes.wgsl) and how rows are cut into windows under the storage-binding
 * cap ({@link rowWindows}).
 * @module
 */
import { gpu } from "../core/device.ts";

/** Most elements one lane of a row kernel loops over on a CPU adapter (see rowLanes). */
export const MAX_LANE_ELEMENTS = 8192;

let forcedLayout: "thread" | "group" | undefined;

/**
 * Choose how row kernels spread a row over threads (tests use it to cover both layouts on
 * one adapter); `undefined` restores the default, "thread" on CPU adapters, else "group".
 */
export function setRowLayout(layout?: "thread" | "group"): void {
  forcedLayout = layout;
}

/**
 * Workgroup size WG, lanes per row L, fold fan-in FAN and lane layout CONTIG for a row
 * kernel over rows of `cols` elements.
 *
 * CPU adapters ("thread"): each lane loops over a contiguous segment of ≤ MAX_LANE_ELEMENTS,
 * usually the whole row (L = 1, no barrier). On llvmpipe that measured 3–8× faster than a
 * workgroup per row for 256…100,000-wide rows, and the segment cap keeps every invocation
 * under Mesa 22.3's silent limit of 65,535 loop iterations. GPUs ("group"): a workgroup, or
 * a power-of-two slice of one for short rows, per row with coalesced strided loads.
 */
export function rowLanes(cols: number): { WG: number; L: number; FAN: number; CONTIG: number } {
  const layout = forcedLayout ?? (gpu().isCpu ? "thread" : "group");
  let L = 1;
  if (layout === "thread") {
    while (L * MAX_LANE_ELEMENTS < cols && L < 256) L *= 2;
    if (Math.ceil(cols / L) > 2 * MAX_LANE_ELEMENTS) {
      // Past this a lane would near the 65,535-iteration limit; only rows of > 4M hit it.
      throw new Error(`rows of ${cols} elements are too long for a row kernel on a CPU adapter`);
    }
    return { WG: Math.max(64, L), L, FAN: 16, CONTIG: 1 };
  }
  while (L < cols && L < 256) L *= 2;
  return { WG: 256, L, FAN: 16, CONTIG: 0 };
}

/** Largest number of f32 elements one storage binding may cover (128 MiB on llvmpipe). */
export function maxBindingElements(): number {
  return Math.floor(gpu().maxBindingBytes / 4);
}

/**
 * A window of whole rows of a row-major `[rows, cols]` tensor that fits one storage binding:
 * bind `t.binding(start, count)` (start is 256-byte aligned) and find row `row0 + r` at
 * element `base + r·cols` inside it.
 */
export interface RowWindow {
  row0: number;
  rows: number;
  start: number;
  count: number;
  base: number;
}

/**
 * Split `rows` rows of `cols` elements into windows of whole rows, each binding at most the
 * device's binding cap from an aligned offset. One window when the tensor fits.
 */
export function rowWindows(rows: number, cols: number): RowWindow[] {
  const cap = maxBindingElements();
  const align = gpu().offsetAlignment / 4;
  if (rows * cols <= cap) {
    return [{ row0: 0, rows, start: 0, count: rows * cols, base: 0 }];
  }
  const per = Math.floor((cap - align) / cols);
  if (per < 1) {
    throw new Error(`a row of ${cols} f32 elements exceeds the ${cap * 4}-byte binding cap`);
  }
  const windows: RowWindow[] = [];
  for (let row0 = 0; row0 < rows; row0 += per) {
    const n = Math.min(per, rows - row0);
    const start = Math.floor((row0 * cols) / align) * align;
    const base = row0 * cols - start;
    windows.push({ row0, rows: n, start, count: base + n * cols, base });
  }
  return windows;
}
