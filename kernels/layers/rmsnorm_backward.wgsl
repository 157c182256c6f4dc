// RMSNorm backward, the input gradient, one workgroup per row. With inv = 1/sqrt(ms + eps)
// and ms = mean_j x_j²:
//   dx_j = inv · w_j g_j − x_j · inv³ · (Σ_k g_k w_k x_k) / h
// Both row sums (Σ x² for inv, and Σ g w x) come from one strided pass and one tree
// reduction of vec2 partials, in the same order as the forward kernel, so inv is recomputed
// bit-identically instead of being saved (it costs one FMA per element in a pass that reads
// x anyway). inv is written out for the weight-gradient kernel (rmsnorm_dweight.wgsl).
// vec4 memory view and ALIGNED as in rmsnorm.wgsl.
//
// bindings: 0 params {rows, h, eps}, 1 x [rows, h], 2 w [h], 3 g [rows, h] (upstream
//   gradient), 4 dx [rows, h] (out), 5 inv [rows] (out)
// dispatch: `rows` workgroups of WG threads, folded by runtime.grid(). WG as in rmsnorm.wgsl;
// entry `rows` (CPU adapters): one thread per row, ceil(rows / WG) workgroups, bit-identical
// to `main` with WG = 8 (as rmsnorm.wgsl's).

struct Params { rows: u32, h: u32, eps: f32 }

override WG: u32 = 256u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4f>;
@group(0) @binding(3) var<storage, read> g: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> inv_out: array<f32>;

var<workgroup> red: array<vec2f, WG>;

// Elements [e, e + 4) (flat index) of x / w / g, zeros at and past `end`.
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

fn load_g(e: u32, end: u32) -> vec4f {
  if (ALIGNED) { return g[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u && e + c < end; c++) { v[c] = g[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

fn store_dx(e: u32, end: u32, v: vec4f) {
  if (ALIGNED) { dx[e / 4u] = v; return; }
  for (var c = 0u; c < 4u && e + c < end; c++) { dx[(e + c) / 4u][(e + c) % 4u] = v[c]; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let end = base + p.h;
  var ss = 0.0;
  var gwx = 0.0;
  for (var j = 4u * lid; j < p.h; j += 4u * WG) {
    let v = load_x(base + j, end);
    ss += dot(v, v);
    gwx += dot(load_g(base + j, end) * load_w(j), v);
  }
  red[lid] = vec2f(ss, gwx);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let tot = red[0];
  let inv = 1.0 / sqrt(tot.x / f32(p.h) + p.eps);
  let c = inv * inv * inv * tot.y / f32(p.h);
  for (var j = 4u * lid; j < p.h; j += 4u * WG) {
    let v = load_x(base + j, end);
    store_dx(base + j, end, inv * load_w(j) * load_g(base + j, end) - c * v);
  }
  if (lid == 0u) { inv_out[row] = inv; }
}


@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let end = base + p.h;
  var s0 = vec2f(0.0); var s1 = vec2f(0.0); var s2 = vec2f(0.0); var s3 = vec2f(0.0);
  var s4 = vec2f(0.0); var s5 = vec2f(0.0); var s6 = vec2f(0.0); var s7 = vec2f(0.0);
  for (var j = 0u; j < p.h; j += 32u) {
    if (j + 0u < p.h) {
      let v = load_x(base + j + 0u, end);
      s0 += vec2f(dot(v, v), dot(load_g(base + j + 0u, end) * load_w(j + 0u), v));
    }
    if (j + 4u < p.h) {
      let v = load_x(base + j + 4u, end);
      s1 += vec2f(dot(v, v), dot(load_g(base + j + 4u, end) * load_w(j + 4u), v));
    }
    if (j + 8u < p.h) {
      let v = load_x(base + j + 8u, end);
      s2 += vec2f(dot(v, v), dot(load_g(base + j + 8u, end) * load_w(j + 8u), v));
    }
    if (j + 12u < p.h) {
      let v = load_x(base + j + 12u, end);
      s3 += vec2f(dot(v, v), dot(load_g(base + j + 12u, end) * load_w(j + 12u), v));
    }
    if (j + 16u < p.h) {
      let v = load_x(base + j + 16u, end);
      s4 += vec2f(dot(v, v), dot(load_g(base + j + 16u, end) * load_w(j + 16u), v));
    }
    if (j + 20u < p.h) {
      let v = load_x(base + j + 20u, end);
      s5 += vec2f(dot(v, v), dot(load_g(base + j + 20u, end) * load_w(j + 20u), v));
    }
    if (j + 24u < p.h) {
      let v = load_x(base + j + 24u, end);
      s6 += vec2f(dot(v, v), dot(load_g(base + j + 24u, end) * load_w(j + 24u), v));
    }
    if (j + 28u < p.h) {
      let v = load_x(base + j + 28u, end);
      s7 += vec2f(dot(v, v), dot(load_g(base + j + 28u, end) * load_w(j + 28u), v));
    }
  }
  let tot = tree8v2(s0, s1, s2, s3, s4, s5, s6, s7);
  let inv = 1.0 / sqrt(tot.x / f32(p.h) + p.eps);
  let c = inv * inv * inv * tot.y / f32(p.h);
  for (var j = 0u; j < p.h; j += 4u) {
    let v = load_x(base + j, end);
    store_dx(base + j, end, inv * load_w(j) * load_g(base + j, end) - c * v);
  }
  inv_out[row] = inv;
}
