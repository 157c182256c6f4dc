// Drop the padding columns of a matmul computed with N rounded up to a multiple of 4:
//   c[r, j] = cp[r, j] for r < rows, j < n, where cp rows are n4 floats apart.
// bindings: 0 p, 1 cp (read, [rows, n4]), 2 c (read_write, [rows, n]).
// dispatch: ceil(rows · n / 64) workgroups via runtime.grid(); one invocation per element.

struct Params { rows: u32, n: u32, n4: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cp: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= p.rows * p.n) { return; }
  let r = i / p.n;
  c[i] = cp[r * p.n4 + (i - r * p.n)];
}
