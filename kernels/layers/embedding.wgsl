// Embedding lookup: out[t, :] = weight[ids[t], :] for weight [vocab, h] f32.
//
// The weight may exceed the 128 MiB storage-binding cap (Qwen2.5: [151936, 896] f32 is
// 545 MB), so it is bound as up to 6 row windows w0…w5, each a binding of `win_rows` rows
// (the last may be shorter), starting at window `first_win`. A token whose id falls in one
// of this dispatch's windows copies its row from it; the others are left for the
// dispatch that binds their window (one dispatch covers 6 · 128 MiB, so real models need
// one). Ids outside [0, vocab) give a zero row (written by the dispatch with first_win 0).
// 6 windows + ids + out = 8 storage buffers, WebGPU's default per-stage limit.
//
// One workgroup per token: the window choice is uniform across it. Memory is viewed as vec4
// (one gather per 4 floats on llvmpipe); ALIGNED = false (h % 4 != 0) uses per-component
// access.
//
// bindings: 0 params {n, h, vocab, win_rows, first_win, n_win}, 1 ids [n] (i32),
//   2..7 w0..w5 (weight windows; unused slots repeat w0), 8 out [n, h]
// dispatch: n workgroups of WG threads, folded by runtime.grid().

struct Params { n: u32, h: u32, vocab: u32, win_rows: u32, first_win: u32, n_win: u32 }

override WG: u32 = 64u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> w0: array<vec4f>;
@group(0) @binding(3) var<storage, read> w1: array<vec4f>;
@group(0) @binding(4) var<storage, read> w2: array<vec4f>;
@group(0) @binding(5) var<storage, read> w3: array<vec4f>;
@group(0) @binding(6) var<storage, read> w4: array<vec4f>;
@group(0) @binding(7) var<storage, read> w5: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> out: array<vec4f>;

// vec4 number i of window k (WGSL cannot pass storage pointers to functions).
fn window4(k: u32, i: u32) -> vec4f {
  switch k {
    case 0u: { return w0[i]; }
    case 1u: { return w1[i]; }
    case 2u: { return w2[i]; }
    case 3u: { return w3[i]; }
    case 4u: { return w4[i]; }
    default: { return w5[i]; }
  }
}

// Scalar element i of window k (the unaligned path).
fn window1(k: u32, i: u32) -> f32 {
  switch k {
    case 0u: { return w0[i / 4u][i % 4u]; }
    case 1u: { return w1[i / 4u][i % 4u]; }
    case 2u: { return w2[i / 4u][i % 4u]; }
    case 3u: { return w3[i / 4u][i % 4u]; }
    case 4u: { return w4[i / 4u][i % 4u]; }
    default: { return w5[i / 4u][i % 4u]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.n) { return; }
  let id = ids[t];
  let valid = id >= 0 && u32(id) < p.vocab;
  var k = 0u;
  var local = 0u;
  if (valid) {
    let win = u32(id) / p.win_rows;
    if (win < p.first_win || win >= p.first_win + p.n_win) { return; }
    k = win - p.first_win;
    local = u32(id) - win * p.win_rows;
  } else if (p.first_win != 0u) {
    return;
  }
  if (ALIGNED) {
    let h4 = p.h / 4u;
    for (var j = lid; j < h4; j += WG) {
      out[t * h4 + j] = select(vec4f(0.0), window4(k, local * h4 + j), valid);
    }
  } else {
    for (var j = lid; j < p.h; j += WG) {
      let o = t * p.h + j;
      out[o / 4u][o % 4u] = select(0.0, window1(k, local * p.h + j), valid);
    }
  }
}
