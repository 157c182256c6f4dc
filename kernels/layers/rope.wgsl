// Rotary position embedding, Hugging Face "rotate half" convention, for q and k at once:
//   a = f32(pos[t]) · inv_freq[i]                       (i < half = D/2, f32 product as HF)
//   out[.., i]        = x[.., i] · cos a − x[.., i + half] · sin a
//   out[.., i + half] = x[.., i + half] · cos a + x[.., i] · sin a
// With sgn = −1 the rotation is by −a: that is the backward pass (Rᵀ = R(−a)).
//
// Layout: q [tokens, nq, D], k [tokens, nk, D] (a [B, T, heads, D] tensor is the same
// memory), pos [tokens] (i32). One thread per (token, group of 4 consecutive frequencies),
// numbered token-major, so a short head (D = 24: 3 groups) still fills every lane; each
// computes its cos/sin once and applies them to every head of q and k, so the trigonometry
// is amortised over nq + nk heads. Memory is viewed as vec4 (one gather per
// 4 floats on llvmpipe); ALIGNED = false (half % 4 != 0, odd test shapes) falls back to
// per-component access.
//
// sin/cos are computed here rather than with WGSL's builtins, whose accuracy is only
// specified on [−π, π] (and is 2⁻¹¹ absolute even there): angles reach pos · 1 = thousands
// of radians. Cody–Waite reduction by π/2 with a 3-part constant (the first two parts have
// 8 significant bits, so q·P1 and q·P2 are exact for |q| < 2¹⁶, i.e. |a| < ~1e5), then
// Cephes' sinf/cosf polynomials on [−π/4, π/4]: ≈1e-7 absolute error for the f32 angle a.
//
// bindings: 0 params {tokens, nq, nk, d, sgn}, 1 pos [tokens] (i32), 2 inv_freq [ceil4(half)]
//   (f32, zero padded), 3 q_in, 4 k_in, 5 q_out, 6 k_out (k_* unused when nk = 0); storage
//   buffers bound with sizes rounded up to 16 bytes.
// dispatch: ceil(tokens · ceil(half / 4) / WG) workgroups of WG threads, folded by
//   runtime.grid().

struct Params { tokens: u32, nq: u32, nk: u32, d: u32, sgn: f32 }

override WG: u32 = 32u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos: array<i32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<vec4f>;
@group(0) @binding(3) var<storage, read> q_in: array<vec4f>;
@group(0) @binding(4) var<storage, read> k_in: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> q_out: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> k_out: array<vec4f>;

const P1 = 1.5703125;               // 201 / 128
const P2 = 4.825592041015625e-4;    // 253 / 2¹⁹
const P3 = 1.2675907950567314e-6;   // π/2 − P1 − P2 (rounded to f32 by the compiler)
const TWO_OVER_PI = 0.63661977236758134;

// (cos a, sin a) for four angles.
fn cos_sin(a: vec4f) -> array<vec4f, 2> {
  let q = round(a * TWO_OVER_PI);
  let r = ((a - q * P1) - q * P2) - q * P3;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z
    - 0.5 * z + 1.0;
  let n = vec4u(vec4i(q) & vec4i(3));
  // quadrant n: (cos, sin) = (c, s), (−s, c), (−c, −s), (s, −c)
  let odd = (n & vec4u(1u)) == vec4u(1u);
  let cs = select(c, s, odd);
  let sn = select(s, c, odd);
  let cos_a = select(cs, -cs, (n == vec4u(1u)) | (n == vec4u(2u)));
  let sin_a = select(sn, -sn, n >= vec4u(2u));
  return array<vec4f, 2>(cos_a, sin_a);
}

// Four consecutive elements at flat index e of q_in / k_in (zeros past the rotary half).
fn load(which: u32, e: u32, valid: u32) -> vec4f {
  if (ALIGNED) {
    if (which == 0u) { return q_in[e / 4u]; }
    return k_in[e / 4u];
  }
  var v = vec4f(0.0);
  for (var c = 0u; c < valid; c++) {
    let i = e + c;
    if (which == 0u) { v[c] = q_in[i / 4u][i % 4u]; } else { v[c] = k_in[i / 4u][i % 4u]; }
  }
  return v;
}

fn store(which: u32, e: u32, valid: u32, v: vec4f) {
  if (ALIGNED) {
    if (which == 0u) { q_out[e / 4u] = v; } else { k_out[e / 4u] = v; }
    return;
  }
  for (var c = 0u; c < valid; c++) {
    let i = e + c;
    if (which == 0u) { q_out[i / 4u][i % 4u] = v[c]; } else { k_out[i / 4u][i % 4u] = v[c]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let half = p.d / 2u;
  let groups = (half + 3u) / 4u;
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let t = g / groups;
  if (t >= p.tokens) { return; }
  let i = 4u * (g % groups);
  let cs = cos_sin(f32(pos[t]) * inv_freq[i / 4u]);
  let c = cs[0];
  let s = p.sgn * cs[1];
  let valid = min(4u, half - i);
  for (var which = 0u; which < 2u; which++) {
    let heads = select(p.nk, p.nq, which == 0u);
    for (var h = 0u; h < heads; h++) {
      let e = (t * heads + h) * p.d + i;
      let x1 = load(which, e, valid);
      let x2 = load(which, e + half, valid);
      store(which, e, valid, x1 * c - x2 * s);
      store(which, e + half, valid, x2 * c + x1 * s);
    }
  }
}
