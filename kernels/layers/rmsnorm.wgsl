// RMSNorm forward (Hugging Face LlamaRMSNorm, all in f32):
//   y[r, j] = x[r, j] · inv[r] · w[j],   inv[r] = 1 / sqrt(mean_j x[r, j]² + eps)
// One workgroup per row. Each thread sums x² over a strided slice of the row (4-float groups
// lid, lid + WG, …, so neighbouring threads read neighbouring memory), then a tree reduction
// in workgroup memory combines the WG partial sums in a fixed order: the result does not
// depend on scheduling, so it is bit-identical run to run.
//
// Memory is viewed as vec4: on llvmpipe every storage access is a per-lane gather, so one
// 16-byte access instead of four 4-byte ones makes memory-bound kernels ~2.5× faster. When
// h % 4 != 0 rows are not 16-byte aligned and ALIGNED = false switches to per-component
// loads/stores (correct for odd test shapes; real models have h % 64 == 0).
//
// bindings: 0 params {rows, h, eps}, 1 x [rows, h] (read), 2 w [h] (read), 3 y [rows, h];
//   buffers bound with sizes rounded up to 16 bytes.
// dispatch: `rows` workgroups of WG threads, folded into (x, y) by runtime.grid().
// WG (override, a power of two): 256 on a GPU.
// Entry `rows` (CPU adapters): one thread per row, WG rows per workgroup, no barrier — a
// workgroup runs as one 8-lane SIMD loop on llvmpipe, so a workgroup per row of 96 floats
// left most lanes idle behind barriers. A thread keeps the 8 partial sums an 8-thread
// workgroup's lanes would (lane l: groups l, l + 8, …) and folds them in its tree's order, so
// the result is bit-identical to `main` with WG = 8 (rmsnorm_add.wgsl's and
// rmsnorm_backward.wgsl's `rows` entries do the same).
// dispatch (rows): ceil(rows / WG) workgroups, folded by runtime.grid().

struct Params { rows: u32, h: u32, eps: f32 }

override WG: u32 = 256u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4f>;

var<workgroup> red: array<f32, WG>;

// Elements [e, e + 4) of x (flat index), zeros at and past `end`.
fn load_x(e: u32, end: u32) -> vec4f {
  if (ALIGNED) { return x[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u && e + c < end; c++) { v[c] = x[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

fn load_w(e: u32) -> vec4f {
  if (ALIGNED) { return w[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u && e + c < p.h; c++) { v[c] = w[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

fn store_y(e: u32, end: u32, v: vec4f) {
  if (ALIGNED) { y[e / 4u] = v; return; }
  for (var c = 0u; c < 4u && e + c < end; c++) { y[(e + c) / 4u][(e + c) % 4u] = v[c]; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // uniform per workgroup, so the barriers below stay uniform
  let base = row * p.h;
  let end = base + p.h;
  var ss = 0.0;
  for (var j = 4u * lid; j < p.h; j += 4u * WG) {
    let v = load_x(base + j, end);
    ss += dot(v, v);
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
  for (var j = 4u * lid; j < p.h; j += 4u * WG) {
    store_y(base + j, end, load_x(base + j, end) * inv * load_w(j));
  }
}


@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let end = base + p.h;
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  var s4 = 0.0; var s5 = 0.0; var s6 = 0.0; var s7 = 0.0;
  for (var j = 0u; j < p.h; j += 32u) {
    if (j + 0u < p.h) { let v = load_x(base + j + 0u, end); s0 += dot(v, v); }
    if (j + 4u < p.h) { let v = load_x(base + j + 4u, end); s1 += dot(v, v); }
    if (j + 8u < p.h) { let v = load_x(base + j + 8u, end); s2 += dot(v, v); }
    if (j + 12u < p.h) { let v = load_x(base + j + 12u, end); s3 += dot(v, v); }
    if (j + 16u < p.h) { let v = load_x(base + j + 16u, end); s4 += dot(v, v); }
    if (j + 20u < p.h) { let v = load_x(base + j + 20u, end); s5 += dot(v, v); }
    if (j + 24u < p.h) { let v = load_x(base + j + 24u, end); s6 += dot(v, v); }
    if (j + 28u < p.h) { let v = load_x(base + j + 28u, end); s7 += dot(v, v); }
  }
  let inv = 1.0 / sqrt(tree8(s0, s1, s2, s3, s4, s5, s6, s7) / f32(p.h) + p.eps);
  for (var j = 0u; j < p.h; j += 4u) {
    store_y(base + j, end, load_x(base + j, end) * inv * load_w(j));
  }
}
