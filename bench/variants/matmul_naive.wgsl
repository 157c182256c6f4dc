// Naive matmul: one output per invocation, scalar loads — the textbook first kernel, kept as a
// variant to re-measure (bench/variants/matmul.ts). Dropped on llvmpipe: two scalar storage
// loads per FMA, each a loop over the SIMD lanes there (0.8 GFLOP/s at 1024³, bench/README.md).
//
// C [M, N] = op(A) · op(B), row-major f32, no batch: A is [M, K] ([K, M] with TRANS_A), B is
// [K, N] ([N, K] with TRANS_B).
// Bindings: 0 params {M, N, K}, 1 A (read), 2 B (read), 3 C (read_write).
// Dispatch: (ceil(N / 16), ceil(M / 16), 1); invocation (x, y) of a workgroup owns C[m, n] with
//   n = 16·wid.x + x, m = 16·wid.y + y. K ≤ 65,535 (llvmpipe stops a loop after that many steps).

struct Params { M: u32, N: u32, K: u32, _p0: u32 }

override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // Sizes read once: a uniform load inside a loop is re-gathered every iteration on llvmpipe.
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let n = gid.x;
  let m = gid.y;
  if (m >= M || n >= N) { return; }
  var s = 0.0;
  for (var k = 0u; k < K; k++) {
    var ia = m * K + k;
    if (TRANS_A) { ia = k * M + m; }
    var ib = k * N + n;
    if (TRANS_B) { ib = n * K + k; }
    s = fma(a[ia], b[ib], s);
  }
  c[m * N + n] = s;
}
