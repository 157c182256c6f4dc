// Token sampling from logits [rows, vocab]: temperature, top-k, top-p, greedy — one
// workgroup per row, no sort. Compiled with rng.wgsl's Philox library prepended.
//
// Per row, with z = logit / T (T = 1 when greedy at temperature 0) and M = max z:
//  A. one pass: M, and the argmax of the raw logits (ties → lowest id).
//  B. one pass: S_all = Σ exp(z − M) (the plain tempered softmax's normaliser).
//  C. top-k (1 < k < vocab): the k-th largest z found by bisection on the order-preserving
//     u32 key of z. Each pass counts keys ≥ mid and also finds the nearest keys on either
//     side of mid, so the bracket snaps to actual values and the search ends as soon as no
//     value lies strictly inside it (typically 15–25 passes, never more than 33).
//  D. top-p (p < 1): the same bisection on the kept mass Σ_{key ≥ mid} exp(z − M), for the
//     largest threshold whose mass is ≥ p · (mass kept by top-k).
//     Both thresholds keep every token tied with the boundary value (Hugging Face semantics).
//  E. one pass: per-thread kept masses; thread 0 turns one Philox uniform u into a target
//     u · S_keep over the threads' masses in thread order, and the thread holding the target
//     walks its own elements to the token — inverse-CDF sampling over a fixed (strided)
//     order of the vocabulary, so one random number per row suffices.
// Outputs per row: the token; logprobs = log softmax(z)[token] (temperature only: the RL
// behaviour logprob); sample_logprobs = log of the token's probability under the filtered,
// renormalised distribution actually sampled (0 when greedy).
//
// bindings: 0 params, 1 logits (read, this window's rows from element `base`), 2 seq_ids
//   (read, u32 [B]; stream per row when has_seq), 3 tokens (rw, i32 [B]), 4 logprobs (rw,
//   f32 [B]), 5 sample_logprobs (rw, f32 [B]).
// dispatch: one workgroup per row of the window, folded by runtime.grid().

struct Params {
  rows: u32, vocab: u32, base: u32, row0: u32,
  inv_temp: f32, top_k: u32, top_p: f32, step: u32,
  key0: u32, key1: u32, has_seq: u32, greedy: u32,
}

override WG: u32 = 256u;
const LOWEST = -3.4028234e38;  // a finite "−∞": WGSL has no infinity literals

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> seq_ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(4) var<storage, read_write> logprobs: array<f32>;
@group(0) @binding(5) var<storage, read_write> sample_logprobs: array<f32>;

var<workgroup> r_f: array<f32, WG>;  // reduction lanes: max / sums
var<workgroup> r_u: array<u32, WG>;  //   argmax ids / counts
var<workgroup> r_a: array<u32, WG>;  //   min keys ≥ mid
var<workgroup> r_b: array<u32, WG>;  //   argmax keys / max keys < mid
var<workgroup> kept: array<f32, WG>; // per-thread kept mass, in thread order (step E)
var<workgroup> w_lo: u32;
var<workgroup> w_hi: u32;
var<workgroup> w_sel: u32;
var<workgroup> w_total: f32;
var<workgroup> w_target: f32;
var<workgroup> w_before: f32;

// Monotone map f32 → u32 (a < b ⇔ key(a) < key(b) for non-NaN values; −0 sorts below +0).
fn okey(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn zval(row_off: u32, i: u32) -> f32 {
  return logits[row_off + i] * p.inv_temp;
}

// Sum of r_f over the workgroup into r_f[0] (all invocations call it).
fn sum_f(lid: u32) {
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { r_f[lid] += r_f[lid + s]; }
  }
  workgroupBarrier();
}

// Per-thread Σ exp(z − M) over the strided elements with key(z) ≥ tau.
fn mass_from(row_off: u32, lid: u32, m: f32, tau: u32) -> f32 {
  var s = 0.0;
  for (var i = lid; i < p.vocab; i += WG) {
    let z = zval(row_off, i);
    if (okey(z) >= tau) { s += exp(z - m); }
  }
  return s;
}

