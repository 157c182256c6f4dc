// Loaders for core.wgsl that read A and B from rgba32float 2-D array storage textures: the
// fast path on CPU adapters (texture.ts copies the operands in with
// copyBufferToTexture, then dispatches this; bench/README.md has the numbers).
//
// Why textures: llvmpipe turns a storage-buffer load into a loop over the 8 SIMD lanes with a
// bounds check and a branch per component (≈ 45 instructions per lane for a vec4), while a
// storage-texture load is branch-free vector code: the 8 texel addresses computed as one
// vector, eight 16-byte loads and a 4×4 transpose (≈ 45 instructions for all 8 lanes).
//
// A texel holds 4 consecutive floats of a stored row; each texture is the operand window as
// stored (row length a multiple of 4 floats), one matrix per layer:
//   A:          [M, K] → texel (k4, m)  = op(A)[m, 4k4 .. 4k4+3]
//   A, TRANS_A: [K, M] → texel (m4 mod 16, k) of layer base + (m4 / 16)·cx.lda
//                        = op(A)[4m4 .. 4m4+3, k]
//   B:          [K, N] → texel (n4 mod P, k) of layer base + (n4 / P)·cx.ldb, P = 8·TN4
//                        = op(B)[k, 4n4 .. 4n4+3]
//   B, TRANS_B: [N, K] → texel (k4 mod 64, n) of layer base + (k4 / 64)·cx.ldb
//                        = op(B)[4k4 .. 4k4+3, n]
// All but plain A are cut into panels (64 floats of M, 32·TN4 of N, 256 of K), one layer
// each, `cx.lda` / `cx.ldb` layers apart (batches fill the layers in between): a workgroup
// then reads short texture rows and few pages, instead of a few texels from each of hundreds
// of long rows (a 128-column panel of B made 1024³ 10 % and 896×2048×4864 70 % faster).
// Stored rows whose length is not a multiple of 64 floats (a hidden size of 96) cannot be
// copied as they are (copyBufferToTexture wants 256-byte row pitches); 2^SPLIT_A rows
// together can, so texture.ts copies every 2^SPLIT_A-th row into its own band of cx.hA
// texture rows: stored row j lives at texture row (j mod 2^SPLIT_A)·hA + j / 2^SPLIT_A
// (likewise B). SPLIT_A = 0 is the plain layout.
// In this variant baseA / baseB are layers (batch z → layer z, or 0 when broadcast) and
// cx.lda / cx.ldb the panels' layer strides; C offsets and ldc are in vec4s.
// Rows ≥ M and columns ≥ N read whatever the texture holds there and are never stored; every
// k < 4·steps is real data (K % 4 = 0 on this path).
// Bindings: 1 A texture, 2 B texture (read-only), 3 C (vec4 storage; read when p.acc = 1).
// Dispatch: (ceil(M / TM), ceil(N / (32·TN4)), batches) with ROWS_FIRST, TM = 4, 8 or 16 (8
// used), TN4 = 4, 3 or 2 vec4 columns per invocation (texture.ts picks the least waste).

@group(0) @binding(1) var ta: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(2) var tb: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

override SPLIT_A: u32 = 0u; // log2 stored rows of A per band-interleaved copy (see above)
override SPLIT_B: u32 = 0u;

// The texture row of stored row j of A / of B.
fn ya(cx: Ctx, j: u32) -> u32 { return (j & ((1u << SPLIT_A) - 1u)) * cx.hA + (j >> SPLIT_A); }
fn yb(cx: Ctx, j: u32) -> u32 { return (j & ((1u << SPLIT_B) - 1u)) * cx.hB + (j >> SPLIT_B); }

const A_PANEL: u32 = 4u;   // log2 texels per TRANS_A panel
const B_PANEL: u32 = 6u;   // log2 texels per TRANS_B panel
// Texels per panel of plain B: one workgroup's columns (8 invocations × TN4 texels; 128
// columns with TN4 = 4), so that no invocation's texels straddle two layers.
override B_PANEL_TEXELS: u32 = 32u;

fn t4(t0: vec4f, t1: vec4f, t2: vec4f, t3: vec4f) -> array<vec4f, 4> {
  return array<vec4f, 4>(vec4f(t0.x, t1.x, t2.x, t3.x), vec4f(t0.y, t1.y, t2.y, t3.y),
                         vec4f(t0.z, t1.z, t2.z, t3.z), vec4f(t0.w, t1.w, t2.w, t3.w));
}

// op(A)[m4*4 .. m4*4+3, 4k .. 4k+3] from the TRANS_A layout (one texel per k), transposed.
fn blockAT(cx: Ctx, baseA: u32, m4: u32, k: u32) -> array<vec4f, 4> {
  let x = m4 & ((1u << A_PANEL) - 1u);
  let layer = baseA + (m4 >> A_PANEL) * cx.lda;
  let y = 4u * k;
  return t4(textureLoad(ta, vec2u(x, ya(cx, y)), layer),
            textureLoad(ta, vec2u(x, ya(cx, y + 1u)), layer),
            textureLoad(ta, vec2u(x, ya(cx, y + 2u)), layer),
            textureLoad(ta, vec2u(x, ya(cx, y + 3u)), layer));
}

