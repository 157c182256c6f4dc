// out[i] = f(x[i]) for a unary op chosen by the OP override:
//   0 affine  alpha · x + beta   (scale, addScalar)
//   1 exp     exp(x)
//   2 clamp   min(max(x, alpha), beta) — lo = alpha, hi = beta; as torch.clamp: NaN stays NaN,
//             and lo > hi gives hi everywhere (WGSL's clamp() leaves both unspecified)
//   3 square  x · x
// bindings: 0 params {n, alpha, beta}, 1 x, 2 out.  dispatch: ceil(n/256) via runtime.grid().
// (unary_vec4.wgsl is the n % 4 == 0 fast path.)
struct Params { n: u32, alpha: f32, beta: f32 }
override OP: u32 = 0u;
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let v = x[i];
  switch OP {
    case 0u: { out[i] = p.alpha * v + p.beta; }
    case 1u: { out[i] = exp(v); }
    case 2u: { out[i] = minNan(maxNan(v, p.alpha), p.beta); }
    default: { out[i] = v * v; }
  }
}

// NaN-propagating max / min: both comparisons are false only when an operand is NaN, and then
// x + y is NaN. (llvmpipe folds `v != v` to false, so NaN is not tested for directly.)
fn maxNan(x: f32, y: f32) -> f32 { return select(select(x + y, y, y >= x), x, x > y); }
fn minNan(x: f32, y: f32) -> f32 { return select(select(x + y, y, y <= x), x, x < y); }
