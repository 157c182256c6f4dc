// Sort token indices by (id, index) on the GPU, for the embedding backward when the ids are
// not known on the CPU: order[rank(t)] = t with
//   rank(t) = #{u : ids[u] < ids[t] or (ids[u] = ids[t] and u < t)}.
// Keys are distinct, so ranks are a permutation and the result is deterministic. O(n²)
// comparisons (n = tokens in the batch: a few ms on llvmpipe for n = 4096); every thread
// reads ids[u] at the same u, a broadcast load.
//
// bindings: 0 params {n}, 1 ids [n] (i32), 2 order [n] (i32, out)
// dispatch: ceil(n / WG) workgroups of WG threads, folded by runtime.grid().

struct Params { n: u32 }

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> order: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  let mine = ids[min(t, p.n - 1u)];
  var rank = 0u;
  for (var u = 0u; u < p.n; u++) {
    let other = ids[u];
    rank += select(0u, 1u, other < mine || (other == mine && u < t));
  }
  if (t < p.n) { order[rank] = i32(t); }
}
