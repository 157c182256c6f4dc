// Philox-4x32-10, the counter-based generator of Salmon et al., "Parallel Random Numbers:
// As Easy as 1, 2, 3" (SC'11), as in Random123, cuRAND and JAX. A random word is a pure
// function of (key, counter), so a draw depends only on what it is for — seed, sequence,
// step — never on batch composition, dispatch shape or thread scheduling.
//
// Layout used across zerokit (mirrored by the CPU reference in kernels/sampling/rng.ts):
//   key     = (seed mod 2^32, floor(seed / 2^32))
//   counter = (index, stream, step, domain)   → four 32-bit words per counter
// `stream` is the sequence (row) id, `step` the generation step or optimizer step, `index`
// numbers the 4-word blocks a consumer draws, `domain` separates consumers (0: fill, 1:
// sampler) so two uses of the same (seed, stream, step) never share numbers.
//
// A function library: kernels that draw random numbers are compiled from their own source
// with this file prepended (kernels/wgsl/headers.ts: PHILOX_WGSL), as sampling/rng.wgsl and
// sampling/sampler.wgsl are.

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

