// Embedding backward: dweight[v, :] = Σ g[t, :] over the tokens t with ids[t] = v, summed
// in increasing t — deterministic, no atomics.
//
// `order` lists the token indices sorted by (id, t) (built on the CPU from known ids, or by
// embedding_sort.wgsl), so the tokens of one id form a contiguous run found by binary
// search. The gradient may exceed the 128 MiB binding cap, so it is written one row window
// per dispatch: rows [row0, row0 + rows) of dweight, bound at that window's offset.
//   ACCUMULATE = false (dense): one workgroup per row of the window; the row is the sum of
//     its run, or zeros when no token has that id — every element written exactly once.
//   ACCUMULATE = true: dweight += gradient, touching only rows that occur in ids; one
//     workgroup per entry of `order`, the first of each run doing the work (for adding an
//     embedding gradient into an existing dense gradient, e.g. a tied LM head's).
// Memory is viewed as vec4; ALIGNED = false (h % 4 != 0) uses per-component access.
//
// bindings: 0 params {n, h, row0, rows}, 1 ids [n] (i32), 2 order [n] (i32), 3 g [n, h],
//   4 dweight window [rows, h] (read_write)
// dispatch: dense: `rows` workgroups; accumulate: n workgroups; WG threads, runtime.grid().

struct Params { n: u32, h: u32, row0: u32, rows: u32 }

override WG: u32 = 64u;
override ALIGNED: bool = true;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> order: array<i32>;
@group(0) @binding(3) var<storage, read> g: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dw: array<vec4f>;

fn id_at(k: u32) -> i32 { return ids[order[k]]; }

// Sum of g rows over the run order[start..] of tokens with id v, 4 columns at c.
fn run_sum4(v: i32, start: u32, c: u32) -> vec4f {
  let h4 = p.h / 4u;
  var acc = vec4f(0.0);
  for (var k = start; k < p.n && id_at(k) == v; k++) { acc += g[u32(order[k]) * h4 + c]; }
  return acc;
}

fn run_sum1(v: i32, start: u32, c: u32) -> f32 {
  var acc = 0.0;
  for (var k = start; k < p.n && id_at(k) == v; k++) {
    let i = u32(order[k]) * p.h + c;
    acc += g[i / 4u][i % 4u];
  }
  return acc;
}

// Write (or add) the run of id v starting at `start` into local row `r` of the window.
fn emit(v: i32, start: u32, r: u32, lid: u32) {
  if (ALIGNED) {
    let h4 = p.h / 4u;
    for (var c = lid; c < h4; c += WG) {
      let s = run_sum4(v, start, c);
      if (ACCUMULATE) { dw[r * h4 + c] += s; } else { dw[r * h4 + c] = s; }
    }
  } else {
    for (var c = lid; c < p.h; c += WG) {
      let s = run_sum1(v, start, c);
      let o = r * p.h + c;
      if (ACCUMULATE) { dw[o / 4u][o % 4u] += s; } else { dw[o / 4u][o % 4u] = s; }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let f = wid.x + wid.y * nwg.x;
  if (ACCUMULATE) {
    if (f >= p.n) { return; }
    let v = id_at(f);
    let first = f == 0u || id_at(f - 1u) != v;
    if (!first || v < i32(p.row0) || v >= i32(p.row0 + p.rows)) { return; }
    emit(v, f, u32(v) - p.row0, lid);
  } else {
    if (f >= p.rows) { return; }
    let v = i32(p.row0 + f);
    // First k with id_at(k) >= v (ids are non-decreasing along order).
    var lo = 0u;
    var hi = p.n;
    while (lo < hi) {
      let mid = (lo + hi) / 2u;
      if (id_at(mid) < v) { lo = mid + 1u; } else { hi = mid; }
    }
    // No token with this id: an empty run (start = n) writes zeros.
    let start = select(p.n, lo, lo < p.n && id_at(lo) == v);
    emit(v, start, f, lid);
  }
}
