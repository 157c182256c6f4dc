// Gradient of the reductions in reduce.wgsl: the upstream gradient of each output, spread
// back over the elements it summed.
//   dx[i] = g[row] · scale · (MASKED ? mask[i] : 1) / (MEAN ? den[row] : 1)   (0 where den = 0)
// with row = (start + i) / cols, or row 0 when cols = 0 (a full reduction).
// bindings: 0 p, 1 g [rows], 2 mask [window] (MASKED = 0: bind g), 3 den [rows] (MEAN = 0:
//           bind g), 4 dx [window] (read_write).
// dispatch: ceil(n / WG) workgroups via runtime.grid(); one dispatch per ≤128 MiB window of
//           n elements starting at element `start` (a multiple of 64).

struct Params {
  n: u32,      // elements in this window
  start: u32,  // flat index of the window's first element
  cols: u32,   // row length; 0 for a full reduction
  scale: f32,
}

override WG: u32 = 256u;
override MASKED: bool = true;
override MEAN: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read> den: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  var row = 0u;
  if (p.cols != 0u) { row = (p.start + i) / p.cols; } // uniform branch: no division for full sums
  var v = g[row] * p.scale;
  if (MEAN) {
    let d = den[row];
    v = select(v / d, 0.0, d == 0.0);
  }
  if (MASKED) { v *= mask[i]; }
  dx[i] = v;
}
