// The sum of 8 lanes' partials in the order of an 8-thread workgroup's tree reduction
// (lane l += lane l + 4, then + 2, then + 1), for kernels where one thread does the work of
// such a workgroup and must match it bit for bit (kernels/layers/rmsnorm*.wgsl, `rows`).
// Prepended by the launcher (kernels/wgsl/headers.ts: TREE8_WGSL).

fn tree8(s0: f32, s1: f32, s2: f32, s3: f32, s4: f32, s5: f32, s6: f32, s7: f32) -> f32 {
  return ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7));
}

fn tree8v2(s0: vec2f, s1: vec2f, s2: vec2f, s3: vec2f, s4: vec2f, s5: vec2f, s6: vec2f,
           s7: vec2f) -> vec2f {
  return ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7));
}
