// Token sampling from logits [rows, vocab]: greedy, temperature, top-k, top-p — one
// workgroup per row, no sort, one Philox uniform per row (kernels/wgsl/philox.wgsl is prepended).
// Thread t owns the 4-element groups t, t+WG, t+2·WG, … of its row (vec4 loads when rows
// are 16-byte aligned). On llvmpipe a pass over a 152k row costs about as much as its loads,
// so the method minimises full passes: plain sampling takes 2, top-k or top-p usually 3,
// both usually 4.
//
// Per row, with z = logit / T (T = 1 when greedy at temperature 0) and M = max z:
//  A. pass: M, and the argmax of the raw logits (ties → lowest id).
//  B. pass: S_all = Σ exp(z − M), the plain softmax's normaliser; when filtering, also an
//     exact histogram of z over NB − 1 bins of width 1/BINS_PER_UNIT below M (integer
//     workgroup atomics: counts do not depend on order, so results stay deterministic).
//  Thresholds are on the order-preserving u32 key of z and keep every token tied with the
//  boundary value (Hugging Face semantics). top-k (1 < k < vocab): the k-th largest z;
//  top-p (p < 1): the largest threshold whose mass Σ_{key ≥ t} exp(z − M) is ≥ p · (mass
//  kept by top-k). The histogram's cumulative counts (for top-k) or per-bin mass bounds
//  (values in bin j have exp(z − M) within [e^−(j+1)/B, e^−j/B]) bracket the threshold.
//  C. search: bisection on keys inside the bracket. Once the bracket holds at most
//     WG·SLOTS/2 values (usually at once: one histogram bin), one pass copies them into
//     per-thread workgroup slots and sums, per thread, the count and mass of the values
//     above the bracket; later steps touch only the slots. Until then, or if a thread's
//     values overflow its slots, each step is a pass over the row. Each step also finds
//     the nearest keys on both sides of mid, so the bracket snaps to actual values and the
//     search stops as soon as no value lies strictly inside it.
//  E. per-thread kept masses (from the slots, or a pass); thread 0 maps u · S_keep onto
//     the threads in order, and the thread holding it walks its own elements to the token:
//     inverse-CDF sampling over a fixed order of the vocabulary.
// Outputs per row: the token; logprobs = log softmax(z)[token] (temperature only: the RL
// behaviour logprob); sample_logprobs = log-probability under the filtered, renormalised
// distribution actually sampled (0 when greedy).
//
// bindings: 0 params, 1 logits (read, f32: this window's rows from element `base`),
//   2 logits4 (read, the same window as vec4f; used when `aligned`), 3 seq_ids (read, u32
//   [B]: the row's RNG stream when has_seq), 4 tokens (rw, i32 [B]), 5 logprobs (rw, f32
//   [B]), 6 sample_logprobs (rw, f32 [B]).
// dispatch: one workgroup per row of the window, folded by runtime.grid().

struct Params {
  rows: u32, vocab: u32, base: u32, row0: u32,
  inv_temp: f32, top_k: u32, top_p: f32, step: u32,
  key0: u32, key1: u32, has_seq: u32, greedy: u32,
  aligned: u32,  // base and vocab are multiples of 4: rows can be read as vec4
}

override WG: u32 = 256u;
override NB: u32 = 512u;              // histogram bins (the last one is "everything below")
override BINS_PER_UNIT: f32 = 32.0;   // bins per unit of tempered logit (a power of two)
override SLOTS: u32 = 4u;             // candidate slots per thread
const LOWEST = -3.4028234e38;         // a finite "−∞": WGSL has no infinity literals
const NONE = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> logits4: array<vec4f>;
@group(0) @binding(3) var<storage, read> seq_ids: array<u32>;
@group(0) @binding(4) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(5) var<storage, read_write> logprobs: array<f32>;
@group(0) @binding(6) var<storage, read_write> sample_logprobs: array<f32>;

var<workgroup> r_f: array<f32, WG>;   // reduction lanes: max / sums
var<workgroup> r_u: array<u32, WG>;   //   argmax ids / counts
var<workgroup> r_a: array<u32, WG>;   //   min keys ≥ mid
var<workgroup> r_b: array<u32, WG>;   //   argmax keys / max keys < mid
var<workgroup> kept: array<f32, WG>;  // per-thread kept mass, in thread order (step E)
var<workgroup> hist: array<atomic<u32>, NB>;
var<workgroup> slot_z: array<f32, WG * SLOTS>;
var<workgroup> slot_id: array<u32, WG * SLOTS>;
var<workgroup> w_lo: u32;
var<workgroup> w_hi: u32;
var<workgroup> w_u: u32;
var<workgroup> w_clo: u32;  // count(key ≥ w_lo)
var<workgroup> w_chi: u32;  // count(key ≥ w_hi)
var<workgroup> w_sel: u32;
var<workgroup> w_total: f32;
var<workgroup> w_goal: f32;
var<workgroup> w_before: f32;

