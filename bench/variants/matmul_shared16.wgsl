// Classic workgroup-shared tiled matmul: a 16×16 workgroup stages a 16×16 tile of op(A) and
// one of op(B) in `var<workgroup>` memory per k-step, then each invocation accumulates its one
// output from shared memory (the CUDA textbook kernel). Kept as a variant to re-measure
// (bench/variants/matmul.ts). Dropped on llvmpipe: shared-memory loads are per-lane loops
// there too, and the two barriers per k-step are expensive on a CPU (bench/README.md).
//
// C [M, N] = op(A) · op(B), row-major f32, no batch: A is [M, K] ([K, M] with TRANS_A), B is
// [K, N] ([N, K] with TRANS_B). Tiles past M, N or K are padded with zeros.
// Bindings: 0 params {M, N, K}, 1 A (read), 2 B (read), 3 C (read_write).
// Dispatch: (ceil(N / 16), ceil(M / 16), 1); invocation (x, y) of a workgroup owns C[m, n] with
//   n = 16·wid.x + x, m = 16·wid.y + y. K ≤ 60,000 (17 loop steps per 16 k; llvmpipe stops a
//   loop after 65,535).

struct Params { M: u32, N: u32, K: u32, _p0: u32 }

override TRANS_A: bool = false;
override TRANS_B: bool = false;

const T: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> tileA: array<array<f32, 16>, 16>; // tileA[y][x] = op(A)[m0 + y, k0 + x]
var<workgroup> tileB: array<array<f32, 16>, 16>; // tileB[y][x] = op(B)[k0 + y, n0 + x]

fn elemA(M: u32, K: u32, m: u32, k: u32) -> f32 {
  if (m >= M || k >= K) { return 0.0; }
  if (TRANS_A) { return a[k * M + m]; }
  return a[m * K + k];
}

fn elemB(N: u32, K: u32, k: u32, n: u32) -> f32 {
  if (k >= K || n >= N) { return 0.0; }
  if (TRANS_B) { return b[n * K + k]; }
  return b[k * N + n];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let x = lid.x;
  let y = lid.y;
  let m = wid.y * T + y;
  let n = wid.x * T + x;
  let steps = (K + T - 1u) / T;
  var s = 0.0;
  for (var t = 0u; t < steps; t++) {
    let k0 = t * T;
    tileA[y][x] = elemA(M, K, m, k0 + x);
    tileB[y][x] = elemB(N, K, k0 + y, n);
    workgroupBarrier();
    for (var kk = 0u; kk < T; kk++) {
      s = fma(tileA[y][kk], tileB[kk][x], s);
    }
    workgroupBarrier();
  }
  if (m < M && n < N) { c[m * N + n] = s; }
}
