// Backward of softmax over rows: dx = y ⊙ (dy − Σ_j dy_j·y_j), from the saved output y.
// Pass 1 sums dy·y per lane (in blocks, for fp32 accuracy), the L lanes of a row fold their
// sums in a fixed order, pass 2 writes dx. Lanes: kernels/wgsl/row_lanes.wgsl, prepended with
// row_merge.wgsl.
// bindings: 0 p, 1 y [window], 2 dy [window], 3 dx [window] (rw).
// dispatch: ceil(rows · L / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB
//           window of whole rows (row 0 starts `base` elements into the bound windows).

struct Params {
  rows: u32,
  cols: u32,
  base: u32,
}

const BLOCK: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> sd: array<f32, WG>;

fn dot_span(off: u32, j0: u32, end: u32, step: u32) -> f32 {
  var total = 0.0;
  var j = j0;
  while (j < end) {
    let stop = min(j + BLOCK * step, end);
    var b = 0.0;
    for (; j < stop; j += step) { b += y[off + j] * dy[off + j]; }
    total += b;
  }
  return total;
}

// row_merge.wgsl's fold: lane slot src's sum into slot dst's.
fn fold(dst: u32, src: u32) {
  sd[dst] += sd[src];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rl = rowLane(wid, nwg, lid, p.cols);
  let valid = rl.row < p.rows;
  let off = p.base + rl.row * p.cols;
  var d = 0.0;
  if (valid) { d = dot_span(off, rl.j0, rl.end, rl.step); }
  if (L > 1u) {
    sd[lid] = d;
    mergeLanes(lid);
    d = sd[lid - rl.lane];
  }
  if (!valid) { return; }
  for (var j = rl.j0; j < rl.end; j += rl.step) { dx[off + j] = y[off + j] * (dy[off + j] - d); }
}