// Monotone map f32 → u32 (a < b ⇔ key(a) < key(b) for non-NaN values; −0 sorts below +0).
// Real values map to keys ≥ key(−∞) = 0x007fffff, so key 0 marks padding lanes.
fn okey(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
fn okey4(x: vec4f) -> vec4u {
  let b = bitcast<vec4u>(x);
  return select(b | vec4u(0x80000000u), ~b, (b & vec4u(0x80000000u)) != vec4u(0u));
}

// Elements 4j … 4j+3 of the row: raw logits x, tempered z, keys of z (0 on padding lanes).
// (No dynamically indexed vectors here or in the hot loops: llvmpipe would spill them.)
struct Group { x: vec4f, z: vec4f, k: vec4u, valid: vec4<bool> }

fn at(row_off: u32, i: u32) -> f32 {
  return select(LOWEST, logits[min(row_off + i, arrayLength(&logits) - 1u)], i < p.vocab);
}

fn group(row_off: u32, j: u32) -> Group {
  let e = 4u * j;
  var x: vec4f;
  if (p.aligned != 0u) {
    x = logits4[(row_off + e) / 4u];
  } else {
    x = vec4f(at(row_off, e), at(row_off, e + 1u), at(row_off, e + 2u), at(row_off, e + 3u));
  }
  let valid = vec4u(e) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.vocab);
  let z = x * p.inv_temp;
  return Group(x, z, select(vec4u(0u), okey4(z), valid), valid);
}

fn groups() -> u32 { return (p.vocab + 3u) / 4u; }

// Sum of r_f over the workgroup into r_f[0] (all invocations call it).
fn sum_f(lid: u32) {
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { r_f[lid] += r_f[lid + s]; }
  }
  workgroupBarrier();
}

// Workgroup max of v, returned uniformly.
fn max_u(lid: u32, v: u32) -> u32 {
  r_u[lid] = v;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) { r_u[lid] = max(r_u[lid], r_u[lid + s]); }
  }
  workgroupBarrier();
  if (lid == 0u) { w_u = r_u[0]; }
  return workgroupUniformLoad(&w_u);
}

// ---- histogram brackets (thread 0) ----

// Bin j holds edge(j+1) ≤ z < edge(j); the last bin, everything below edge(NB − 1).
fn edge(m: f32, j: u32) -> f32 { return m - f32(j) / BINS_PER_UNIT; }

// The float estimate of a value's bin, corrected against the exact key thresholds so that
// cumulative counts are exactly count(z ≥ edge(j)). Called for values above the last bin.
fn bin_of(m: f32, z: f32, kz: u32) -> u32 {
  var b = u32(min(max((m - z) * BINS_PER_UNIT, 0.0), f32(NB - 1u)));
  if (b > 0u && kz >= okey(edge(m, b))) {
    b -= 1u;
  } else if (kz < okey(edge(m, b + 1u))) {
    b += 1u;
  }
  return b;
}

// Thread 0: a bracket [w_lo, w_hi) for the top-k threshold, count(≥ lo) ≥ k > count(≥ hi),
// with those counts in w_clo, w_chi.
fn bracket_top_k(m: f32, top: u32) {
  var cum = 0u;
  var jk = NB - 1u;
  var before = 0u;
  for (var j = 0u; j < NB - 1u; j++) {
    before = cum;
    cum += atomicLoad(&hist[j]);
    if (cum >= p.top_k) { jk = j; break; }
  }
  let found = jk < NB - 1u;
  w_lo = select(0u, okey(edge(m, jk + 1u)), found);
  w_clo = select(p.vocab, cum, found);
  w_hi = select(okey(edge(m, jk)), top, jk == 0u);
  w_chi = select(cum, before, found);
}

