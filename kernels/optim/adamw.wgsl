// Fused AdamW step over one window of one parameter tensor (torch.optim.AdamW semantics):
//   g  = grad · scale · gscale[0]          (micro-batch averaging, global-norm clipping)
//   p ← p · (1 − lr·wd)                    (decoupled weight decay, on the old value)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps),   bc_i = 1 − β_i^t
// The launcher folds the per-step scalars (decay factor, step size, 1/sqrt(bc2)) on the CPU
// in float64, exactly as PyTorch's single-tensor path orders them.
//
// bindings: 0 params, 1 p (rw), 2 grad (read), 3 m (rw), 4 v (rw), 5 gscale (read, [≥1]:
//   a GPU-side scale such as the clip coefficient; the launcher binds a constant 1 if none).
// shapes: p, grad, m, v are same-offset windows of n elements of same-sized tensors, bound
//   as vec4 (4× fewer, wider loads: about twice as fast on llvmpipe). The windows are
//   rounded up to whole vec4s inside each buffer's pool slack; lanes at index ≥ n are
//   written back unchanged.
// dispatch: ceil(n / (4·WG)) workgroups folded by runtime.grid(); one vec4 per invocation.

struct Params {
  n: u32,
  decay: f32,       // 1 − lr·wd
  step_size: f32,   // lr / bc1
  inv_sqrt_bc2: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  scale: f32,       // host-side gradient scale
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4f>;
@group(0) @binding(2) var<storage, read> grad: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4f>;
@group(0) @binding(5) var<storage, read> gscale: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (4u * i >= p.n) { return; }
  let live = vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.n);
  let g = grad[i] * (p.scale * gscale[0]);
  let m0 = m[i];
  let v0 = v[i];
  let p0 = param[i];
  let mi = p.beta1 * m0 + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v0 + (1.0 - p.beta2) * g * g;
  let denom = sqrt(vi) * p.inv_sqrt_bc2 + p.eps;
  m[i] = select(m0, mi, live);
  v[i] = select(v0, vi, live);
  param[i] = select(p0, p0 * p.decay - p.step_size * mi / denom, live);
}
