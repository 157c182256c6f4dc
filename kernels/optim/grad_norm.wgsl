// Global L2 norm of many gradient tensors and the clip coefficient, as a deterministic
// two-stage reduction (no atomics: every sum has a fixed order for a given set of shapes).
//
// partials (stage 1, one dispatch per tensor window): workgroup w sums x² over its chunk
//   [w·chunk, min(n, (w+1)·chunk)) — thread t takes elements t, t+WG, … of the chunk, then a
//   tree over the workgroup — and writes partials[base + w].
//   dispatch: ceil(n / chunk) workgroups (≤ 65,535; the launcher sizes chunk to ensure it).
// finish (stage 2, one workgroup): sums partials[0..count) the same way and writes
//   norm = |pre|·sqrt(Σ), coef = pre · min(1, max_norm / (norm + 1e-6)) (or pre if !clip).
//   `pre` is a gradient scale applied before clipping (micro-batch averaging).
//
// One binding layout serves both entry points (the launcher fills the unused slots with
// buffers the dispatch does not write):
// bindings: 0 params, 1 x (read: a gradient window), 2 partials (rw), 3 coef (rw, [1]),
//   4 norm (rw, [1]).

struct Params {
  n: u32,         // partials: elements in this window; finish: number of partials
  base: u32,      // partials: index of this window's first partial
  chunk: u32,     // partials: elements per workgroup (multiple of WG)
  clip: u32,      // finish: 0 → coefficient is just `pre`
  max_norm: f32,
  pre: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> coef: array<f32>;
@group(0) @binding(4) var<storage, read_write> norm: array<f32>;

var<workgroup> tree: array<f32, WG>;

// Sum of tree[0..WG) into tree[0]; every invocation must call it (barriers).
fn tree_sum(lid: u32) {
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { tree[lid] += tree[lid + s]; }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn sumsq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let start = wid.x * p.chunk;
  let end = min(p.n, start + p.chunk);
  var acc = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    let g = x[i];
    acc += g * g;
  }
  tree[lid] = acc;
  tree_sum(lid);
  if (lid == 0u) { partials[p.base + wid.x] = tree[0]; }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += WG) { acc += partials[i]; }
  tree[lid] = acc;
  tree_sum(lid);
  if (lid == 0u) {
    let total = abs(p.pre) * sqrt(tree[0]);
    norm[0] = total;
    coef[0] = select(p.pre, p.pre * min(1.0, p.max_norm / (total + 1e-6)), p.clip != 0u);
  }
}