// Thread 0: the same for the top-p threshold over keys ≥ tau (count(≥ tau) = c_tau):
// mass(≥ lo) ≥ goal > mass(≥ hi), from bounds on each bin's mass.
fn bracket_top_p(m: f32, top: u32, tau: u32, c_tau: u32, goal: f32) {
  let SLACK = 1e-3;  // covers f32 rounding of the edges, the exps and the pass sums
  let r = exp(-1.0 / BINS_PER_UNIT);
  var ub = 0.0;      // upper bound of the mass in bins < j
  var lb = 0.0;      // lower bound of the mass in bins ≤ j
  var e_top = 1.0;   // e^−j/B
  var cum = 0u;
  var hi_j = 0u;
  var c_hi = 0u;
  var lo_j = NB;
  for (var j = 0u; j < NB - 1u; j++) {
    if (ub * (1.0 + SLACK) < goal) { hi_j = j; c_hi = cum; }
    let h = atomicLoad(&hist[j]);
    cum += h;
    ub += f32(h) * e_top;
    e_top *= r;
    lb += f32(h) * e_top;
    if (lb * (1.0 - SLACK) >= goal) { lo_j = j; break; }
  }
  w_hi = select(okey(edge(m, hi_j)), top, hi_j == 0u);
  w_chi = c_hi;
  // Nothing below tau is kept, so a bound reaching below it falls back to tau itself.
  let lo = okey(edge(m, lo_j + 1u));
  let use_tau = lo_j == NB || lo <= tau;
  w_lo = select(lo, tau, use_tau);
  w_clo = select(cum, c_tau, use_tau);
}

// ---- threshold search ----
// The bracket [lo, hi) narrows by bisection on keys. Once few elements lie inside it, one
// pass copies those into the slots and sums, per thread, the count and mass of the elements
// above it (agg_*); later steps then touch only the slots. Until then (or if a thread's
// candidates overflow its slots) each step is a pass over the row.

var<private> agg_cnt: u32;   // this thread's elements with key ≥ the collected bracket's hi
var<private> agg_mass: f32;  //   and their Σ exp(z − M)
var<private> n_slot: u32;    // this thread's candidates (keys inside that bracket)

struct Tally { cnt: u32, mass: f32, above: u32, below: u32 }

// This thread's count and mass of keys ≥ mid, the smallest key ≥ mid and the largest < mid
// (NONE / 0 if none; in slot mode only candidates are seen, which is all the search needs).
fn tally(row_off: u32, lid: u32, m: f32, mid: u32, by_mass: bool, slots: bool) -> Tally {
  if (slots) {
    var t = Tally(agg_cnt, agg_mass, NONE, 0u);
    for (var s = 0u; s < n_slot; s++) {
      let z = slot_z[lid * SLOTS + s];
      let kz = okey(z);
      if (kz >= mid) {
        t.cnt += 1u;
        t.above = min(t.above, kz);
        if (by_mass) { t.mass += exp(z - m); }
      } else {
        t.below = max(t.below, kz);
      }
    }
    return t;
  }
  var cnt = vec4u(0u);
  var mass = vec4f(0.0);
  var above = vec4u(NONE);
  var below = vec4u(0u);  // padding keys are 0
  for (var j = lid; j < groups(); j += WG) {
    let g = group(row_off, j);
    let ge = g.k >= vec4u(mid);
    cnt += select(vec4u(0u), vec4u(1u), ge);
    above = min(above, select(vec4u(NONE), g.k, ge));
    below = max(below, select(g.k, vec4u(0u), ge));
    if (by_mass && any(ge)) { mass += select(vec4f(0.0), exp(g.z - m), ge); }
  }
  return Tally((cnt.x + cnt.y) + (cnt.z + cnt.w), (mass.x + mass.y) + (mass.z + mass.w),
               min(min(above.x, above.y), min(above.z, above.w)),
               max(max(below.x, below.y), max(below.z, below.w)));
}

fn take(lid: u32, n: u32, z: f32, id: u32, inside: bool) -> u32 {
  if (!inside) { return n; }
  if (n < SLOTS) {
    slot_z[lid * SLOTS + n] = z;
    slot_id[lid * SLOTS + n] = id;
  }
  return n + 1u;
}

// The collecting pass for [lo, hi); returns this thread's candidate count (> SLOTS: overflow).
fn collect(row_off: u32, lid: u32, m: f32, lo: u32, hi: u32) -> u32 {
  var n = 0u;
  var c4 = vec4u(0u);
  var m4 = vec4f(0.0);
  for (var j = lid; j < groups(); j += WG) {
    let g = group(row_off, j);
    let above = g.k >= vec4u(hi);
    c4 += select(vec4u(0u), vec4u(1u), above);
    if (any(above)) { m4 += select(vec4f(0.0), exp(g.z - m), above); }
    let inside = (g.k >= vec4u(lo)) & !above;
    if (any(inside)) {
      n = take(lid, n, g.z.x, 4u * j, inside.x);
      n = take(lid, n, g.z.y, 4u * j + 1u, inside.y);
      n = take(lid, n, g.z.z, 4u * j + 2u, inside.z);
      n = take(lid, n, g.z.w, 4u * j + 3u, inside.w);
    }
  }
  agg_cnt = (c4.x + c4.y) + (c4.z + c4.w);
  agg_mass = (m4.x + m4.y) + (m4.z + m4.w);
  n_slot = min(n, SLOTS);
  return n;
}

