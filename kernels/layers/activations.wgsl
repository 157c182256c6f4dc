// SiLU and SwiGLU, forward and backward, over row-major [rows, cols] views.
//   silu(x) = x · σ(x),  σ(x) = 1 / (1 + e^(−x)),  silu'(x) = σ(x) · (1 + x · (1 − σ(x)))
//   swiglu(gate, up) = silu(gate) · up
// OP (override) picks the operation; `a` and `b` are read-only inputs (the same buffer may
// be bound to both), `o` is the output:
//   0 silu forward:            o[r, c] = silu(a[r, c])                 (b unused)
//   1 swiglu forward:          o[r, c] = silu(a[r·sa + c]) · b[r·sb + ob + c]
//                              (separate tensors: sa = sb = cols, ob = 0; packed [gate | up]
//                              rows of width 2·cols: sa = sb = 2·cols, ob = cols)
//   2 silu backward:           o[r, c] = a[r, c] · silu'(b[r, c])      (a = upstream grad)
//   3 packed swiglu backward:  a = upstream grad [rows, cols], b = gate|up [rows, 2·cols],
//                              o = d(gate|up) [rows, 2·cols]
// Each thread handles 4 consecutive columns through a vec4 view (one gather per 4 floats on
// llvmpipe). ALIGNED = false (cols % 4 != 0: odd test shapes) switches to per-component
// access with a bounds check.
//
// bindings: 0 params {rows, cols, tiles, sa, sb, ob}, 1 a, 2 b, 3 o (sizes rounded up to 16 B)
// dispatch: rows · tiles workgroups of WG threads, tiles = ceil(cols / (4·WG)), folded by
//   runtime.grid(); workgroup f handles row f / tiles, column tile f % tiles.

struct Params { rows: u32, cols: u32, tiles: u32, sa: u32, sb: u32, ob: u32 }

override OP: u32 = 0u;
override WG: u32 = 256u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4f>;

fn sigmoid(x: vec4f) -> vec4f { return 1.0 / (1.0 + exp(-x)); }

// Elements [e, e + n) of a / b (flat index), n ≤ 4, zeros after.
fn load_a(e: u32, n: u32) -> vec4f {
  if (ALIGNED) { return a[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < n; c++) { v[c] = a[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

fn load_b(e: u32, n: u32) -> vec4f {
  if (ALIGNED) { return b[e / 4u]; }
  var v = vec4f(0.0);
  for (var c = 0u; c < n; c++) { v[c] = b[(e + c) / 4u][(e + c) % 4u]; }
  return v;
}

fn store(e: u32, n: u32, v: vec4f) {
  if (ALIGNED) { o[e / 4u] = v; return; }
  for (var c = 0u; c < n; c++) { o[(e + c) / 4u][(e + c) % 4u] = v[c]; }
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
  if (OP == 0u) {
    let x = load_a(e, n);
    store(e, n, x * sigmoid(x));
  } else if (OP == 1u) {
    let gate = load_a(row * p.sa + col, n);
    store(e, n, gate * sigmoid(gate) * load_b(row * p.sb + p.ob + col, n));
  } else if (OP == 2u) {
    let x = load_b(e, n);
    let s = sigmoid(x);
    store(e, n, load_a(e, n) * s * (1.0 + x * (1.0 - s)));
  } else {
    let g = load_a(e, n);
    let eg = row * 2u * p.cols + col;
    let gate = load_b(eg, n);
    let up = load_b(eg + p.cols, n);
    let s = sigmoid(gate);
    store(eg, n, g * up * s * (1.0 + gate * (1.0 - s)));
    store(eg + p.cols, n, g * gate * s);
  }
}
