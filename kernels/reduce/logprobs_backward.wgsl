// Backward of logprobs.wgsl for both outputs at once, recomputing the softmax from the
// logits and the saved per-row stats (lse, Σ p·z) instead of storing [rows, cols] of it.
// With z = logits · inv_temp, p = exp(z − lse), upstream gl (logprob) and gh (entropy):
//   ∂logprob/∂z_j = [j = target] − p_j
//   ∂entropy/∂z_j = −p_j (log p_j + H) = −p_j (z_j − Σ p·z)
//   dlogits_j     = inv_temp · (gl·[j = target] − p_j (gl + gh (z_j − Σ p·z)))
// gl counts as 0 for rows whose target is outside [0, cols) (their logprob is the constant 0).
//
// Lanes: kernels/wgsl/row_lanes.wgsl (prepended); no merge: each lane writes its own elements.
// bindings: 0 p, 1 logits [window], 2 targets [n] i32, 3 stats [2n], 4 grad [2n] (gl | gh),
//           5 dlogits [window] (rw).
// dispatch: ceil(rows · L / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB
//           window of whole rows (logits and dlogits bound over the same window).

struct Params {
  rows: u32,
  cols: u32,
  first: u32,
  base: u32,
  n: u32,
  has_targets: u32,
  inv_temp: f32,
}


@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rl = rowLane(wid, nwg, lid, p.cols);
  let r = rl.row;
  if (r >= p.rows) { return; }
  let row = p.first + r;
  let off = p.base + r * p.cols;
  let lse = stats[row];
  let mean_z = stats[p.n + row];
  let gh = grad[p.n + row];
  var gl = 0.0;
  var t = p.cols; // no column matches
  if (p.has_targets != 0u) {
    let ti = targets[row];
    if (ti >= 0 && u32(ti) < p.cols) {
      t = u32(ti);
      gl = grad[row];
    }
  }
  let end = rl.end;
  let step = rl.step;
  // Four elements per trip (measured ~1.35× faster on llvmpipe than one), then the rest.
  var j = rl.j0;
  for (; j + 3u * step < end; j += 4u * step) {
    let i = vec4u(off + j, off + j + step, off + j + 2u * step, off + j + 3u * step);
    let z = p.inv_temp * vec4f(logits[i.x], logits[i.y], logits[i.z], logits[i.w]);
    let pj = exp(z - lse);
    var d = -pj * (gl + gh * (z - mean_z));
    d += select(vec4f(0.0), vec4f(gl), i - off == vec4u(t)); // the target's own term
    d *= p.inv_temp;
    dlogits[i.x] = d.x;
    dlogits[i.y] = d.y;
    dlogits[i.z] = d.z;
    dlogits[i.w] = d.w;
  }
  for (; j < end; j += step) {
    let z = logits[off + j] * p.inv_temp;
    let pj = exp(z - lse);
    var d = -pj * (gl + gh * (z - mean_z));
    if (j == t) { d += gl; }
    dlogits[off + j] = d * p.inv_temp;
  }
}