struct Found { tau: u32, slots: bool }

// The largest element key t in [w_lo, w_hi) with count(key ≥ t) ≥ k (by_mass = false) or
// mass(key ≥ t) ≥ goal (by_mass = true), given that w_lo satisfies the condition and w_hi
// does not, and w_clo / w_chi hold count(≥ w_lo) / count(≥ w_hi). Bracket state lives in
// workgroup memory, read with workgroupUniformLoad, so the loop (with barriers) is uniform.
fn search(row_off: u32, lid: u32, m: f32, by_mass: bool, k: u32, goal: f32) -> Found {
  var lo = workgroupUniformLoad(&w_lo);
  var hi = workgroupUniformLoad(&w_hi);
  var inside = workgroupUniformLoad(&w_clo) - workgroupUniformLoad(&w_chi);
  var slots = false;
  var retry = WG * SLOTS / 2u;  // collect once the bracket holds at most this many values
  for (var it = 0u; it < 64u && hi - lo > 1u; it++) {
    if (!slots && inside <= retry) {
      slots = max_u(lid, collect(row_off, lid, m, lo, hi)) <= SLOTS;
      retry = inside / 2u;  // after an overflow, try again once the bracket halves
      continue;
    }
    let mid = lo + (hi - lo) / 2u;
    let t = tally(row_off, lid, m, mid, by_mass, slots);
    r_u[lid] = t.cnt;
    r_f[lid] = t.mass;
    r_a[lid] = t.above;
    r_b[lid] = t.below;
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
      let ok = r_u[0] > 0u && select(r_u[0] >= k, r_f[0] >= goal, by_mass);
      // Snap to real values: every threshold in (below, above] keeps the same set.
      if (ok) {
        w_lo = select(r_a[0], mid, r_a[0] == NONE);
        w_clo = r_u[0];
      } else {
        w_hi = max(r_b[0] + 1u, lo + 1u);
        w_chi = r_u[0];
      }
    }
    lo = workgroupUniformLoad(&w_lo);
    hi = workgroupUniformLoad(&w_hi);
    inside = workgroupUniformLoad(&w_clo) - workgroupUniformLoad(&w_chi);
  }
  return Found(lo, slots);
}

