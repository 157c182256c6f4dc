// Deterministic reductions: num = Σ x·m and den = Σ m, over a whole tensor or over each row
// (the last axis). No atomics: every sum runs in an order fixed by the shape alone, so the
// same inputs give bit-identical results run to run. MASKED = 0 reads no mask (m ≡ 1, so den
// counts elements; bind x again as `mask`).
//
// Result written by finish / rows / rows_small:
//   out = num · scale / (MEAN ? den : 1)   (0 where MEAN and den = 0: an empty mask gives 0)
//
// Entry points, all with one binding layout:
//   partials    stage 1 of a full reduction. Workgroup k folds elements
//               [k·chunk, (k+1)·chunk) of the bound window (n elements) into
//               out[first + k] = num, den[first + k] = den (raw, no scale).
//               dispatch: ceil(n / chunk) workgroups via runtime.grid(); one dispatch per
//               ≤128 MiB window (windows start on chunk boundaries).
//   finish      stage 2: one workgroup folds the n partials in index order → out[0], den[0].
//               dispatch: 1 workgroup.
//   rows        one workgroup per row (n rows of `cols` elements starting `base` elements
//               into the bound window) → out[first + r], den[first + r].
//               dispatch: n workgroups via runtime.grid(); one dispatch per row window.
//   rows_small  the same with one thread per row, for rows too short to feed a workgroup.
//               dispatch: ceil(n / WG) workgroups via runtime.grid().
// bindings: 0 p, 1 x (partials/rows: values; finish: partial nums), 2 mask (finish: partial
//           dens), 3 out (read_write), 4 den (read_write).

struct Params {
  n: u32,      // elements (partials), partials (finish) or rows (rows, rows_small) this dispatch
  cols: u32,   // row length (rows, rows_small)
  chunk: u32,  // elements per workgroup (partials)
  first: u32,  // index of this dispatch's first output
  base: u32,   // element offset of row 0 inside the bound window (rows, rows_small)
  scale: f32,
}

override WG: u32 = 64u;      // threads per workgroup, a power of two
override FAN: u32 = 64u;     // fan-in of each level of the workgroup fold, a power of two
override MASKED: bool = true;
override MEAN: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> den: array<f32>;

var<workgroup> sn: array<f32, WG>;
var<workgroup> sd: array<f32, WG>;

fn weight(i: u32) -> f32 {
  if (MASKED) { return mask[i]; }
  return 1.0;
}

fn result(num: f32, d: f32) -> f32 {
  if (MEAN) { return select(num * p.scale / d, 0.0, d == 0.0); }
  return num * p.scale;
}

// Fold the workgroup's (num, den) into sn[0], sd[0]: each level, thread t < s adds the
// entries t + s, t + 2s, … of the `width` live ones (s = width / FAN), so a level costs one
// barrier. llvmpipe runs a workgroup's lanes 8 at a time and a barrier switches through all
// of them, so few levels (FAN = WG: one) beat a binary tree there; GPUs prefer FAN ≈ 16.
fn fold(lid: u32, num: f32, d: f32) {
  sn[lid] = num;
  sd[lid] = d;
  workgroupBarrier();
  var width = WG;
  while (width > 1u) {
    let s = max(width / FAN, 1u);
    if (lid < s) {
      var a = sn[lid];
      var b = sd[lid];
      for (var k = lid + s; k < width; k += s) {
        a += sn[k];
        b += sd[k];
      }
      sn[lid] = a;
      sd[lid] = b;
    }
    workgroupBarrier();
    width = s;
  }
}

@compute @workgroup_size(WG)
fn partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let k = wid.x + wid.y * nwg.x;
  let start = k * p.chunk;
  let end = min(start + p.chunk, p.n);
  var num = 0.0;
  var d = 0.0;
  // Thread t takes start+t, start+t+WG, …: neighbouring lanes touch neighbouring elements.
  for (var i = start + lid; i < end; i += WG) {
    let m = weight(i);
    num += x[i] * m;
    d += m;
  }
  fold(lid, num, d);
  if (lid == 0u && (start < p.n || k == 0u)) { // k = 0 always writes: an empty x sums to 0
    out[p.first + k] = sn[0];
    den[p.first + k] = sd[0];
  }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var num = 0.0;
  var d = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    num += x[i];
    d += mask[i];
  }
  fold(lid, num, d);
  if (lid == 0u) {
    out[0] = result(sn[0], sd[0]);
    den[0] = sd[0];
  }
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.n) { return; } // uniform per workgroup, so the barriers below stay legal
  let off = p.base + r * p.cols;
  var num = 0.0;
  var d = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let m = weight(off + j);
    num += x[off + j] * m;
    d += m;
  }
  fold(lid, num, d);
  if (lid == 0u) {
    out[p.first + r] = result(sn[0], sd[0]);
    den[p.first + r] = sd[0];
  }
}

@compute @workgroup_size(WG)
fn rows_small(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * WG + lid;
  if (r >= p.n) { return; }
  let off = p.base + r * p.cols;
  var num = 0.0;
  var d = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let m = weight(off + j);
    num += x[off + j] * m;
    d += m;
  }
  out[p.first + r] = result(num, d);
  den[p.first + r] = d;
}
