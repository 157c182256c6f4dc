// KV-cache write: copy new keys and values [B, T, Hkv, D] into the caches [B, Hkv, maxT, D]
// at positions pos … pos + T − 1 (the same for every sequence: prompts are left-padded to one
// length). One invocation per vec4 of the source.
//
// With MIRROR = 1 the same vec4s also go into the caches' texture mirrors (kv_cache.ts: the
// copies that attentionDecode reads on CPU adapters, texel (i mod 512, i / 512) of a flat texture);
// with MIRROR = 0 bindings 5 and 6 are 1×1 placeholders and nothing is stored there.
//
// bindings: 0 params, 1 k [B,T,Hkv,D], 2 v [B,T,Hkv,D], 3 kc [B,Hkv,maxT,D] (in/out),
//           4 vc [B,Hkv,maxT,D] (in/out), 5 kt, 6 vt (mirrors or placeholders).
// dispatch: ceil(B · T · Hkv · D/4 / 256) workgroups of 256, folded by runtime.grid().

struct Params {
  n: u32,    // B · T · Hkv · D4 source vec4s
  T: u32, Hkv: u32, D4: u32,
  maxT: u32, pos: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> k: array<vec4f>;
@group(0) @binding(2) var<storage, read> v: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> kc: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> vc: array<vec4f>;
@group(0) @binding(5) var kt: texture_storage_2d<rgba32float, write>;
@group(0) @binding(6) var vt: texture_storage_2d<rgba32float, write>;

override MIRROR: u32 = 0u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let n = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (n >= p.n) { return; }
  let i = n % p.D4;
  let r = n / p.D4;      // (b · T + t) · Hkv + h
  let h = r % p.Hkv;
  let bt = r / p.Hkv;
  let t = bt % p.T;
  let b = bt / p.T;
  let dst = ((b * p.Hkv + h) * p.maxT + p.pos + t) * p.D4 + i;
  let kn = k[n];
  let vn = v[n];
  kc[dst] = kn;
  vc[dst] = vn;
  if (MIRROR != 0u) {
    textureStore(kt, vec2u(dst & 511u, dst >> 9u), kn);
    textureStore(vt, vec2u(dst & 511u, dst >> 9u), vn);
  }
}
