// Fill a buffer with Philox words (kernels/wgsl/philox.wgsl is prepended).
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
