/**
 * WGSL shared by several kernels, one file per helper library, prepended to a kernel's own
 * source where it is used (`kernel(name, HEADER + src)`): WGSL has no includes, and
 * module-scope declarations may be used before they appear, so a header may call a function
 * the kernel defines (as {@link ROW_MERGE_WGSL} calls `fold`).
 *
 * - {@link PHILOX_WGSL}: Philox-4x32-10 and uniform floats from its words (rng, sampler).
 * - {@link ROW_LANES_WGSL}: how a row kernel spreads a row over threads (the reduce family).
 * - {@link ROW_MERGE_WGSL}: the lanes' deterministic merge, for row kernels that reduce.
 * - {@link TREE8_WGSL}: an 8-lane workgroup's tree sum done by one thread (RMSNorm on CPUs).
 * @module
 */
import philox from "./philox.wgsl" with { type: "text" };
import rowLanes from "./row_lanes.wgsl" with { type: "text" };
import rowMerge from "./row_merge.wgsl" with { type: "text" };
import tree8 from "./tree8.wgsl" with { type: "text" };

/** `philox4x32_10(counter: vec4u, key: vec2u) -> vec4u`, `philox_u01`, and the counter layout. */
export const PHILOX_WGSL: string = philox;

/** Overrides WG, L, FAN, CONTIG; `struct RowLane`; `rowLane(wid, nwg, lid, cols)`. */
export const ROW_LANES_WGSL: string = rowLanes;

/** `mergeLanes(lid)`, calling the kernel's `fold(dst, src)`; needs {@link ROW_LANES_WGSL}. */
export const ROW_MERGE_WGSL: string = rowMerge;

/** Both row headers, for row kernels that merge lanes. */
export const ROWS_WGSL: string = rowLanes + "\n" + rowMerge;

/** `tree8(s0 … s7) -> f32` and `tree8v2(…) -> vec2f`: an 8-thread tree sum's order. */
export const TREE8_WGSL: string = tree8;
