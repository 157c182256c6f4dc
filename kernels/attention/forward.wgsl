// Causal grouped-query attention, forward (training and prefill), flash-attention style.
//
//   out[b, t, h, :] = Σ_{s ≤ t, mask[b, s] ≠ 0} softmax_s(scale · q[b, t, h] · k[b, s, hk]) v[b, s, hk]
//   lse[b, t, h]    = log2 Σ_s exp2(scale · log2(e) · q·k)   (saved for the backward)
// with hk = h / (Hq / Hkv). A row whose every key is masked gets zeros (and lse = 0).
//
// Unrolled template (see unroll() in attention.ts): a line containing `$r` is repeated for
// r < ROWS, a line containing `$i` for i < D4 (= D / 4). Each invocation keeps ROWS query
// rows and their output accumulators in registers as D4 vec4s apiece and streams keys: on
// llvmpipe every storage load is a per-lane scalar loop (~55 cycles per vec4 for 8 lanes),
// so each loaded k/v vec4 must feed as many FMAs as possible (ROWS × 4), and only
// straight-line code keeps q/o in registers (private arrays indexed in loops spill to
// gathers and make LLVM compile for a minute).
//
// Invocation g = block · BH + bh (bh = b · Hq + h fastest, so the lanes of a workgroup share
// a query block and stop at nearly the same key); it owns rows block·ROWS … +ROWS−1 and
// runs an online softmax over keys 0 … min(T, last row + 1) − 1, one key at a time.
// Rows past T (the last block) and idle lanes past `lanes` are clamped onto the last real row
// and redo its work exactly, so every store is unconditional: they write the same bits to the
// same place (guarded stores cost llvmpipe a branchy per-lane loop each, and compile time).
//
// bindings: 0 params, 1 q [B,T,Hq,D], 2 k [B,T,Hkv,D], 3 v [B,T,Hkv,D],
//           4 mask [B,T] (f32/i32 bits, nonzero = keep; a 1-element dummy when hasMask = 0),
//           5 out [B,T,Hq,D], 6 lse [B,T,Hq] (log2 domain).
// dispatch: ceil(ceil(T / ROWS) · B · Hq / WG) workgroups, folded by runtime.grid().

struct Params {
  B: u32, T: u32, Hq: u32, Hkv: u32,
  scale2: f32,   // scale · log2(e): scores live in the log2 domain so exp2 does the work
  hasMask: u32,
  lanes: u32,    // ceil(T / ROWS) · B · Hq invocations that do work
  _p0: u32,
}

override WG: u32 = 8u;
override ROWS: u32 = 8u;
override D4: u32 = 16u;
const NEG = -1e30;  // "minus infinity" that stays finite through max/subtract

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let gc = min(g, p.lanes - 1u);
  let BH = p.B * p.Hq;
  let bh = gc % BH;
  let row0 = (gc / BH) * ROWS;
  let h = bh % p.Hq;
  let b = bh / p.Hq;
  let hk = h / (p.Hq / p.Hkv);
  let keyEnd = min(p.T, row0 + ROWS);

  let t$r = min(row0 + $ru, p.T - 1u); let qo$r = ((b * p.T + t$r) * p.Hq + h) * D4;
  let q$r_$i = q[qo$r + $iu] * p.scale2; var o$r_$i = vec4f(0.0);
  var m$r = NEG; var l$r = 0.0;

  for (var j = 0u; j < keyEnd; j++) {
    let kb = ((b * p.T + j) * p.Hkv + hk) * D4;
    let keep = p.hasMask == 0u || (mask[select(0u, b * p.T + j, p.hasMask != 0u)] & 0x7fffffffu) != 0u;
    let k$i = k[kb + $iu];
    var s$r = 0.0;
    s$r += dot(q$r_$i, k$i);
    let ok$r = keep && j <= t$r; let sm$r = select(NEG, s$r, ok$r); let mx$r = max(m$r, sm$r);
    let c$r = exp2(m$r - mx$r); let e$r = select(0.0, exp2(sm$r - mx$r), ok$r); m$r = mx$r; l$r = l$r * c$r + e$r;
    let v$i = v[kb + $iu];
    o$r_$i = o$r_$i * c$r + e$r * v$i;
  }

  let inv$r = select(0.0, 1.0 / l$r, l$r > 0.0);
  out[qo$r + $iu] = o$r_$i * inv$r;
  lse[(b * p.T + t$r) * p.Hq + h] = select(0.0, m$r + log2(l$r), l$r > 0.0);
}
