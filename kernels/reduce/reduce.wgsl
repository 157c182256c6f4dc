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
// Lanes: L threads share a row (kernels/wgsl/row_lanes.wgsl, prepended with
// row_merge.wgsl), then fold their partials in shared memory.
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

override MASKED: bool = true;
override MEAN: bool = false;
override FINISH: bool = false;
const BLOCK: u32 = 256u;     // terms per lane summed apart before joining the lane's total

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> den: array<f32>;

var<workgroup> sn: array<f32, WG>;
var<workgroup> sd: array<f32, WG>;

// row_merge.wgsl's fold: lane slot src's partial sums into slot dst's.
fn fold(dst: u32, src: u32) {
  sn[dst] += sn[src];
  sd[dst] += sd[src];
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
  let rl = rowLane(wid, nwg, lid, p.cols);
  let valid = rl.row < p.rows;
  var num = 0.0;
  var d = 0.0;
  if (valid) {
    let t = span(p.base + rl.row * p.cols, rl.j0, rl.end, rl.step);
    num = t.x;
    d = t.y;
  }
  if (L > 1u) {
    sn[lid] = num;
    sd[lid] = d;
    mergeLanes(lid);
    num = sn[lid];
    d = sd[lid];
  }
  if (valid && rl.lane == 0u) {
    var o = num * p.scale;
    if (MEAN) { o = select(o / d, 0.0, d == 0.0); }
    out[p.first + rl.row] = o;
    den[p.first + rl.row] = d;
  }
}