fn loadA(cx: Ctx, baseA: u32, r0: u32, k: u32) -> ACol {
  var av: ACol;
  if (TRANS_A) {
    let q0 = blockAT(cx, baseA, r0 / 4u, k);
    av[0] = q0[0]; av[1] = q0[1]; av[2] = q0[2]; av[3] = q0[3];
    if (TM > 4u) {
      let q1 = blockAT(cx, baseA, r0 / 4u + 1u, k);
      av[4] = q1[0]; av[5] = q1[1]; av[6] = q1[2]; av[7] = q1[3];
    }
    if (TM > 8u) {
      let q2 = blockAT(cx, baseA, r0 / 4u + 2u, k);
      av[8] = q2[0]; av[9] = q2[1]; av[10] = q2[2]; av[11] = q2[3];
      let q3 = blockAT(cx, baseA, r0 / 4u + 3u, k);
      av[12] = q3[0]; av[13] = q3[1]; av[14] = q3[2]; av[15] = q3[3];
    }
  } else {
    av[0] = textureLoad(ta, vec2u(k, ya(cx, r0)), baseA);
    av[1] = textureLoad(ta, vec2u(k, ya(cx, r0 + 1u)), baseA);
    av[2] = textureLoad(ta, vec2u(k, ya(cx, r0 + 2u)), baseA);
    av[3] = textureLoad(ta, vec2u(k, ya(cx, r0 + 3u)), baseA);
    if (TM > 4u) {
      av[4] = textureLoad(ta, vec2u(k, ya(cx, r0 + 4u)), baseA);
      av[5] = textureLoad(ta, vec2u(k, ya(cx, r0 + 5u)), baseA);
      av[6] = textureLoad(ta, vec2u(k, ya(cx, r0 + 6u)), baseA);
      av[7] = textureLoad(ta, vec2u(k, ya(cx, r0 + 7u)), baseA);
    }
    if (TM > 8u) {
      av[8] = textureLoad(ta, vec2u(k, ya(cx, r0 + 8u)), baseA);
      av[9] = textureLoad(ta, vec2u(k, ya(cx, r0 + 9u)), baseA);
      av[10] = textureLoad(ta, vec2u(k, ya(cx, r0 + 10u)), baseA);
      av[11] = textureLoad(ta, vec2u(k, ya(cx, r0 + 11u)), baseA);
      av[12] = textureLoad(ta, vec2u(k, ya(cx, r0 + 12u)), baseA);
      av[13] = textureLoad(ta, vec2u(k, ya(cx, r0 + 13u)), baseA);
      av[14] = textureLoad(ta, vec2u(k, ya(cx, r0 + 14u)), baseA);
      av[15] = textureLoad(ta, vec2u(k, ya(cx, r0 + 15u)), baseA);
    }
  }
  return av;
}

// op(B)[kq, c4*4 .. c4*4+15] from the plain layout (layer: the panel of c4; texels past
// TN4 are never used and fold away).
fn rowB(cx: Ctx, layer: u32, c4: u32, kq: u32) -> Row {
  let x = c4 % B_PANEL_TEXELS;
  let y = yb(cx, kq);
  return Row(textureLoad(tb, vec2u(x, y), layer), textureLoad(tb, vec2u(x + 1u, y), layer),
             textureLoad(tb, vec2u(x + 2u, y), layer), textureLoad(tb, vec2u(x + 3u, y), layer));
}

// Columns n .. n+3 of op(B) at k-block k from the TRANS_B layout, as rows kk = 0..3.
fn blockBT(cx: Ctx, baseB: u32, n: u32, k: u32) -> array<vec4f, 4> {
  let x = k & ((1u << B_PANEL) - 1u);
  let layer = baseB + (k >> B_PANEL) * cx.ldb;
  return t4(textureLoad(tb, vec2u(x, yb(cx, n)), layer),
            textureLoad(tb, vec2u(x, yb(cx, n + 1u)), layer),
            textureLoad(tb, vec2u(x, yb(cx, n + 2u)), layer),
            textureLoad(tb, vec2u(x, yb(cx, n + 3u)), layer));
}

fn loadB(cx: Ctx, baseB: u32, c0: u32, k: u32) -> array<Row, 4> {
  if (TRANS_B) {
    let q0 = blockBT(cx, baseB, c0, k);
    let q1 = blockBT(cx, baseB, c0 + 4u, k);
    let q2 = blockBT(cx, baseB, c0 + 8u, k);
    let q3 = blockBT(cx, baseB, c0 + 12u, k);
    return array<Row, 4>(Row(q0[0], q1[0], q2[0], q3[0]), Row(q0[1], q1[1], q2[1], q3[1]),
                         Row(q0[2], q1[2], q2[2], q3[2]), Row(q0[3], q1[3], q2[3], q3[3]));
  }
  let c4 = c0 / 4u;
  let layer = baseB + (c4 / B_PANEL_TEXELS) * cx.ldb;
  return array<Row, 4>(rowB(cx, layer, c4, 4u * k), rowB(cx, layer, c4, 4u * k + 1u),
                       rowB(cx, layer, c4, 4u * k + 2u), rowB(cx, layer, c4, 4u * k + 3u));
}

fn storeVec(cx: Ctx, i: u32, v: vec4f) {
  var x = v;
  if (cx.acc != 0u) { x += c[i]; }
  c[i] = x;
}

fn storeRow(cx: Ctx, baseC: u32, m: u32, c0: u32, v: Row) {
  if (m >= cx.M) { return; }
  let r = baseC + m * cx.ldc + c0 / 4u;
  let n4 = cx.N / 4u;
  // Spelled out with constant indices: a WGSL loop here stays a loop on llvmpipe, and v[j]
  // with a loop index then goes through memory (≈ 25 % of a K = 96 product's time).
  let c4 = c0 / 4u;
  if (c4 < n4) { storeVec(cx, r, v[0]); }
  if (c4 + 1u < n4) { storeVec(cx, r + 1u, v[1]); }
  if (TN4 > 2u && c4 + 2u < n4) { storeVec(cx, r + 2u, v[2]); }
  if (TN4 > 3u && c4 + 3u < n4) { storeVec(cx, r + 3u, v[3]); }
}
