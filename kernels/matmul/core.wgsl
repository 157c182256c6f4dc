// Batched matmul C = op(A) · op(B), op(X) = X or Xᵀ (TRANS_A / TRANS_B), shared by all
// variants: this file is the compute core; vec4.wgsl, scalar.wgsl or
// texture.wgsl is appended to it and supplies the bindings and the loaders (loadA, loadB,
// storeRow). The texture loaders read A and B from textures and reinterpret baseA / baseB and
// lda / ldb as layers (their header says how).
//
// Shapes (per batch z, after the launcher picked a window of each operand):
//   op(A) [M, K], op(B) [K, N], C [M, N]; element (m, k) of op(A) lives at
//   A[baseA + m*lda + k] (or A[baseA + k*lda + m] when TRANS_A), likewise for B; C rows are
//   ldc apart, so a dispatch may write a column block of a wider C (windowed LM head).
//   In the vec4 variant every offset/stride is in vec4 units, in the scalar one in floats.
// Bindings: 0 params, 1 A (read), 2 B (read), 3 C (read_write; also read when p.acc = 1);
//   A and B are read-only storage textures in the texture variant.
// Dispatch: (ceil(N / (4*TN4*WX)), ceil(M / (TM*WY)), batches), x and y swapped with ROWS_FIRST;
//   each invocation owns a TM×(4·TN4) tile of C (TM rows, TN4 vec4 columns; 16 but on the
//   texture path, which passes the grid for its TN4).
//
// Why this shape (bench/README.md has the numbers): llvmpipe turns every storage load into a
// loop over the 8 SIMD lanes with a bounds check per component, so loads, not FLOPs, bound
// the kernel. A 16×16 register tile does 256 FMAs per 32 vec4 loads; larger tiles spill,
// shared-memory staging only adds per-lane loads/stores and barriers. WGSL loops with
// constant trip counts are *not* unrolled by this stack (10× slower), so the tile is
// written out through small functions with constant arguments, which NIR inlines and folds.
// fma() is lowered to mul+add by llvmpipe; writing fma still documents intent.

