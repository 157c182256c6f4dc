// Backward of minimum / maximum (binary.wgsl OP 4 / 5) in one pass: routes the upstream
// gradient g to the selected input, following torch.minimum / torch.maximum
// (tools/autograd/derivatives.yaml):
//   ga = g/2 where a == b, 0 where a loses (min: a > b, max: a < b), g otherwise
//   gb = g/2 where a == b, 0 where b loses (min: a < b, max: a > b), g otherwise
// (so a NaN operand passes g to both, as PyTorch does). ga and gb have the output's shape;
// the launcher reduces them to broadcast inputs with sum_to.
//   OP (override): 4 min, 5 max.  SIDES (override): 1 write ga, 2 write gb, 3 both (the
//   unwritten output is bound to a small scratch buffer).  SAME (override): a, b and g share
//   one element count, so index i is used directly.
// bindings: 0 params (as binary.wgsl: n, shape, sa, sb), 1 g, 2 a, 3 b, 4 ga, 5 gb.
// dispatch: ceil(n/256) folded by runtime.grid().  (select_grad_vec4.wgsl: same-shape n % 4 == 0.)
struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  shape: vec4u,   // output shape (4-D)
  sa: vec4u,      // a strides (0 = broadcast)
  sb: vec4u,      // b strides
}

override OP: u32 = 4u;
override SIDES: u32 = 3u;
override SAME: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> ga: array<f32>;
@group(0) @binding(5) var<storage, read_write> gb: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n) { return; }
  var ia = i;
  var ib = i;
  if (!SAME) {
    let s = p.shape;
    let c3 = i % s.w;
    let r2 = i / s.w;
    let c2 = r2 % s.z;
    let r1 = r2 / s.z;
    let c1 = r1 % s.y;
    let c0 = r1 / s.y;
    let c = vec4u(c0, c1, c2, c3);
    ia = dot(c, p.sa);
    ib = dot(c, p.sb);
  }
  let x = a[ia];
  let y = b[ib];
  let gi = g[i];
  let tie = x == y;
  let aLoses = select((x < y), (x > y), OP == 4u);
  let bLoses = select((x > y), (x < y), OP == 4u);
  let half = 0.5 * gi;
  if ((SIDES & 1u) != 0u) { ga[i] = select(select(gi, 0.0, aLoses), half, tie); }
  if ((SIDES & 2u) != 0u) { gb[i] = select(select(gi, 0.0, bLoses), half, tie); }
}
