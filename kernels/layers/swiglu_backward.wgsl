// SwiGLU backward for separate gate and up tensors (the packed [gate | up] layout uses
// activations.wgsl, OP 3). With s = σ(gate) and upstream gradient g:
//   dgate = g · up · s · (1 + gate · (1 − s)),   dup = g · gate · s
// Both gradients come from one pass over g, gate and up. vec4 view, ALIGNED and the
// row/tile dispatch as in activations.wgsl; here every tensor is [rows, cols].
//
// bindings: 0 params {rows, cols, tiles}, 1 g, 2 gate, 3 up, 4 dgate (out), 5 dup (out)
// dispatch: rows · tiles workgroups of WG threads, tiles = ceil(cols / (4·WG)), folded by
//   runtime.grid().

struct Params { rows: u32, cols: u32, tiles: u32 }

override WG: u32 = 256u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<vec4f>;
@group(0) @binding(2) var<storage, read> gate: array<vec4f>;
@group(0) @binding(3) var<storage, read> up: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dgate: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> dup: array<vec4f>;

fn load(which: u32, e: u32, n: u32) -> vec4f {
  if (ALIGNED) {
    switch which {
      case 0u: { return g[e / 4u]; }
      case 1u: { return gate[e / 4u]; }
      default: { return up[e / 4u]; }
    }
  }
  var v = vec4f(0.0);
  for (var c = 0u; c < n; c++) {
    let i = e + c;
    switch which {
      case 0u: { v[c] = g[i / 4u][i % 4u]; }
      case 1u: { v[c] = gate[i / 4u][i % 4u]; }
      default: { v[c] = up[i / 4u][i % 4u]; }
    }
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let f = wid.x + wid.y * nwg.x;
  let row = f / p.tiles;
  let col = 4u * ((f % p.tiles) * WG + lid);
  if (row >= p.rows || col >= p.cols) { return; }
  let n = min(4u, p.cols - col);
  let e = row * p.cols + col;
  let gv = load(0u, e, n);
  let x = load(1u, e, n);
  let u = load(2u, e, n);
  let s = 1.0 / (1.0 + exp(-x));
  let dg = gv * u * s * (1.0 + x * (1.0 - s));
  let du = gv * x * s;
  if (ALIGNED) {
    dgate[e / 4u] = dg;
    dup[e / 4u] = du;
  } else {
    for (var c = 0u; c < n; c++) {
      let i = e + c;
      dgate[i / 4u][i % 4u] = dg[c];
      dup[i / 4u][i % 4u] = du[c];
    }
  }
}
