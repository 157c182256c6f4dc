// Attention backward, part 1: dq, and (lse_i, D_i = rowsum(dO ⊙ O)) for part 2
// (attention_bwd_dkv), packed so that part 2 fetches both with one load.
//
// Flash-attention-2 style: P is recomputed from q, k and the forward's logsumexp, never stored.
//   p_ij  = exp2(scale2 · q_i·k_j − lse_i)       (0 for masked / future keys)
//   ds_ij = p_ij · (dO_i·v_j − D_i)
//   dq_i  = scale · Σ_j ds_ij k_j
//
// Unrolled template (`$r` < ROWS query rows, `$i` < D4 vec4s of the head; see attention.ts
// unroll()). Invocations map to rows exactly as in the forward (forward.wgsl, including
// the clamping that makes every store unconditional): each keeps its rows' q, dO and dq in
// registers and streams k and v once.
//
// bindings: 0 params, 1 q [B,T,Hq,D], 2 k [B,T,Hkv,D], 3 v [B,T,Hkv,D], 4 mask [B,T] (bits;
//           dummy when hasMask = 0), 5 o (forward output) [B,T,Hq,D], 6 dO [B,T,Hq,D],
//           7 lse [B,T,Hq], 8 dq [B,T,Hq,D] (out), 9 ld [B,T,Hq] vec2 (lse, D) (out).
// dispatch: ceil(ceil(T / ROWS) · B · Hq / WG) workgroups, folded by runtime.grid().

struct Params {
  B: u32, T: u32, Hq: u32, Hkv: u32,
  scale2: f32,  // scale · log2(e)
  hasMask: u32,
  lanes: u32,
  scale: f32,
}

override WG: u32 = 8u;
override ROWS: u32 = 4u;
override D4: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> o: array<vec4f>;
@group(0) @binding(6) var<storage, read> dout: array<vec4f>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> ld: array<vec2f>;

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
  let q$r_$i = q[qo$r + $iu] * p.scale2; let do$r_$i = dout[qo$r + $iu]; var dq$r_$i = vec4f(0.0);
  var di$r = 0.0;
  di$r += dot(do$r_$i, o[qo$r + $iu]);
  let lse$r = lse[(b * p.T + t$r) * p.Hq + h];

  for (var j = 0u; j < keyEnd; j++) {
    let kb = ((b * p.T + j) * p.Hkv + hk) * D4;
    let keep = p.hasMask == 0u || (mask[select(0u, b * p.T + j, p.hasMask != 0u)] & 0x7fffffffu) != 0u;
    let k$i = k[kb + $iu];
    let v$i = v[kb + $iu];
    var s$r = 0.0; var dp$r = 0.0;
    s$r += dot(q$r_$i, k$i); dp$r += dot(do$r_$i, v$i);
    let ds$r = select(0.0, exp2(s$r - lse$r) * (dp$r - di$r), keep && j <= t$r);
    dq$r_$i += ds$r * k$i;
  }

  dq[qo$r + $iu] = dq$r_$i * p.scale;
  ld[(b * p.T + t$r) * p.Hq + h] = vec2f(lse$r, di$r);
}
