// Row weights for crossEntropy: w[r] = (HAS_MASK ? mask[r] : 1) · [target counts], where a
// target counts when it lies in [0, cols) and differs from ignore_index.
// bindings: 0 p, 1 targets [n] i32, 2 mask [n] f32 (HAS_MASK = 0: bind targets), 3 w [n] (rw).
// dispatch: ceil(n / 256) workgroups via runtime.grid().

struct Params {
  n: u32,
  cols: u32,
  ignore_index: i32,
}

override HAS_MASK: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let t = targets[i];
  var v = select(0.0, 1.0, t >= 0 && u32(t) < p.cols && t != p.ignore_index);
  if (HAS_MASK) { v *= mask[i]; }
  w[i] = v;
}
