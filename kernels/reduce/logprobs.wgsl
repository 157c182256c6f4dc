// Fused log-softmax + gather + entropy over rows of logits, in one read of each row and
// without materialising the softmax. With z = logits · inv_temp (temperature scaling):
//   lse      = log Σ_j exp(z_j)
//   logprob  = z[target] − lse                   (0 when the target is outside [0, cols))
//   entropy  = −Σ p log p = lse − Σ p·z           (p = softmax(z))
//   stats    = [lse | Σ p·z], the per-row numbers the backward needs ([2, n] layout)
// One pass: each lane keeps an online (max m, s = Σ e^(z−m), u = Σ e^(z−m)·(z−m)) over its
// elements (u relative to the running max, so entropy = log s − u/s has no cancellation
// against m), then the L lanes of a row merge their states in a fixed order.
//
// Lanes: kernels/wgsl/row_lanes.wgsl, prepended with row_merge.wgsl.
//
// bindings: 0 p, 1 logits [window of rows·cols], 2 targets [n] i32, 3 logprobs [n] (rw),
//           4 entropy [n] (rw), 5 stats [2n] (rw).
// dispatch: ceil(rows · L / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB
//           window of whole rows (row 0 starts `base` elements into the bound window).

struct Params {
  rows: u32,        // rows in this dispatch
  cols: u32,        // vocabulary size V
  first: u32,       // global index of this dispatch's row 0
  base: u32,        // element offset of row 0 inside the bound window (< 64)
  n: u32,           // rows in total (stats row stride)
  has_targets: u32, // 0: no targets bound (entropy only); logprobs are written as 0
  inv_temp: f32,
}

const BLOCK: u32 = 256u; // terms summed apart before joining a lane's totals (fp32 accuracy)
const LOWEST: f32 = -3.4028235e38; // the running max of an empty lane (−inf would make NaNs)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> logprobs: array<f32>;
@group(0) @binding(4) var<storage, read_write> entropy: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

var<workgroup> sm: array<f32, WG>;
var<workgroup> ss: array<f32, WG>;
var<workgroup> su: array<f32, WG>;

// Online state: m = running max, s = Σ e^(z−m), u = Σ e^(z−m)·(z−m).
struct State { m: f32, s: f32, u: f32 }

// Merge two states onto their common max (an empty state has m = LOWEST, s = u = 0).
fn merge(a: State, b: State) -> State {
  let m = max(a.m, b.m);
  let ca = exp(a.m - m);
  let cb = exp(b.m - m);
  let u = ca * (a.u + (a.m - m) * a.s) + cb * (b.u + (b.m - m) * b.s);
  return State(m, a.s * ca + b.s * cb, u);
}

// The state of elements j0, j0 + step, … < end of the row at `off`. The max rarely grows
// after a row's first elements, so the rescaling branch is skipped nearly always (llvmpipe
// skips a branch no lane takes). Four elements per trip measured ~1.5× faster on llvmpipe
// than one. Within a block the sums (bs, bu) and the lane totals (s, u) share the running
// max and rescale together; summing each block apart keeps fp32 error near
// (BLOCK + n/BLOCK)·eps rather than n·eps.
fn scan(off: u32, j0: u32, end: u32, step: u32) -> State {
  var m = LOWEST;
  var s = 0.0;
  var u = 0.0;
  var j = j0;
  while (j < end) {
    let stop = min(j + BLOCK * step, end);
    var bs = 0.0;
    var bu = 0.0;
    for (; j + 3u * step < stop; j += 4u * step) {
      let i = vec4u(off + j, off + j + step, off + j + 2u * step, off + j + 3u * step);
      let z4 = p.inv_temp * vec4f(logits[i.x], logits[i.y], logits[i.z], logits[i.w]);
      let zm = max(max(z4.x, z4.y), max(z4.z, z4.w));
      if (zm > m) {
        let c = exp(m - zm);
        let dm = m - zm;
        u = c * (u + dm * s);
        s *= c;
        bu = c * (bu + dm * bs);
        bs *= c;
        m = zm;
      }
      let dz = z4 - m;
      let e = exp(dz);
      bs += (e.x + e.y) + (e.z + e.w);
      let w = e * max(dz, vec4f(LOWEST)); // z = −inf: e = 0 must not meet an infinite dz
      bu += (w.x + w.y) + (w.z + w.w);
    }
    for (; j < stop; j += step) {
      let z = logits[off + j] * p.inv_temp;
      if (z > m) {
        let c = exp(m - z);
        let dm = m - z;
        u = c * (u + dm * s);
        s *= c;
        bu = c * (bu + dm * bs);
        bs = bs * c + 1.0;
        m = z;
      } else {
        let dz = z - m;
        let e = exp(dz);
        bs += e;
        bu += e * max(dz, LOWEST);
      }
    }
    s += bs;
    u += bu;
  }
  return State(m, s, u);
}

// row_merge.wgsl's fold: lane slot src's state into slot dst's.
fn fold(dst: u32, src: u32) {
  let a = merge(State(sm[dst], ss[dst], su[dst]), State(sm[src], ss[src], su[src]));
  sm[dst] = a.m;
  ss[dst] = a.s;
  su[dst] = a.u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rl = rowLane(wid, nwg, lid, p.cols);
  let r = rl.row;
  let valid = r < p.rows;
  let off = p.base + r * p.cols;
  var st = State(LOWEST, 0.0, 0.0);
  if (valid) { st = scan(off, rl.j0, rl.end, rl.step); }
  if (L > 1u) {
    sm[lid] = st.m;
    ss[lid] = st.s;
    su[lid] = st.u;
    mergeLanes(lid);
    st = State(sm[lid], ss[lid], su[lid]);
  }
  if (!valid || rl.lane != 0u) { return; }
  let row = p.first + r;
  let log_s = log(st.s);
  let mean_dz = st.u / st.s; // Σ p·(z − m)
  var lp = 0.0;
  if (p.has_targets != 0u) {
    let t = targets[row];
    if (t >= 0 && u32(t) < p.cols) {
      lp = (logits[off + u32(t)] * p.inv_temp - st.m) - log_s;
    }
  }
  logprobs[row] = lp;
  entropy[row] = log_s - mean_dz;
  stats[row] = st.m + log_s;
  stats[p.n + row] = st.m + mean_dz;
}
