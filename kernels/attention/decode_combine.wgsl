// Second half of decode.wgsl: merge the per-split partial results of each
// (b, h) — running max m, sum l (log2 domain) and unnormalised output o — into
// out = Σ_s o_s 2^(m_s − M) / Σ_s l_s 2^(m_s − M), or 0 when no key was visible.
// Splits are merged in order, so the result is deterministic.
//
// Unrolled template (`$i` < D4 vec4s of the head; attention.ts unroll()).
// bindings: 0 params (the decode Params; lanes = B · Hq), 1 po [nsplit,B,Hq,D],
//           2 pml [nsplit,B,Hq] vec2 (m, l), 3 out [B,Hq,D].
// dispatch: ceil(B · Hq / WG) workgroups, folded by runtime.grid().

struct Params {
  B: u32, Hq: u32, Hkv: u32, maxT: u32,
  length: u32, chunk: u32, nsplit: u32, lanes: u32,
}

override WG: u32 = 8u;
override D4: u32 = 16u;
const NEG = -1e30;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> po: array<vec4f>;
@group(0) @binding(2) var<storage, read> pml: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let gc = min(g, p.lanes - 1u);  // gc = b · Hq + h
  var m = NEG;
  var l = 0.0;
  var o$i = vec4f(0.0);
  for (var s = 0u; s < p.nsplit; s++) {
    let r = s * p.B * p.Hq + gc;
    let ml = pml[r];
    let mx = max(m, ml.x);
    let c = exp2(m - mx);
    let cs = exp2(ml.x - mx);
    l = l * c + ml.y * cs;
    o$i = o$i * c + po[r * D4 + $iu] * cs;
    m = mx;
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  out[gc * D4 + $iu] = o$i * inv;  // idle lanes (g ≥ lanes) rewrite the last row's bits
}