// This thread's Σ exp(z − M) over its elements with key ≥ tau (from the slots when the
// last search collected: tau then lies inside the collected bracket).
fn mass_from(row_off: u32, lid: u32, m: f32, tau: u32, slots: bool) -> f32 {
  return tally(row_off, lid, m, tau, true, slots).mass;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let row_off = p.base + row * p.vocab;
  let out = p.row0 + row;
  let use_k = p.greedy == 0u && p.top_k > 1u && p.top_k < p.vocab;
  let use_p = p.greedy == 0u && p.top_p < 1.0;
  let filtering = use_k || use_p;

  // A. M and the argmax of the raw logits (ids ascend within a thread, so `>` keeps the lowest).
  var mz = vec4f(LOWEST);
  var best_key = 0u;
  var best_id = NONE;
  for (var j = lid; j < groups(); j += WG) {
    let g = group(row_off, j);
    mz = max(mz, g.z);
    let kx = select(vec4u(0u), okey4(g.x), g.valid);
    if (kx.x > best_key) { best_key = kx.x; best_id = 4u * j; }
    if (kx.y > best_key) { best_key = kx.y; best_id = 4u * j + 1u; }
    if (kx.z > best_key) { best_key = kx.z; best_id = 4u * j + 2u; }
    if (kx.w > best_key) { best_key = kx.w; best_id = 4u * j + 3u; }
  }
  r_f[lid] = max(max(mz.x, mz.y), max(mz.z, mz.w));
  r_b[lid] = best_key;
  r_u[lid] = best_id;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) {
      r_f[lid] = max(r_f[lid], r_f[lid + s]);
      let kb = r_b[lid + s];
      let ib = r_u[lid + s];
      if (kb > r_b[lid] || (kb == r_b[lid] && ib < r_u[lid])) {
        r_b[lid] = kb;
        r_u[lid] = ib;
      }
    }
  }
  workgroupBarrier();
  let m = r_f[0];
  let argmax = r_u[0];
  if (filtering) {
    for (var b = lid; b < NB; b += WG) { atomicStore(&hist[b], 0u); }
  }
  workgroupBarrier();

  // B. the plain normaliser and, when filtering, the histogram (the last bin is implicit).
  let k_last = okey(edge(m, NB - 1u));
  var s4 = vec4f(0.0);
  for (var j = lid; j < groups(); j += WG) {
    let g = group(row_off, j);
    s4 += exp(g.z - m);
    if (filtering && any(g.k >= vec4u(k_last))) {
      if (g.k.x >= k_last) { atomicAdd(&hist[bin_of(m, g.z.x, g.k.x)], 1u); }
      if (g.k.y >= k_last) { atomicAdd(&hist[bin_of(m, g.z.y, g.k.y)], 1u); }
      if (g.k.z >= k_last) { atomicAdd(&hist[bin_of(m, g.z.z, g.k.z)], 1u); }
      if (g.k.w >= k_last) { atomicAdd(&hist[bin_of(m, g.z.w, g.k.w)], 1u); }
    }
  }
  let s_all_t = (s4.x + s4.y) + (s4.z + s4.w);
  r_f[lid] = s_all_t;
  sum_f(lid);
  let s_all = r_f[0];

  if (p.greedy != 0u) {
    if (lid == 0u) {
      tokens[out] = i32(argmax);
      logprobs[out] = logits[row_off + argmax] * p.inv_temp - m - log(s_all);
      sample_logprobs[out] = 0.0;
    }
    return;
  }

  // C, D. thresholds (tau = 0 keeps everything).
  var tau = 0u;
  var kept_t = s_all_t;
  if (filtering) {
    let top = okey(m) + 1u;
    var found = Found(0u, false);
    var goal = p.top_p * s_all;
    var c_tau = p.vocab;
    if (use_k) {
      if (lid == 0u) { bracket_top_k(m, top); }
      found = search(row_off, lid, m, false, p.top_k, 0.0);
      tau = found.tau;
      c_tau = workgroupUniformLoad(&w_clo);
      kept_t = mass_from(row_off, lid, m, tau, found.slots);
      r_f[lid] = kept_t;
      sum_f(lid);
      goal = p.top_p * r_f[0];
    }
    if (use_p) {
      if (lid == 0u) { bracket_top_p(m, top, tau, c_tau, goal); }
      found = search(row_off, lid, m, true, 0u, goal);
      tau = found.tau;
      kept_t = mass_from(row_off, lid, m, tau, found.slots);
    }
  }

  // E. inverse CDF over the threads' kept masses, then within the selected thread.
  kept[lid] = kept_t;
  workgroupBarrier();
  if (lid == 0u) {
    let stream = select(out, seq_ids[out], p.has_seq != 0u);
    let u = philox_u01(philox4x32_10(vec4u(0u, stream, p.step, 1u), vec2u(p.key0, p.key1)).x);
    var total = 0.0;
    for (var t = 0u; t < WG; t++) { total += kept[t]; }
    let goal = u * total;
    var before = 0.0;
    var sel = 0u;
    var found = false;
    for (var t = 0u; t < WG; t++) {
      if (kept[t] > 0.0) {
        sel = t;  // if rounding leaves goal ≥ total: the last thread with mass
        if (before + kept[t] > goal) { found = true; break; }
        before += kept[t];
      }
    }
    w_sel = sel;
    w_total = total;
    w_goal = goal;
    w_before = select(before - kept[sel], before, found);
  }
  workgroupBarrier();
  if (lid != w_sel) { return; }
  var cum = w_before;
  var pick = NONE;
  var zc = 0.0;
  var done = false;
  for (var j = lid; j < groups() && !done; j += WG) {
    let g = group(row_off, j);
    let e = select(vec4f(0.0), exp(g.z - m), g.k >= vec4u(tau));
    let zs = g.z - m;
    for (var l = 0u; l < 4u && !done; l++) {
      if (e[l] > 0.0) {
        pick = 4u * j + l;  // the last element with mass, should rounding never cross
        zc = zs[l];
        cum += e[l];
        done = cum > w_goal;
      }
    }
  }
  tokens[out] = i32(pick);
  logprobs[out] = zc - log(s_all);
  sample_logprobs[out] = zc - log(w_total);
}
