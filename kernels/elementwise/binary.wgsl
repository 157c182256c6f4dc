// Binary elementwise ops over row-major tensors of rank ≤ 4 (shapes padded on the left with 1).
//
// out[i] = a[ia] OP b[ib], with numpy broadcasting: `sa`/`sb` are the element strides of a and
// b over the 4-D output index (0 along a broadcast dimension).
//   OP (override): 0 add, 1 sub, 2 mul, 3 div, 4 min, 5 max, and two gradient helpers:
//   6 alpha·a·b (square's backward: g·2x), 7 clamp mask: a where alpha ≤ b ≤ beta, else 0
//   (clamp's backward: g where lo ≤ x ≤ hi, PyTorch's inclusive convention).
//   min/max spell out PyTorch's NaN propagation (WGSL's min/max leave NaN unspecified).
//   SAME (override): a, b and out have one element count, so index i is used directly.
// bindings: 0 params, 1 a, 2 b, 3 out.  dispatch: ceil(n/256) folded by runtime.grid().
// (The vec4 twin, binary_vec4.wgsl, takes the same-shape, n % 4 == 0 case.)

struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  shape: vec4u,   // output shape (4-D)
  sa: vec4u,      // a strides (0 = broadcast)
  sb: vec4u,      // b strides
  alpha: f32, beta: f32,
}

override OP: u32 = 0u;
override SAME: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn flat(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 256u + lid;
}

@compute @workgroup_size(256)
fn binary(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, nwg, lid);
  if (i >= p.n) { return; }
  if (SAME) {
    out[i] = apply(a[i], b[i]);
    return;
  }
  let s = p.shape;
  let c3 = i % s.w;
  let r2 = i / s.w;
  let c2 = r2 % s.z;
  let r1 = r2 / s.z;
  let c1 = r1 % s.y;
  let c0 = r1 / s.y;
  let c = vec4u(c0, c1, c2, c3);
  out[i] = apply(a[dot(c, p.sa)], b[dot(c, p.sb)]);
}

fn apply(x: f32, y: f32) -> f32 {
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    // x < y is false when either is NaN; x + y is then NaN (torch.minimum propagates NaN).
    case 4u: { return select(select(x + y, y, y <= x), x, x < y); }
    case 5u: { return select(select(x + y, y, y >= x), x, x > y); }
    case 6u: { return p.alpha * x * y; }
    default: { return select(0.0, x, y >= p.alpha && y <= p.beta); }
  }
}
