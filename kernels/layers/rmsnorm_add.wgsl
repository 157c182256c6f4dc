// Residual add fused with the RMSNorm that follows it in every Llama/Qwen2 block:
//   s = x + d,   y = s · inv · w,   inv = 1 / sqrt(mean_j s_j² + eps)
// Writes both s (the new residual stream) and y (the normalised input of the next
// sub-layer), saving the separate add's dispatch and its extra pass over memory. The
// reduction is the one in rmsnorm.wgsl (same order), so y equals rmsNorm(x + d) bit for bit.
// vec4 memory view and ALIGNED as in rmsnorm.wgsl.
//
// bindings: 0 params {rows, h, eps}, 1 x [rows, h], 2 d [rows, h], 3 w [h], 4 s [rows, h]
//   (out), 5 y [rows, h] (out)
// dispatch: `rows` workgroups of WG threads, folded by runtime.grid(); entry `rows` (CPU
// adapters, as in rmsnorm.wgsl): one thread per row, ceil(rows / WG) workgroups, bit-identical
// to `main` with WG = 8.

struct Params { rows: u32, h: u32, eps: f32 }

override WG: u32 = 256u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> d: array<vec4f>;
@group(0) @binding(3) var<storage, read> w: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> s: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4f>;

var<workgroup> red: array<f32, WG>;

// Elements [e, e + 4) (flat index), zeros at and past `end`. which: 0 x, 1 d, 2 w, 3 s.
fn load(which: u32, e: u32, end: u32) -> vec4f {
  if (ALIGNED) {
    switch which {
      case 0u: { return x[e / 4u]; }
      case 1u: { return d[e / 4u]; }
      case 2u: { return w[e / 4u]; }
      default: { return s[e / 4u]; }
    }
  }
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u && e + c < end; c++) {
    let i = e + c;
    switch which {
      case 0u: { v[c] = x[i / 4u][i % 4u]; }
      case 1u: { v[c] = d[i / 4u][i % 4u]; }
      case 2u: { v[c] = w[i / 4u][i % 4u]; }
      default: { v[c] = s[i / 4u][i % 4u]; }
    }
  }
  return v;
}

fn store(which: u32, e: u32, end: u32, v: vec4f) {
  if (ALIGNED) {
    if (which == 0u) { s[e / 4u] = v; } else { y[e / 4u] = v; }
    return;
  }
  for (var c = 0u; c < 4u && e + c < end; c++) {
    let i = e + c;
    if (which == 0u) { s[i / 4u][i % 4u] = v[c]; } else { y[i / 4u][i % 4u] = v[c]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let end = base + p.h;
  var ss = 0.0;
  for (var j = 4u * lid; j < p.h; j += 4u * WG) {
    let v = load(0u, base + j, end) + load(1u, base + j, end);
    store(0u, base + j, end, v);
    ss += dot(v, v);
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { red[lid] += red[lid + k]; }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(red[0] / f32(p.h) + p.eps);
  // Each thread re-reads only the s elements it wrote itself: no barrier needed.
  for (var j = 4u * lid; j < p.h; j += 4u * WG) {
    store(1u, base + j, end, load(3u, base + j, end) * inv * load(2u, j, p.h));
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
    if (j + 0u < p.h) {
      let v = load(0u, base + j + 0u, end) + load(1u, base + j + 0u, end);
      store(0u, base + j + 0u, end, v);
      s0 += dot(v, v);
    }
    if (j + 4u < p.h) {
      let v = load(0u, base + j + 4u, end) + load(1u, base + j + 4u, end);
      store(0u, base + j + 4u, end, v);
      s1 += dot(v, v);
    }
    if (j + 8u < p.h) {
      let v = load(0u, base + j + 8u, end) + load(1u, base + j + 8u, end);
      store(0u, base + j + 8u, end, v);
      s2 += dot(v, v);
    }
    if (j + 12u < p.h) {
      let v = load(0u, base + j + 12u, end) + load(1u, base + j + 12u, end);
      store(0u, base + j + 12u, end, v);
      s3 += dot(v, v);
    }
    if (j + 16u < p.h) {
      let v = load(0u, base + j + 16u, end) + load(1u, base + j + 16u, end);
      store(0u, base + j + 16u, end, v);
      s4 += dot(v, v);
    }
    if (j + 20u < p.h) {
      let v = load(0u, base + j + 20u, end) + load(1u, base + j + 20u, end);
      store(0u, base + j + 20u, end, v);
      s5 += dot(v, v);
    }
    if (j + 24u < p.h) {
      let v = load(0u, base + j + 24u, end) + load(1u, base + j + 24u, end);
      store(0u, base + j + 24u, end, v);
      s6 += dot(v, v);
    }
    if (j + 28u < p.h) {
      let v = load(0u, base + j + 28u, end) + load(1u, base + j + 28u, end);
      store(0u, base + j + 28u, end, v);
      s7 += dot(v, v);
    }
  }
  let inv = 1.0 / sqrt(tree8(s0, s1, s2, s3, s4, s5, s6, s7) / f32(p.h) + p.eps);
  // x + d again rather than s read back: on a CPU adapter x and d are textures (cheap
  // loads) and s a storage buffer (a loop over the lanes per load); the same sum, same bits.
  for (var j = 0u; j < p.h; j += 4u) {
    let v = load(0u, base + j, end) + load(1u, base + j, end);
    store(1u, base + j, end, v * inv * load(2u, j, p.h));
  }
}
