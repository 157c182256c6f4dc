// unary.wgsl four floats at a time (n % 4 == 0): out[i] = f(x[i]) with the same OP codes —
// 0 alpha · x + beta, 1 exp, 2 clamp to [alpha, beta] (torch.clamp semantics), 3 x · x.
// bindings: 0 params {n4, alpha, beta}, 1 x, 2 out (as vec4s).
// dispatch: ceil(n4 / 256) workgroups of 256, folded into (x, y) by runtime.grid().
struct Params { n4: u32, alpha: f32, beta: f32 }
override OP: u32 = 0u;
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n4) { return; }
  let v = x[i];
  switch OP {
    case 0u: { out[i] = p.alpha * v + vec4f(p.beta); }
    case 1u: { out[i] = exp(v); }
    case 2u: { out[i] = minNan(maxNan(v, vec4f(p.alpha)), vec4f(p.beta)); }
    default: { out[i] = v * v; }
  }
}

// NaN-propagating max / min (see unary.wgsl).
fn maxNan(x: vec4f, y: vec4f) -> vec4f { return select(select(x + y, y, y >= x), x, x > y); }
fn minNan(x: vec4f, y: vec4f) -> vec4f { return select(select(x + y, y, y <= x), x, x < y); }
