// Philox-4x32-10, the counter-based generator of Salmon et al., "Parallel Random Numbers:
// As Easy as 1, 2, 3" (SC'11), as in Random123, cuRAND and JAX. A random word is a pure
// function of (key, counter), so a draw depends only on what it is for — seed, sequence,
// step — never on batch composition, dispatch shape or thread scheduling.
//
// Layout used across zerokit (mirrored by the CPU reference in rng.ts):
//   key     = (seed mod 2^32, floor(seed / 2^32))
//   counter = (index, stream, step, domain)   → four 32-bit words per counter
// `stream` is the sequence (row) id, `step` the generation step or optimizer step, `index`
// numbers the 4-word blocks a consumer draws, `domain` separates consumers (0: fill, 1:
// sampler) so two uses of the same (seed, stream, step) never share numbers.
//
// This first part is a function library: kernels that draw random numbers are compiled
// from their own source with this part prepended (rng.ts exports it as PHILOX_WGSL).

// High 32 bits of the 64-bit product a·b, from 16-bit halves (WGSL has no 64-bit ints).
// Every partial product fits in u32 and `mid` < 2^18, so nothing overflows.
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = ((al * bl) >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

// Ten rounds; the key is bumped by the Weyl constants between rounds.
fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = philox_mulhi(0xD2511F53u, c.x);
    let hi1 = philox_mulhi(0xCD9E8D57u, c.z);
    c = vec4u(hi1 ^ c.y ^ k.x, 0xCD9E8D57u * c.z, hi0 ^ c.w ^ k.y, 0xD2511F53u * c.x);
    k += vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// A uniform float in [0, 1) from the top 24 bits: exact in f32, multiples of 2^-24.
fn philox_u01(bits: u32) -> f32 {
  return f32(bits >> 8u) * (1.0 / 16777216.0);
}

// ==== kernel: fill (everything below is not part of the library) ====
// out[i] = word (i mod 4) of philox4x32_10((i / 4, stream, step, domain), key), as raw bits
// (AS_FLOAT = 0) or as the bits of philox_u01(word) (AS_FLOAT = 1).
// bindings: 0 params, 1 out (u32 [n]).  dispatch: ceil(n / (4·WG)) folded by runtime.grid(),
// one thread per counter (4 words).

struct FillParams {
  n: u32, stream: u32, step: u32, domain: u32,
  key: vec2u,
}

override WG: u32 = 256u;
override AS_FLOAT: u32 = 0u;

@group(0) @binding(0) var<uniform> fp: FillParams;
@group(0) @binding(1) var<storage, read_write> fill_out: array<u32>;

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let block = (wid.x + wid.y * nwg.x) * WG + lid;
  if (block * 4u >= fp.n) { return; }
  let words = philox4x32_10(vec4u(block, fp.stream, fp.step, fp.domain), fp.key);
  for (var j = 0u; j < 4u; j++) {
    let i = block * 4u + j;
    if (i < fp.n) {
      fill_out[i] = select(words[j], bitcast<u32>(philox_u01(words[j])), AS_FLOAT == 1u);
    }
  }
}
