// Gradient of broadcasting: out[j] = Σ x[i] over the input elements i that broadcast onto j.
// `oshape` is the output shape padded to 4-D, `ishape` the input's; along a reduced
// dimension oshape is 1. Each thread owns one output element and loops over the
// `m` = Π(reduced dims) inputs, so it suits bias-style reductions of moderate size.
// bindings: 0 params, 1 x (input), 2 out.  dispatch: ceil(n_out/256) via runtime.grid().
struct Params {
  n: u32, m: u32, _p0: u32, _p1: u32,
  oshape: vec4u,
  ishape: vec4u,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let j = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (j >= p.n) { return; }
  let os = p.oshape;
  let is = p.ishape;
  // output coordinates
  var oc = vec4u(0u);
  var r = j;
  oc.w = r % os.w; r = r / os.w;
  oc.z = r % os.z; r = r / os.z;
  oc.y = r % os.y; oc.x = r / os.y;
  // reduced extents: the input extent where the output has 1 and the input more
  let red = select(vec4u(1u), is, os != is);
  let istride = vec4u(is.y * is.z * is.w, is.z * is.w, is.w, 1u);
  var acc = 0.0;
  for (var k = 0u; k < p.m; k++) {
    var q = k;
    var c = oc;
    c.w += q % red.w; q = q / red.w;
    c.z += q % red.z; q = q / red.z;
    c.y += q % red.y; c.x += q / red.y;
    acc += x[dot(c, istride)];
  }
  out[j] = acc;
}
