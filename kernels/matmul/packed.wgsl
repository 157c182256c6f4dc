// Loaders for core.wgsl that read x from a texture copied per call and a weight W [N, K]
// (used as Wᵀ) from a texture packed once (packed.ts): the small-M path
// (decode, 1–8 rows), where re-copying the weight on every call (texture.ts) costs
// more than the product itself. Textures because llvmpipe compiles a storage-texture load
// to branch-free vector code and a storage-buffer load to a loop over the SIMD lanes
// (texture.wgsl's header says more).
//
// Layouts (rgba32float 2-D arrays, a texel = 4 consecutive floats of a stored row):
//   A: [M, K]          → texel (k4, m) of layer 0 = x[m, 4k4 .. 4k4+3]
//   B: [N, K] (packed) → texel (k4 mod 2^P_LOG, n - n0) of layer cx.ldb·… see below
//                        = W[n, 4k4 .. 4k4+3]
// W is cut into row chunks (N > maxTextureDimension2D) and K panels of 2^P_LOG texels, one
// layer each: chunk j, panel i is layer j·panels + i. A dispatch covers one chunk: baseB is
// its first layer, cx.ldb = 1 the layer step between panels, cx.N the chunk's rows, and C
// offsets / ldc (vec4s) place its columns in the full [M, N] output. Short panels make a
// workgroup read short texture rows and few pages (the same reason as in texture.wgsl).
// Rows ≥ M read whatever the texture holds and are never stored; K % 4 = 0 on this path.
// Bindings: 1 A texture, 2 B texture (read-only), 3 C (vec4 storage, written).
// Dispatch: (ceil(Nchunk / 128), ceil(M / TM), 1), TM = 1, 2, 4 or 8.

@group(0) @binding(1) var ta: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(2) var tb: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;

override P_LOG: u32 = 6u; // log2 texels per K panel of W (the launcher picks one dividing K/4)

fn loadA(cx: Ctx, baseA: u32, r0: u32, k: u32) -> ACol {
  var av: ACol;
  av[0] = textureLoad(ta, vec2u(k, r0), baseA);
  if (TM > 1u) { av[1] = textureLoad(ta, vec2u(k, r0 + 1u), baseA); }
  if (TM > 2u) {
    av[2] = textureLoad(ta, vec2u(k, r0 + 2u), baseA);
    av[3] = textureLoad(ta, vec2u(k, r0 + 3u), baseA);
  }
  if (TM > 4u) {
    av[4] = textureLoad(ta, vec2u(k, r0 + 4u), baseA);
    av[5] = textureLoad(ta, vec2u(k, r0 + 5u), baseA);
    av[6] = textureLoad(ta, vec2u(k, r0 + 6u), baseA);
    av[7] = textureLoad(ta, vec2u(k, r0 + 7u), baseA);
  }
  return av;
}

fn t4(t0: vec4f, t1: vec4f, t2: vec4f, t3: vec4f) -> array<vec4f, 4> {
  return array<vec4f, 4>(vec4f(t0.x, t1.x, t2.x, t3.x), vec4f(t0.y, t1.y, t2.y, t3.y),
                         vec4f(t0.z, t1.z, t2.z, t3.z), vec4f(t0.w, t1.w, t2.w, t3.w));
}

// Wᵀ[4k .. 4k+3, n .. n+3] (rows kk = 0..3) from the packed panels.
fn blockW(cx: Ctx, baseB: u32, n: u32, k: u32) -> array<vec4f, 4> {
  let x = k & ((1u << P_LOG) - 1u);
  let layer = baseB + (k >> P_LOG) * cx.ldb;
  return t4(textureLoad(tb, vec2u(x, n), layer), textureLoad(tb, vec2u(x, n + 1u), layer),
            textureLoad(tb, vec2u(x, n + 2u), layer), textureLoad(tb, vec2u(x, n + 3u), layer));
}

fn loadB(cx: Ctx, baseB: u32, c0: u32, k: u32) -> array<Row, 4> {
  let q0 = blockW(cx, baseB, c0, k);
  let q1 = blockW(cx, baseB, c0 + 4u, k);
  let q2 = blockW(cx, baseB, c0 + 8u, k);
  let q3 = blockW(cx, baseB, c0 + 12u, k);
  return array<Row, 4>(Row(q0[0], q1[0], q2[0], q3[0]), Row(q0[1], q1[1], q2[1], q3[1]),
                       Row(q0[2], q1[2], q2[2], q3[2]), Row(q0[3], q1[3], q2[3], q3[3]));
}

fn storeRow(cx: Ctx, baseC: u32, m: u32, c0: u32, v: Row) {
  if (m >= cx.M) { return; }
  let r = baseC + m * cx.ldc + c0 / 4u;
  let n4 = cx.N / 4u;
  // Constant indices: a loop over v[j] stays a loop on llvmpipe, with v in memory.
  let c4 = c0 / 4u;
  if (c4 < n4) { c[r] = v[0]; }
  if (c4 + 1u < n4) { c[r + 1u] = v[1]; }
  if (c4 + 2u < n4) { c[r + 2u] = v[2]; }
  if (c4 + 3u < n4) { c[r + 3u] = v[3]; }
}
