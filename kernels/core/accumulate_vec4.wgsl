// acc[i] += x[i] over vec4s (n4 = elements / 4) — the fast path of accumulate.wgsl.
// bindings: 0 params {n4}, 1 x (read), 2 acc (read_write)
// dispatch: ceil(n4 / 256) workgroups of 256, folded into (x, y) by runtime.grid().
struct Params { n4: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> acc: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < p.n4) { acc[i] += x[i]; }
}
