// out[i] = alpha * x[i] + beta.
// bindings: 0 params {n, alpha, beta}, 1 x, 2 out.  dispatch: ceil(n/256) via runtime.grid().
struct Params { n: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < p.n) { out[i] = p.alpha * x[i] + p.beta; }
}
