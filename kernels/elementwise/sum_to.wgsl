// Gradient of broadcasting: out[j] = Σ x[i] over the input elements i that broadcast onto j.
// `oshape` is the output shape padded to 4-D, `ishape` the input's; along a reduced
// dimension oshape is 1. Each thread owns one output element and loops over the
// `m` = Π(reduced dims) inputs. Long reductions are split: thread t handles output element
// t % n over the k-range [part·chunk, part·chunk + chunk) with part = t / n, writing partial
// sums [parts, n] that a second launch reduces in order (llvmpipe silently ends any
// invocation's loops after 65,535 iterations in total, so no thread may loop longer).
// bindings: 0 params, 1 x (input), 2 out.  dispatch: ceil(n·parts/256) via runtime.grid().
struct Params {
  n: u32, m: u32, chunk: u32, parts: u32,
  oshape: vec4u,
  ishape: vec4u,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (t >= p.n * p.parts) { return; }
  let j = t % p.n;
  let part = t / p.n;
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
  let k_end = min(p.m, (part + 1u) * p.chunk);
  for (var k = part * p.chunk; k < k_end; k++) {
    var q = k;
    var c = oc;
    c.w += q % red.w; q = q / red.w;
    c.z += q % red.z; q = q / red.z;
    c.y += q % red.y; c.x += q / red.y;
    acc += x[dot(c, istride)];
  }
  out[t] = acc;
}
