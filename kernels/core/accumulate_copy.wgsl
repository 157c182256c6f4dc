// acc[i] = prior[i] + x[i] over vec4s, where `prior` holds acc's values before this dispatch:
// accumulate_vec4.wgsl for CPU adapters, where acc's prior values are copied into a texture
// (autograd.ts passes it as a given texture) so that no read of a read_write storage buffer
// (a loop over the SIMD lanes on llvmpipe) is left. The same sum in the same order: bit for
// bit accumulate_vec4's result.
// bindings: 0 params {n4}, 1 x (read), 2 prior (read; always a texture), 3 acc (read_write)
// dispatch: ceil(n4 / 256) workgroups of 256, folded into (x, y) by runtime.grid().
struct Params { n4: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> prior: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> acc: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < p.n4) { acc[i] = prior[i] + x[i]; }
}
