// Single-token attention against a KV cache, split over the key range (flash-decoding).
//
// Invocation g = split · (B · HG) + b · HG + hg handles query heads hg·ROWS … +ROWS−1
//   (HG = Hq / ROWS; all share kv head hk = hg · ROWS / (Hq / Hkv), so every k/v vector it
//   loads feeds ROWS heads) over keys [split · chunk, min(split · chunk + chunk, length)),
//   and writes that split's unnormalised output, running max and sum (log2 domain).
//   A key j is used when mask[b · maskStride + j] ≠ 0 (if hasMask) and j < lens[b] (if
//   hasLens).
// decode_combine.wgsl then merges the splits.
//
// Unrolled template (`$r` < ROWS heads, `$i` < D4 vec4s of the head; attention.ts unroll()).
// bindings: 0 params, 1 q [B,Hq,D], 2 kc [B,Hkv,maxT,D], 3 vc [B,Hkv,maxT,D],
//   4 mask [B, maskStride] (bits; dummy), 5 lens [B] (i32; dummy), 6 po [nsplit,B,Hq,D] (out),
//   7 pml [nsplit,B,Hq] vec2 (m, l) (out).
// dispatch: ceil(nsplit · B · HG / WG) workgroups, folded by runtime.grid().

struct Params {
  B: u32, Hq: u32, Hkv: u32, maxT: u32,
  length: u32,   // keys 0 … length−1 of the cache are filled
  chunk: u32,    // keys per split
  nsplit: u32,
  lanes: u32,    // invocations with work (partial: nsplit · B · HG; combine: B · Hq)
  scale2: f32,   // scale · log2(e)
  hasMask: u32,
  maskStride: u32,
  hasLens: u32,
}

override WG: u32 = 8u;
override ROWS: u32 = 1u;
override D4: u32 = 16u;
const NEG = -1e30;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> kc: array<vec4f>;
@group(0) @binding(3) var<storage, read> vc: array<vec4f>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> lens: array<i32>;
@group(0) @binding(6) var<storage, read_write> po: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> pml: array<vec2f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let gc = min(g, p.lanes - 1u);
  let HG = p.Hq / ROWS;
  let bg = gc % (p.B * HG);
  let split = gc / (p.B * HG);
  let hg = bg % HG;
  let b = bg / HG;
  let hk = hg * ROWS / (p.Hq / p.Hkv);
  let j0 = split * p.chunk;
  var j1 = min(j0 + p.chunk, p.length);
  if (p.hasLens != 0u) { j1 = min(j1, u32(max(lens[b], 0))); }

  let qo$r = (b * p.Hq + hg * ROWS + $ru) * D4;
  let q$r_$i = q[qo$r + $iu] * p.scale2; var o$r_$i = vec4f(0.0);
  var m$r = NEG; var l$r = 0.0;

  for (var j = j0; j < j1; j++) {
    let kb = ((b * p.Hkv + hk) * p.maxT + j) * D4;
    let keep = p.hasMask == 0u || (mask[select(0u, b * p.maskStride + j, p.hasMask != 0u)] & 0x7fffffffu) != 0u;
    let k$i = kc[kb + $iu];
    var s$r = 0.0;
    s$r += dot(q$r_$i, k$i);
    let sm$r = select(NEG, s$r, keep); let mx$r = max(m$r, sm$r);
    let c$r = exp2(m$r - mx$r); let e$r = select(0.0, exp2(sm$r - mx$r), keep); m$r = mx$r; l$r = l$r * c$r + e$r;
    let v$i = vc[kb + $iu];
    o$r_$i = o$r_$i * c$r + e$r * v$i;
  }

  let ro$r = (split * p.B + b) * p.Hq + hg * ROWS + $ru;
  po[ro$r * D4 + $iu] = o$r_$i;  // idle lanes redo the last lane's work: same bits
  pml[ro$r] = vec2f(m$r, l$r);
}
