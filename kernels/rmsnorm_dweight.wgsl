// RMSNorm backward, the weight gradient: dw[j] = Σ_r g[r, j] · x[r, j] · inv[r].
// Deterministic column sums without atomics: each thread owns one column and walks a chunk
// of `chunk` rows in increasing order; chunk c writes partial[c, j]. With one chunk that is
// dw itself; otherwise the launcher sums the partials over chunks with sum_to (a fixed
// order again). Chunks exist for parallelism on a GPU (h / WG column tiles alone are few).
// Neighbouring threads read neighbouring columns of a row, so loads stay contiguous.
//
// bindings: 0 params {rows, h, chunk, tiles}, 1 x [rows, h], 2 g [rows, h], 3 inv [rows],
//   4 partial [ceil(rows / chunk), h] (out)
// dispatch: tiles · ceil(rows / chunk) workgroups of WG threads (tiles = ceil(h / WG)),
//   folded by runtime.grid(); workgroup f handles column tile f % tiles, chunk f / tiles.

struct Params { rows: u32, h: u32, chunk: u32, tiles: u32 }

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> inv: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let f = wid.x + wid.y * nwg.x;
  let c = f / p.tiles;
  let j = (f % p.tiles) * WG + lid;
  let r0 = c * p.chunk;
  if (j >= p.h || r0 >= p.rows) { return; }
  let r1 = min(r0 + p.chunk, p.rows);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) {
    acc += g[r * p.h + j] * x[r * p.h + j] * inv[r];
  }
  partial[c * p.h + j] = acc;
}
