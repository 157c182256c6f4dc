// Deterministic row reductions: for each row r of a [rows, cols] window,
//   num = Σ_j x·m, den = Σ_j m        (MASKED = 0: m ≡ 1, so den counts; bind x as `mask`)
//   out[first + r] = num · scale / (MEAN ? den : 1)   (0 where MEAN and den = 0)
//   den[first + r] = den
// FINISH = 1 folds earlier partials instead: num = Σ x, den = Σ mask (x and mask hold the
// per-chunk nums and dens of a full reduction, which is a [chunks, chunk] row reduction
// followed by a FINISH pass over one row of `chunks` partials).
// No atomics: each sum runs in an order fixed by the shape and the overrides, so the same
// inputs give bit-identical results run to run.
//
// Lanes: L threads share a row (WG / L rows per workgroup), then fold their partials in
// shared memory. GPUs: lane l takes elements l, l + L, … (coalesced), L up to WG.
// CPU adapters (CONTIG): lane l takes one contiguous segment of the row, and L is just large
// enough to keep every lane under ~8k elements — usually L = 1, a plain loop per thread with
// no barrier, which llvmpipe runs fastest (it executes lanes 8 at a time, and a barrier
// switches through all of them). The cap matters: Mesa 22.3's llvmpipe silently ends any
// invocation's loops after 65,535 iterations in total.
//
// bindings: 0 p, 1 x [window], 2 mask [window], 3 out (read_write), 4 den (read_write).
// dispatch: ceil(rows · L / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB
//           window of whole rows (row 0 starts `base` elements into the bound window).

struct Params {
  rows: u32,   // rows in this dispatch
  cols: u32,
  first: u32,  // output index of this dispatch's row 0
  base: u32,   // element offset of row 0 inside the bound window (< 64)
  scale: f32,
}

override WG: u32 = 64u;      // threads per workgroup, a power of two
override L: u32 = 1u;        // lanes per row, a power of two ≤ WG
override FAN: u32 = 16u;     // fan-in of each level of the lanes' fold, a power of two ≥ 2
override MASKED: bool = true;
override MEAN: bool = false;
override FINISH: bool = false;
override CONTIG: bool = false; // lanes take contiguous segments (CPU) instead of strides
const BLOCK: u32 = 256u;     // terms per lane summed apart before joining the lane's total

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> den: array<f32>;

var<workgroup> sn: array<f32, WG>;
var<workgroup> sd: array<f32, WG>;

// Fold the L partials of each row (lanes lid0 … lid0+L−1) into sn[lid0], sd[lid0]: each
// level, lane t < s adds lanes t + s, t + 2s, … of the `width` live ones (s = width / FAN),
// one barrier per level. Called by every thread of the workgroup (uniform control flow).
fn fold(lid: u32, num: f32, d: f32) {
  sn[lid] = num;
  sd[lid] = d;
  workgroupBarrier();
  let lane = lid % L;
  var width = L;
  while (width > 1u) {
    let s = max(width / FAN, 1u);
    if (lane < s) {
      var a = sn[lid];
      var b = sd[lid];
      for (var k = lid + s; k < lid - lane + width; k += s) {
        a += sn[k];
        b += sd[k];
      }
      sn[lid] = a;
      sd[lid] = b;
    }
    workgroupBarrier();
    width = s;
  }
}

// (Σ x·m, Σ m) over elements j0, j0 + step, … < end of the row at `off`. Blocks of BLOCK
// terms are summed apart and then added up: a lane may sum thousands of terms, and
// two-level summation keeps fp32 error near (BLOCK + terms/BLOCK)·eps, not terms·eps.
fn span(off: u32, j0: u32, end: u32, step: u32) -> vec2f {
  var num = 0.0;
  var d = 0.0;
  var j = j0;
  while (j < end) {
    let stop = min(j + BLOCK * step, end);
    var bn = 0.0;
    var bd = 0.0;
    for (; j < stop; j += step) {
      let v = x[off + j];
      if (FINISH) {
        bn += v;
        bd += mask[off + j];
      } else if (MASKED) {
        let m = mask[off + j];
        bn += v * m;
        bd += m;
      } else {
        bn += v;
        bd += 1.0;
      }
    }
    num += bn;
    d += bd;
  }
  return vec2f(num, d);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * (WG / L) + lid / L;
  let lane = lid % L;
  let valid = r < p.rows;
  var num = 0.0;
  var d = 0.0;
  if (valid) {
    let off = p.base + r * p.cols;
    var t: vec2f;
    if (CONTIG) {
      let seg = (p.cols + L - 1u) / L;
      t = span(off, lane * seg, min(lane * seg + seg, p.cols), 1u);
    } else {
      t = span(off, lane, p.cols, L);
    }
    num = t.x;
    d = t.y;
  }
  if (L > 1u) {
    fold(lid, num, d);
    num = sn[lid];
    d = sd[lid];
  }
  if (valid && lane == 0u) {
    var o = num * p.scale;
    if (MEAN) { o = select(o / d, 0.0, d == 0.0); }
    out[p.first + r] = o;
    den[p.first + r] = d;
  }
}