struct Params {
  M: u32, N: u32, K: u32, steps: u32,       // steps = ceil(K / 4) k-blocks
  lda: u32, ldb: u32, ldc: u32, acc: u32,   // acc = 1: C += result (K-chunked windows)
  offA: u32, offB: u32, offC: u32, hA: u32, // hA, hB: texture rows per band (texture.wgsl)
  bsA: u32, bsB: u32, bsC: u32, hB: u32,    // batch strides (0: operand broadcast)
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override TM: u32 = 16u;   // rows per invocation: 1, 2, 4, 8 or 16 (≥ 4 with vec4 TRANS_A)
// vec4 columns per invocation: 4 (16 columns), 3 or 2. Only the texture loaders take < 4:
// a workgroup then covers 96 or 64 columns, so N = 96 or 288 (a small model's hidden size,
// its q/k/v) computes no columns only to drop them, where 128-column blocks waste a quarter.
override TN4: u32 = 4u;
override WX: u32 = 8u;    // 8 invocations = one 8-lane SIMD row on llvmpipe (the launcher
override WY: u32 = 1u;    // assumes 8×1: taller workgroups measured no faster)
// Grid x walks row blocks instead of column blocks: consecutive workgroups then share one
// 128-column panel of B, which stays in cache while A streams (the texture path, where
// memory traffic starts to matter for large operands).
override ROWS_FIRST: bool = false;

@group(0) @binding(0) var<uniform> p: Params;

// Parameters hoisted into registers: a uniform load inside the k loop is re-gathered per
// iteration on llvmpipe, so main reads p once and hands this to the loaders.
struct Ctx { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, acc: u32, hA: u32, hB: u32 }

alias Row = array<vec4f, 4>;      // 16 columns of one C row
alias Tile = array<Row, 16>;      // TM rows used
alias ACol = array<vec4f, 16>;    // ACol[i] = op(A)[r0 + i, 4k .. 4k+3]

// One vec4 column of one row over a whole k-block: acc + a.x·b0 + a.y·b1 + a.z·b2 + a.w·b3,
// in that order (k ascending, as a loop over k would sum). Each accumulator takes its four
// FMAs while in a register and is stored once per k-block: a tile of 8×16 accumulators per
// lane lives in memory, and written k by k (every accumulator updated for one k, then the
// next k) the loop stored each of them four times per k-block — on AVX2 those stores bound
// the loop (625 stores per 512 vector FMAs; 241 this way, 1.3× faster; bench/README.md).
fn fma4(acc: vec4f, a: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) -> vec4f {
  return fma(vec4f(a.w), b3, fma(vec4f(a.z), b2, fma(vec4f(a.y), b1, fma(vec4f(a.x), b0, acc))));
}

fn rowBlock(acc: Row, a: vec4f, bq: array<Row, 4>) -> Row {
  return Row(fma4(acc[0], a, bq[0][0], bq[1][0], bq[2][0], bq[3][0]),
             fma4(acc[1], a, bq[0][1], bq[1][1], bq[2][1], bq[3][1]),
             select(acc[2], fma4(acc[2], a, bq[0][2], bq[1][2], bq[2][2], bq[3][2]), TN4 > 2u),
             select(acc[3], fma4(acc[3], a, bq[0][3], bq[1][3], bq[2][3], bq[3][3]), TN4 > 3u));
}

fn kblock(acc: ptr<function, Tile>, av: ptr<function, ACol>, bq: array<Row, 4>) {
  (*acc)[0] = rowBlock((*acc)[0], (*av)[0], bq);
  if (TM > 1u) { (*acc)[1] = rowBlock((*acc)[1], (*av)[1], bq); }
  if (TM > 2u) {
    (*acc)[2] = rowBlock((*acc)[2], (*av)[2], bq);
    (*acc)[3] = rowBlock((*acc)[3], (*av)[3], bq);
  }
  if (TM > 4u) {
    (*acc)[4] = rowBlock((*acc)[4], (*av)[4], bq);
    (*acc)[5] = rowBlock((*acc)[5], (*av)[5], bq);
    (*acc)[6] = rowBlock((*acc)[6], (*av)[6], bq);
    (*acc)[7] = rowBlock((*acc)[7], (*av)[7], bq);
  }
  if (TM > 8u) {
    (*acc)[8] = rowBlock((*acc)[8], (*av)[8], bq);
    (*acc)[9] = rowBlock((*acc)[9], (*av)[9], bq);
    (*acc)[10] = rowBlock((*acc)[10], (*av)[10], bq);
    (*acc)[11] = rowBlock((*acc)[11], (*av)[11], bq);
    (*acc)[12] = rowBlock((*acc)[12], (*av)[12], bq);
    (*acc)[13] = rowBlock((*acc)[13], (*av)[13], bq);
    (*acc)[14] = rowBlock((*acc)[14], (*av)[14], bq);
    (*acc)[15] = rowBlock((*acc)[15], (*av)[15], bq);
  }
}

fn storeTile(acc: ptr<function, Tile>, cx: Ctx, baseC: u32, r0: u32, c0: u32) {
  storeRow(cx, baseC, r0, c0, (*acc)[0]);
  if (TM > 1u) { storeRow(cx, baseC, r0 + 1u, c0, (*acc)[1]); }
  if (TM > 2u) {
    storeRow(cx, baseC, r0 + 2u, c0, (*acc)[2]);
    storeRow(cx, baseC, r0 + 3u, c0, (*acc)[3]);
  }
  if (TM > 4u) {
    storeRow(cx, baseC, r0 + 4u, c0, (*acc)[4]);
    storeRow(cx, baseC, r0 + 5u, c0, (*acc)[5]);
    storeRow(cx, baseC, r0 + 6u, c0, (*acc)[6]);
    storeRow(cx, baseC, r0 + 7u, c0, (*acc)[7]);
  }
  if (TM > 8u) {
    storeRow(cx, baseC, r0 + 8u, c0, (*acc)[8]);
    storeRow(cx, baseC, r0 + 9u, c0, (*acc)[9]);
    storeRow(cx, baseC, r0 + 10u, c0, (*acc)[10]);
    storeRow(cx, baseC, r0 + 11u, c0, (*acc)[11]);
    storeRow(cx, baseC, r0 + 12u, c0, (*acc)[12]);
    storeRow(cx, baseC, r0 + 13u, c0, (*acc)[13]);
    storeRow(cx, baseC, r0 + 14u, c0, (*acc)[14]);
    storeRow(cx, baseC, r0 + 15u, c0, (*acc)[15]);
  }
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let cx = Ctx(p.M, p.N, p.K, p.lda, p.ldb, p.ldc, p.acc, p.hA, p.hB);
  let baseA = p.offA + wid.z * p.bsA;
  let baseB = p.offB + wid.z * p.bsB;
  let baseC = p.offC + wid.z * p.bsC;
  let steps = p.steps;
  let bx = select(wid.x, wid.y, ROWS_FIRST);
  let by = select(wid.y, wid.x, ROWS_FIRST);
  let r0 = (by * WY + lid.y) * TM;
  let c0 = (bx * WX + lid.x) * 4u * TN4;
  var acc: Tile;
  var av: ACol;
  for (var k = 0u; k < steps; k++) {
    av = loadA(cx, baseA, r0, k);
    let bv = loadB(cx, baseB, c0, k);
    kblock(&acc, &av, bv);
  }
  storeTile(&acc, cx, baseC, r0, c0);
}
