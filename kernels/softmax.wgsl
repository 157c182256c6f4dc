// Softmax over each row of a [rows, cols] window: y = exp(x − lse), lse = log Σ exp(x).
// Pass 1 keeps an online (max m, s = Σ e^(x−m)) per lane, so no element can overflow; the L
// lanes of a row merge their states in a fixed order (deterministic); pass 2 writes y.
//
// Lanes (as in reduce.wgsl): L threads per row, WG / L rows per workgroup. GPUs: lane l takes
// elements l, l + L, … (coalesced). CPU adapters (CONTIG): lane l takes one contiguous
// segment, L just large enough to keep each lane under ~8k elements (llvmpipe runs a plain
// per-thread loop fastest, and Mesa 22.3 silently stops an invocation's loops after 65,535
// iterations in total).
//
// bindings: 0 p, 1 x [window], 2 y [window] (rw).
// dispatch: ceil(rows · L / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB
//           window of whole rows (row 0 starts `base` elements into the bound windows).

struct Params {
  rows: u32,
  cols: u32,
  base: u32,
}

override WG: u32 = 64u;  // threads per workgroup, a power of two
override L: u32 = 1u;    // lanes per row, a power of two ≤ WG
override FAN: u32 = 16u; // fan-in of each level of the lanes' merge, a power of two ≥ 2
override CONTIG: bool = true;
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * (WG / L) + lid / L;
  let lane = lid % L;
  let valid = r < p.rows;
  let off = p.base + r * p.cols;
  var j0 = lane;
  var end = p.cols;
  var step = L;
  if (CONTIG) {
    let seg = (p.cols + L - 1u) / L;
    j0 = lane * seg;
    end = min(j0 + seg, p.cols);
    step = 1u;
  }
  var st = vec2f(LOWEST, 0.0);
  if (valid) { st = scan(off, j0, end, step); }
  if (L > 1u) {
    // Merge the L lanes of each row: each level, lane t < s folds lanes t + s, t + 2s, …;
    // afterwards every lane reads the row's total from its first lane.
    sm[lid] = st.x;
    ss[lid] = st.y;
    workgroupBarrier();
    var width = L;
    while (width > 1u) {
      let s = max(width / FAN, 1u);
      if (lane < s) {
        var m = sm[lid];
        var t = ss[lid];
        for (var k = lid + s; k < lid - lane + width; k += s) {
          let mk = max(m, sm[k]);
          t = t * exp(m - mk) + ss[k] * exp(sm[k] - mk);
          m = mk;
        }
        sm[lid] = m;
        ss[lid] = t;
      }
      workgroupBarrier();
      width = s;
    }
    st = vec2f(sm[lid - lane], ss[lid - lane]);
  }
  if (!valid) { return; }
  let lse = st.x + log(st.y);
  var j = j0;
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
