// RMSNorm backward, the weight gradient: dw[j] = Σ_r g[r, j] · x[r, j] · inv[r].
// Deterministic column sums without atomics: each thread owns a group of 4 columns and walks
// a chunk of `chunk` rows in increasing order; chunk c writes partial[c, ·]. With one chunk
// that is dw itself; otherwise the launcher sums the partials over chunks with sum_to (a
// fixed order again). Chunks exist for parallelism on a GPU (h / 4WG column tiles alone are
// few). Neighbouring threads read neighbouring columns, so loads stay contiguous.
// vec4 memory view and ALIGNED as in rmsnorm.wgsl.
//
// bindings: 0 params {rows, h, chunk, tiles}, 1 x [rows, h], 2 g [rows, h], 3 inv [rows],
//   4 partial [ceil(rows / chunk), h] (out)
// dispatch: tiles · ceil(rows / chunk) workgroups of WG threads (tiles = ceil(h / (4 WG))),
//   folded by runtime.grid(); workgroup f handles column tile f % tiles, chunk f / tiles.

struct Params { rows: u32, h: u32, chunk: u32, tiles: u32 }

override WG: u32 = 64u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> g: array<vec4f>;
@group(0) @binding(3) var<storage, read> inv: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<vec4f>;

// Elements [e, e + 4) (flat index) of x / g, zeros at and past `end`.
fn load_x(e: u32, end: u32) -> vec4f {
  if (ALIGNED) { return x[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u && e + c < end; c++) { v[c] = x[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

fn load_g(e: u32, end: u32) -> vec4f {
  if (ALIGNED) { return g[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u && e + c < end; c++) { v[c] = g[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let f = wid.x + wid.y * nwg.x;
  let c = f / p.tiles;
  let j = 4u * ((f % p.tiles) * WG + lid);
  let r0 = c * p.chunk;
  if (j >= p.h || r0 >= p.rows) { return; }
  let r1 = min(r0 + p.chunk, p.rows);
  var acc = vec4f(0.0);
  for (var r = r0; r < r1; r++) {
    let e = r * p.h + j;
    let end = r * p.h + p.h;
    acc += load_g(e, end) * load_x(e, end) * inv[r];
  }
  let o = c * p.h + j;
  if (ALIGNED) {
    partial[o / 4u] = acc;
  } else {
    for (var k = 0u; k < 4u && j + k < p.h; k++) { partial[(o + k) / 4u][(o + k) % 4u] = acc[k]; }
  }
}
