// Loaders for core.wgsl over vec4 storage arrays: the fast path, used when every row that
// is read with vec4 loads is a multiple of 4 floats (K % 4 = 0, N % 4 = 0, and M % 4 = 0
// when TRANS_A) and every window offset is a multiple of 4. Offsets/strides in vec4 units.
// Out-of-range rows/columns are clamped on load (valid memory, discarded on store).

@group(0) @binding(1) var<storage, read> a: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

// op(A)[m4*4 .. m4*4+3, 4k .. 4k+3] from A stored [K, M], transposed into four k-vectors.
fn blockAT(cx: Ctx, baseA: u32, m4: u32, k: u32) -> array<vec4f, 4> {
  let col = baseA + min(m4, cx.M / 4u - 1u);
  let t0 = a[col + (4u * k) * cx.lda];
  let t1 = a[col + (4u * k + 1u) * cx.lda];
  let t2 = a[col + (4u * k + 2u) * cx.lda];
  let t3 = a[col + (4u * k + 3u) * cx.lda];
  return array<vec4f, 4>(vec4f(t0.x, t1.x, t2.x, t3.x), vec4f(t0.y, t1.y, t2.y, t3.y),
                         vec4f(t0.z, t1.z, t2.z, t3.z), vec4f(t0.w, t1.w, t2.w, t3.w));
}

fn rowA(cx: Ctx, baseA: u32, m: u32, k: u32) -> vec4f {
  return a[baseA + min(m, cx.M - 1u) * cx.lda + k];
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
    av[0] = rowA(cx, baseA, r0, k);
    if (TM > 1u) { av[1] = rowA(cx, baseA, r0 + 1u, k); }
    if (TM > 2u) {
      av[2] = rowA(cx, baseA, r0 + 2u, k);
      av[3] = rowA(cx, baseA, r0 + 3u, k);
    }
    if (TM > 4u) {
      av[4] = rowA(cx, baseA, r0 + 4u, k);
      av[5] = rowA(cx, baseA, r0 + 5u, k);
      av[6] = rowA(cx, baseA, r0 + 6u, k);
      av[7] = rowA(cx, baseA, r0 + 7u, k);
    }
    if (TM > 8u) {
      av[8] = rowA(cx, baseA, r0 + 8u, k);
      av[9] = rowA(cx, baseA, r0 + 9u, k);
      av[10] = rowA(cx, baseA, r0 + 10u, k);
      av[11] = rowA(cx, baseA, r0 + 11u, k);
      av[12] = rowA(cx, baseA, r0 + 12u, k);
      av[13] = rowA(cx, baseA, r0 + 13u, k);
      av[14] = rowA(cx, baseA, r0 + 14u, k);
      av[15] = rowA(cx, baseA, r0 + 15u, k);
    }
  }
  return av;
}

// op(B)[4k + kk, c0 .. c0+15] for kk = 0..3 from B stored [K, N] (4 loads per row).
fn rowB(cx: Ctx, baseB: u32, c4: u32, kq: u32) -> Row {
  let r = baseB + kq * cx.ldb;
  let last = cx.N / 4u - 1u;
  return Row(b[r + min(c4, last)], b[r + min(c4 + 1u, last)], b[r + min(c4 + 2u, last)],
             b[r + min(c4 + 3u, last)]);
}

// Four columns n4*4 .. n4*4+3 of B stored [N, K] at k-block k, as rows kk = 0..3.
fn blockBT(cx: Ctx, baseB: u32, n: u32, k: u32) -> array<vec4f, 4> {
  let last = cx.N - 1u;
  let t0 = b[baseB + min(n, last) * cx.ldb + k];
  let t1 = b[baseB + min(n + 1u, last) * cx.ldb + k];
  let t2 = b[baseB + min(n + 2u, last) * cx.ldb + k];
  let t3 = b[baseB + min(n + 3u, last) * cx.ldb + k];
  return array<vec4f, 4>(vec4f(t0.x, t1.x, t2.x, t3.x), vec4f(t0.y, t1.y, t2.y, t3.y),
                         vec4f(t0.z, t1.z, t2.z, t3.z), vec4f(t0.w, t1.w, t2.w, t3.w));
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
  return array<Row, 4>(rowB(cx, baseB, c4, 4u * k), rowB(cx, baseB, c4, 4u * k + 1u),
                       rowB(cx, baseB, c4, 4u * k + 2u), rowB(cx, baseB, c4, 4u * k + 3u));
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
