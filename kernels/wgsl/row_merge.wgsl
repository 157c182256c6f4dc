// Shared header of the row kernels that merge their lanes' partial results (reduce,
// softmax, softmax backward, logprobs), prepended after row_lanes.wgsl. The shader defines
//   fn fold(dst: u32, src: u32)
// which folds lane slot `src`'s partial state into slot `dst`'s, both indices into the
// shader's own var<workgroup> arrays of WG entries.

// Merge the L lanes of each row into the slot of its first lane, in an order fixed by L and
// FAN (deterministic): each level, lane t < s folds lanes t + s, t + 2s, … of the `width`
// live ones (s = width / FAN), one barrier per level. Every lane must have stored its state
// in its slot `lid` before; call from uniform control flow (every thread of the workgroup).
fn mergeLanes(lid: u32) {
  workgroupBarrier();
  let lane = lid % L;
  var width = L;
  while (width > 1u) {
    let s = max(width / FAN, 1u);
    if (lane < s) {
      for (var k = lid + s; k < lid - lane + width; k += s) { fold(lid, k); }
    }
    workgroupBarrier();
    width = s;
  }
}