// Largest element key t in [w_lo, w_hi) with count(key ≥ t) ≥ k (by_mass = false) or
// mass(key ≥ t) ≥ target (by_mass = true); w_lo must satisfy the condition already.
// The bracket lives in workgroup memory and is read with workgroupUniformLoad so that the
// loop (which contains barriers) is provably uniform.
fn bisect(row_off: u32, lid: u32, m: f32, by_mass: bool, k: u32, target: f32) -> u32 {
  var lo = workgroupUniformLoad(&w_lo);
  var hi = workgroupUniformLoad(&w_hi);
  for (var it = 0u; it < 40u && hi - lo > 1u; it++) {
    let mid = lo + (hi - lo) / 2u;
    var cnt = 0u;
    var mass = 0.0;
    var above = 0xffffffffu;  // smallest key ≥ mid
    var below = 0u;           // largest key < mid
    for (var i = lid; i < p.vocab; i += WG) {
      let z = zval(row_off, i);
      let kz = okey(z);
      if (kz >= mid) {
        cnt += 1u;
        above = min(above, kz);
        if (by_mass) { mass += exp(z - m); }
      } else {
        below = max(below, kz);
      }
    }
    r_u[lid] = cnt;
    r_f[lid] = mass;
    r_a[lid] = above;
    r_b[lid] = below;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      workgroupBarrier();
      if (lid < s) {
        r_u[lid] += r_u[lid + s];
        r_f[lid] += r_f[lid + s];
        r_a[lid] = min(r_a[lid], r_a[lid + s]);
        r_b[lid] = max(r_b[lid], r_b[lid + s]);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      let ok = r_u[0] > 0u && select(r_u[0] >= k, r_f[0] >= target, by_mass);
      // Snap to real values: the kept set is the same for every threshold in (below, above].
      if (ok) { w_lo = r_a[0]; } else { w_hi = r_b[0] + 1u; }
    }
    lo = workgroupUniformLoad(&w_lo);
    hi = workgroupUniformLoad(&w_hi);
  }
  return lo;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let row_off = p.base + row * p.vocab;
  let out = p.row0 + row;

  // A. max of z and argmax of the raw logits (strided ascending, so `>` keeps the lowest id).
  var m = LOWEST;
  var best_key = 0u;
  var best_id = 0xffffffffu;
  for (var i = lid; i < p.vocab; i += WG) {
    let x = logits[row_off + i];
    m = max(m, x * p.inv_temp);
    let kx = okey(x);
    if (kx > best_key || best_id == 0xffffffffu) { best_key = kx; best_id = i; }
  }
  r_f[lid] = m;
  r_b[lid] = best_key;
  r_u[lid] = best_id;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) {
      r_f[lid] = max(r_f[lid], r_f[lid + s]);
      let kb = r_b[lid + s];
      let ib = r_u[lid + s];
      if (ib != 0xffffffffu && (r_u[lid] == 0xffffffffu || kb > r_b[lid] ||
          (kb == r_b[lid] && ib < r_u[lid]))) {
        r_b[lid] = kb;
        r_u[lid] = ib;
      }
    }
  }
  workgroupBarrier();
  m = r_f[0];
  let argmax = r_u[0];
  workgroupBarrier();

  // B. the plain normaliser.
  let s_all_t = mass_from(row_off, lid, m, 0u);
  r_f[lid] = s_all_t;
  sum_f(lid);
  let s_all = r_f[0];

  if (p.greedy != 0u) {
    if (lid == 0u) {
      tokens[out] = i32(argmax);
      logprobs[out] = zval(row_off, argmax) - m - log(s_all);
      sample_logprobs[out] = 0.0;
    }
    return;
  }

  // C, D. thresholds (tau = 0 keeps everything).
  var tau = 0u;
  let top = okey(m) + 1u;
  if (p.top_k > 1u && p.top_k < p.vocab) {
    if (lid == 0u) { w_lo = 0u; w_hi = top; }
    tau = bisect(row_off, lid, m, false, p.top_k, 0.0);
  }
  var kept_t = s_all_t;
  if (p.top_p < 1.0) {
    var topk_mass = s_all;
    if (tau != 0u) {
      r_f[lid] = mass_from(row_off, lid, m, tau);
      sum_f(lid);
      topk_mass = r_f[0];
    }
    if (lid == 0u) { w_lo = tau; w_hi = top; }
    tau = bisect(row_off, lid, m, true, 0u, p.top_p * topk_mass);
  }
  if (tau != 0u) { kept_t = mass_from(row_off, lid, m, tau); }

  // E. inverse CDF over the threads' kept masses, then within the selected thread.
  kept[lid] = kept_t;
  workgroupBarrier();
  if (lid == 0u) {
    let stream = select(out, seq_ids[out], p.has_seq != 0u);
    let u = philox_u01(philox4x32_10(vec4u(0u, stream, p.step, 1u), vec2u(p.key0, p.key1)).x);
    var total = 0.0;
    for (var t = 0u; t < WG; t++) { total += kept[t]; }
    let target = u * total;
    var before = 0.0;
    var sel = 0u;
    var found = false;
    for (var t = 0u; t < WG; t++) {
      if (kept[t] > 0.0) {
        sel = t;  // fallback if rounding leaves target ≥ total: the last thread with mass
        if (before + kept[t] > target) { found = true; break; }
        before += kept[t];
      }
    }
    w_sel = sel;
    w_total = total;
    w_target = target;
    w_before = select(before - kept[sel], before, found);
  }
  workgroupBarrier();
  if (lid == w_sel) {
    var cum = w_before;
    var pick = 0xffffffffu;
    for (var i = lid; i < p.vocab; i += WG) {
      let z = zval(row_off, i);
      if (okey(z) >= tau) {
        let e = exp(z - m);
        if (e > 0.0) { pick = i; }
        cum += e;
        if (cum > w_target && e > 0.0) { break; }
      }
    }
    let zc = zval(row_off, pick) - m;
    tokens[out] = i32(pick);
    logprobs[out] = zc - log(s_all);
    sample_logprobs[out] = zc - log(w_total);
  }
}
