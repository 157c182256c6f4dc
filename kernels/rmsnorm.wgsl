// RMSNorm forward (Hugging Face LlamaRMSNorm, all in f32):
//   y[r, j] = x[r, j] * inv[r] * w[j],   inv[r] = 1 / sqrt(mean_j x[r, j]² + eps)
// One workgroup per row. Each thread sums x² over a strided slice of the row (columns
// lid, lid + WG, …, so neighbouring threads read neighbouring floats), then a tree reduction
// in workgroup memory combines the WG partial sums in a fixed order: the result does not
// depend on scheduling, so it is bit-identical run to run.
//
// bindings: 0 params {rows, h, eps}, 1 x [rows, h] (read), 2 w [h] (read), 3 y [rows, h]
// dispatch: `rows` workgroups of WG threads, folded into (x, y) by runtime.grid().
// WG (override, a power of two): 8 on a CPU adapter, where one workgroup runs as a single
// 8-lane SIMD loop and every extra lane group only adds barrier work; 256 on a GPU.

struct Params { rows: u32, h: u32, eps: f32 }

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // uniform per workgroup, so the barriers below stay uniform
  let base = row * p.h;
  var ss = 0.0;
  for (var j = lid; j < p.h; j += WG) {
    let v = x[base + j];
    ss += v * v;
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  // 1/sqrt rather than inverseSqrt: WGSL allows inverseSqrt 2 ulp, sqrt and division are
  // tighter, and this is once per row.
  let inv = 1.0 / sqrt(red[0] / f32(p.h) + p.eps);
  for (var j = lid; j < p.h; j += WG) {
    y[base + j] = x[base + j] * inv * w[j];
  }
}
