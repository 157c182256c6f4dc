// select_grad.wgsl four floats at a time, for same-shape operands with n % 4 == 0: the
// backward of minimum / maximum (torch's convention: g/2 each on exact ties, 0 to the input
// that loses, g otherwise).  OP: 4 min, 5 max.  SIDES: 1 write ga, 2 write gb, 3 both.
// bindings: 0 params {n4}, 1 g, 2 a, 3 b, 4 ga, 5 gb (as vec4s).
// dispatch: ceil(n4 / 256) workgroups of 256, folded into (x, y) by runtime.grid().
struct Params { n4: u32 }
override OP: u32 = 4u;
override SIDES: u32 = 3u;
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> ga: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> gb: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n4) { return; }
  let x = a[i];
  let y = b[i];
  let gi = g[i];
  let tie = x == y;
  let aLoses = select((x < y), (x > y), OP == 4u);
  let bLoses = select((x > y), (x < y), OP == 4u);
  let half = 0.5 * gi;
  let zero = vec4f(0.0);
  if ((SIDES & 1u) != 0u) { ga[i] = select(select(gi, zero, aLoses), half, tie); }
  if ((SIDES & 2u) != 0u) { gb[i] = select(select(gi, zero, bLoses), half, tie); }
}
