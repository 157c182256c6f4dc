// Attention backward, part 2: dk and dv, summed over the query heads that share a kv head
// (GQA) inside one invocation, so the reduction order is fixed and no atomics are needed.
//
//   p_ij  = exp2(scale2 · q_i·k_j − lse_i)   (0 unless i ≥ j and key j is not padding)
//   dv_j  = Σ_h Σ_i p_ij dO_i
//   dk_j  = scale · Σ_h Σ_i p_ij (dO_i·v_j − D_i) q_i
// with (lse_i, D_i = rowsum(dO_i ⊙ O_i)) packed by backward_dq.wgsl, which runs first.
//
// Unrolled template (`$r` < ROWS key rows, `$i` < D4 vec4s of the head; see attention.ts
// unroll()). Invocation g = block · B·Hkv + (b · Hkv + hk) owns keys block·ROWS … +ROWS−1 of
// kv head hk, keeps their k, v, dk, dv in registers and streams the group's query rows
// i ≥ first key (q, dO and the packed lse, D). Keys past T and idle lanes are clamped onto
// the last real key and redo its work, so stores need no guard (as in forward.wgsl).
//
// bindings: 0 params, 1 q [B,T,Hq,D], 2 k [B,T,Hkv,D], 3 v [B,T,Hkv,D], 4 mask [B,T] (bits;
//           dummy when hasMask = 0), 5 dO [B,T,Hq,D], 6 ld [B,T,Hq] vec2 (lse, D),
//           7 dk [B,T,Hkv,D] (out), 8 dv [B,T,Hkv,D] (out).
// dispatch: ceil(ceil(T / ROWS) · B · Hkv / WG) workgroups, folded by runtime.grid().

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
@group(0) @binding(5) var<storage, read> dout: array<vec4f>;
@group(0) @binding(6) var<storage, read> ld: array<vec2f>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let gc = min(g, p.lanes - 1u);
  let BK = p.B * p.Hkv;
  let bk = gc % BK;
  let key0 = (gc / BK) * ROWS;
  let hk = bk % p.Hkv;
  let b = bk / p.Hkv;
  let group = p.Hq / p.Hkv;

  let s$r = min(key0 + $ru, p.T - 1u); let ko$r = ((b * p.T + s$r) * p.Hkv + hk) * D4;
  let kk$r = (p.hasMask == 0u || (mask[select(0u, b * p.T + s$r, p.hasMask != 0u)] & 0x7fffffffu) != 0u);
  let k$r_$i = k[ko$r + $iu] * p.scale2; let v$r_$i = v[ko$r + $iu];
  var dk$r_$i = vec4f(0.0); var dv$r_$i = vec4f(0.0);

  for (var hh = 0u; hh < group; hh++) {
    let h = hk * group + hh;
    for (var i = key0; i < p.T; i++) {
      let ro = (b * p.T + i) * p.Hq + h;
      let qo = ro * D4;
      let q$i = q[qo + $iu];
      let do$i = dout[qo + $iu];
      let lsed = ld[ro];
      var sc$r = 0.0; var dp$r = 0.0;
      sc$r += dot(q$i, k$r_$i); dp$r += dot(do$i, v$r_$i);
      let pr$r = select(0.0, exp2(sc$r - lsed.x), kk$r && s$r <= i);
      let ds$r = pr$r * (dp$r - lsed.y);
      dv$r_$i += pr$r * do$i;
      dk$r_$i += ds$r * q$i;
    }
  }

  dk[ko$r + $iu] = dk$r_$i * p.scale;
  dv[ko$r + $iu] = dv$r_$i;
}
