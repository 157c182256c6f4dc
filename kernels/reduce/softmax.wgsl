// Softmax over each row of a [rows, cols] window: y = exp(x − lse), lse = log Σ exp(x).
// Pass 1 keeps an online (max m, s = Σ e^(x−m)) per lane, so no element can overflow; the L
// lanes of a row merge their states in a fixed order (deterministic); pass 2 writes y.
//
// Lanes: kernels/wgsl/row_lanes.wgsl, prepended with row_merge.wgsl.
//
// bindings: 0 p, 1 x [window], 2 y [window] (rw).
// dispatch: ceil(rows · L / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB
//           window of whole rows (row 0 starts `base` elements into the bound windows).

struct Params {
  rows: u32,
  cols: u32,
  base: u32,
}

const BLOCK: u32 = 256u; // terms summed apart before joining a lane's total (fp32 accuracy)
const LOWEST: f32 = -3.4028235e38; // the running max of an empty lane (−inf would make NaNs)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> sm: array<f32, WG>;
var<workgroup> ss: array<f32, WG>;

// (m, Σ e^(x−m)) of elements j0, j0 + step, … < end of the row at `off`, four per trip
// (~1.5× faster on llvmpipe); the rescaling branch is rarely taken once the max settles.
fn scan(off: u32, j0: u32, end: u32, step: u32) -> vec2f {
  var m = LOWEST;
  var s = 0.0;
  var j = j0;
  while (j < end) {
    let stop = min(j + BLOCK * step, end);
    var bs = 0.0;
    for (; j + 3u * step < stop; j += 4u * step) {
      let v = vec4f(x[off + j], x[off + j + step], x[off + j + 2u * step], x[off + j + 3u * step]);
      let vm = max(max(v.x, v.y), max(v.z, v.w));
      if (vm > m) {
        let c = exp(m - vm);
        s *= c;
        bs *= c;
        m = vm;
      }
      let e = exp(v - m);
      bs += (e.x + e.y) + (e.z + e.w);
    }
    for (; j < stop; j += step) {
      let v = x[off + j];
      if (v > m) {
        let c = exp(m - v);
        s *= c;
        bs = bs * c + 1.0;
        m = v;
      } else {
        bs += exp(v - m);
      }
    }
    s += bs;
  }
  return vec2f(m, s);
}

// row_merge.wgsl's fold: lane slot src's (max, sum) into slot dst's, on their common max.
fn fold(dst: u32, src: u32) {
  let m = max(sm[dst], sm[src]);
  ss[dst] = ss[dst] * exp(sm[dst] - m) + ss[src] * exp(sm[src] - m);
  sm[dst] = m;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rl = rowLane(wid, nwg, lid, p.cols);
  let valid = rl.row < p.rows;
  let off = p.base + rl.row * p.cols;
  let end = rl.end;
  let step = rl.step;
  var st = vec2f(LOWEST, 0.0);
  if (valid) { st = scan(off, rl.j0, end, step); }
  if (L > 1u) {
    // Every lane then reads the row's total from its first lane's slot.
    sm[lid] = st.x;
    ss[lid] = st.y;
    mergeLanes(lid);
    st = vec2f(sm[lid - rl.lane], ss[lid - rl.lane]);
  }
  if (!valid) { return; }
  let lse = st.x + log(st.y);
  var j = rl.j0;
  for (; j + 3u * step < end; j += 4u * step) {
    let i = vec4u(off + j, off + j + step, off + j + 2u * step, off + j + 3u * step);
    let e = exp(vec4f(x[i.x], x[i.y], x[i.z], x[i.w]) - lse);
    y[i.x] = e.x;
    y[i.y] = e.y;
    y[i.z] = e.z;
    y[i.w] = e.w;
  }
  for (; j < end; j += step) { y[off + j] = exp(x[off + j] - lse); }
}
