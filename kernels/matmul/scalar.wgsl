// Loaders for core.wgsl over f32 storage arrays: the general path for ragged shapes
// (K, N or — with TRANS_A — M not a multiple of 4). Offsets and strides in floats.
// Out-of-range rows/columns are clamped on load and discarded on store; k ≥ K reads as 0
// so the tail of the last k-block adds nothing.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// op(A)[m, kq], or 0 past K.
fn elemA(cx: Ctx, baseA: u32, m: u32, kq: u32) -> f32 {
  let mm = min(m, cx.M - 1u);
  let kc = min(kq, cx.K - 1u);
  var i = baseA + mm * cx.lda + kc;
  if (TRANS_A) { i = baseA + kc * cx.lda + mm; }
  return select(0.0, a[i], kq < cx.K);
}

// op(B)[kq, n], or 0 past K.
fn elemB(cx: Ctx, baseB: u32, kq: u32, n: u32) -> f32 {
  let nn = min(n, cx.N - 1u);
  let kc = min(kq, cx.K - 1u);
  var i = baseB + kc * cx.ldb + nn;
  if (TRANS_B) { i = baseB + nn * cx.ldb + kc; }
  return select(0.0, b[i], kq < cx.K);
}

fn rowA(cx: Ctx, baseA: u32, m: u32, k: u32) -> vec4f {
  return vec4f(elemA(cx, baseA, m, 4u * k), elemA(cx, baseA, m, 4u * k + 1u),
               elemA(cx, baseA, m, 4u * k + 2u), elemA(cx, baseA, m, 4u * k + 3u));
}

fn loadA(cx: Ctx, baseA: u32, r0: u32, k: u32) -> ACol {
  var av: ACol;
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
  return av;
}

fn quadB(cx: Ctx, baseB: u32, kq: u32, n: u32) -> vec4f {
  return vec4f(elemB(cx, baseB, kq, n), elemB(cx, baseB, kq, n + 1u),
               elemB(cx, baseB, kq, n + 2u), elemB(cx, baseB, kq, n + 3u));
}

fn rowB(cx: Ctx, baseB: u32, c0: u32, kq: u32) -> Row {
  return Row(quadB(cx, baseB, kq, c0), quadB(cx, baseB, kq, c0 + 4u),
             quadB(cx, baseB, kq, c0 + 8u), quadB(cx, baseB, kq, c0 + 12u));
}

fn loadB(cx: Ctx, baseB: u32, c0: u32, k: u32) -> array<Row, 4> {
  return array<Row, 4>(rowB(cx, baseB, c0, 4u * k), rowB(cx, baseB, c0, 4u * k + 1u),
                       rowB(cx, baseB, c0, 4u * k + 2u), rowB(cx, baseB, c0, 4u * k + 3u));
}

fn storeF(cx: Ctx, r: u32, n: u32, v: f32) {
  if (n < cx.N) {
    var x = v;
    if (cx.acc != 0u) { x += c[r + n]; }
    c[r + n] = x;
  }
}

fn storeQuad(cx: Ctx, r: u32, n: u32, v: vec4f) {
  storeF(cx, r, n, v.x);
  storeF(cx, r, n + 1u, v.y);
  storeF(cx, r, n + 2u, v.z);
  storeF(cx, r, n + 3u, v.w);
}

fn storeRow(cx: Ctx, baseC: u32, m: u32, c0: u32, v: Row) {
  if (m >= cx.M) { return; }
  let r = baseC + m * cx.ldc;
  // Spelled out with constant indices (a loop with v[j / 4][j % 4] goes through memory).
  storeQuad(cx, r, c0, v[0]);
  storeQuad(cx, r, c0 + 4u, v[1]);
  storeQuad(cx, r, c0 + 8u, v[2]);
  storeQuad(cx, r, c0 + 12u, v[3]);
}
