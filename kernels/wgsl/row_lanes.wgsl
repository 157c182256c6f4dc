// Shared header of the row kernels (kernels/reduce/: reduce, softmax, logprobs and their
// backwards), prepended to their source by the launcher (kernels/wgsl/headers.ts): how a
// row of `cols` elements is spread over threads. The launcher picks the overrides
// (kernels/reduce/rows.ts: rowLanes).
//
// L threads ("lanes") share a row, WG / L rows per workgroup. GPUs: lane l takes elements
// l, l + L, … (coalesced), L up to WG. CPU adapters (CONTIG): lane l takes one contiguous
// segment, L just large enough to keep each lane under ~8k elements — usually L = 1, a plain
// loop per thread with no barrier, which llvmpipe runs fastest (it executes lanes 8 at a
// time, and a barrier switches through all of them). The cap matters: Mesa 22.3's llvmpipe
// silently ends any invocation's loops after 65,535 iterations in total.

override WG: u32 = 64u;        // threads per workgroup, a power of two
override L: u32 = 1u;          // lanes per row, a power of two ≤ WG
override FAN: u32 = 16u;       // fan-in of each level of the lanes' merge, a power of two ≥ 2
override CONTIG: bool = true;  // lanes take contiguous segments (CPU) instead of strides

// One thread's share of a row: elements j0, j0 + step, … < end of row `row`.
struct RowLane {
  row: u32,  // row within the dispatch (≥ the dispatch's rows: an idle thread)
  lane: u32, // 0 … L − 1
  j0: u32,
  end: u32,
  step: u32,
}

// The share of the thread `lid` of workgroup `wid` (of `nwg`, a runtime.grid() grid).
fn rowLane(wid: vec3u, nwg: vec3u, lid: u32, cols: u32) -> RowLane {
  let lane = lid % L;
  let row = (wid.x + wid.y * nwg.x) * (WG / L) + lid / L;
  if (CONTIG) {
    let seg = (cols + L - 1u) / L;
    let j0 = lane * seg;
    return RowLane(row, lane, j0, min(j0 + seg, cols), 1u);
  }
  return RowLane(row, lane, lane, cols, L);
}
