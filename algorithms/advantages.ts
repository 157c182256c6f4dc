/**
 * Advantages, on the CPU in float64: GAE over per-token rewards, group-relative outcome
 * advantages (GRPO), and the normalisations a config can pick. Sequences are ragged: one
 * array per sequence, one entry per response token.
 *
 * Shapes: `rewards[i]`, `values[i]`, `advantages[i]` all have length |o_i| (sequence i's
 * response length); `groups[i]` is the index of the prompt sequence i answers.
 *
 * @module
 */

/** A step's per-token quantity: one float64 array per sequence. */
export type Ragged = Float64Array[];

/**
 * GAE(γ, λ) over one sequence. `rewards[t]` is token t's reward (the scalar outcome sits on
 * the last token, KL penalties on every token); `values[t]` = V(s_t). The value after the
 * last token is 0 (the episode ends there), so with γ = λ = 1 every A_t = R − V(s_t) and
 * every return is R. Returns = advantages + values (the critic's regression targets).
 *
 * δ_t = r_t + γ V_{t+1} − V_t;  A_t = δ_t + γλ A_{t+1}  (ORZ: orz/ppo/utils.py:270-287, which
 * also resets the next value to 0 at each sequence end and sets returns = A + V).
 */
export function gae(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  gamma: number,
  lambda: number,
): { advantages: Float64Array; returns: Float64Array } {
  const n = rewards.length;
  if (values.length !== n) throw new Error(`gae: ${n} rewards but ${values.length} values`);
  const advantages = new Float64Array(n);
  const returns = new Float64Array(n);
  let next = 0; // A_{t+1}
  for (let t = n - 1; t >= 0; t--) {
    const nextValue = t + 1 < n ? values[t + 1] : 0;
    const delta = rewards[t] + gamma * nextValue - values[t];
    next = delta + gamma * lambda * next;
    advantages[t] = next;
    returns[t] = next + values[t];
  }
  return { advantages, returns };
}

/** Per-token rewards of one sequence: `score` on the last token plus optional per-token terms. */
export function tokenRewards(
  length: number,
  score: number,
  perToken?: ArrayLike<number>,
): Float64Array {
  const r = new Float64Array(length);
  if (perToken) { for (let t = 0; t < length; t++) r[t] = perToken[t]; }
  if (length > 0) r[length - 1] += score;
  return r;
}

/** Mean and population std of every entry of `xs` (count included). */
export function moments(
  xs: Iterable<ArrayLike<number>>,
): { mean: number; std: number; count: number } {
  let count = 0;
  let sum = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) (sum += x[i], count++);
  const mean = count > 0 ? sum / count : 0;
  let sq = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) sq += (x[i] - mean) ** 2;
  return { mean, std: count > 0 ? Math.sqrt(sq / count) : 0, count };
}

/** How advantages are normalised (see config.ts `advantage.norm`). */
export type AdvantageNorm = "batch" | "group" | "group_std" | "none";

/**
 * Normalised copies of token advantages.
 * - `batch`: (A − mean) / √max(var, eps) with one mean and population variance over every
 *   response token of the step's whole buffer (ORZ: orz/ppo/utils.py:293-319, called from
 *   orz/ppo/trainer.py:120 before the buffer is split; eps floors the variance there).
 *   Fewer than 2 tokens: returned unchanged (a spread of one value means nothing).
 * - `group`: A − mean over the tokens of the same prompt's sequences.
 * - `group_std`: (A − mean) / (std + eps) over the same prompt's tokens.
 * - `none`: unchanged copies.
 * Padding never enters a statistic: arrays hold response tokens only.
 */
export function normalizeAdvantages(
  advantages: Ragged,
  groups: readonly number[],
  mode: AdvantageNorm,
  eps: number,
): Ragged {
  if (groups.length !== advantages.length) {
    throw new Error(`normalizeAdvantages: ${advantages.length} sequences, ${groups.length} groups`);
  }
  const out = advantages.map((a) => Float64Array.from(a));
  if (mode === "none") return out;
  if (mode === "batch") {
    const { mean, std, count } = moments(advantages);
    if (count < 2) return out;
    const inv = 1 / Math.sqrt(Math.max(std * std, eps));
    for (const a of out) for (let t = 0; t < a.length; t++) a[t] = (a[t] - mean) * inv;
    return out;
  }
  const members = new Map<number, number[]>();
  groups.forEach((g, i) => members.set(g, [...(members.get(g) ?? []), i]));
  for (const idx of members.values()) {
    const { mean, std } = moments(idx.map((i) => advantages[i]));
    const div = mode === "group_std" ? std + eps : 1;
    for (const i of idx) {
      for (let t = 0; t < out[i].length; t++) out[i][t] = (out[i][t] - mean) / div;
    }
  }
  return out;
}

/**
 * GRPO's outcome advantages: one value per sequence from its prompt group's scores,
 * (R_i − mean_g) / (std_g + eps) with the unbiased std (`group_std`, as DeepSeekMath, TRL and
 * verl compute it; a group of one has std 0), or R_i − mean_g (`group`, Dr. GRPO), then
 * broadcast to every token of the sequence.
 */
export function groupAdvantages(
  scores: readonly number[],
  groups: readonly number[],
  lengths: readonly number[],
  mode: "group" | "group_std",
  eps: number,
): Ragged {
  const members = new Map<number, number[]>();
  groups.forEach((g, i) => members.set(g, [...(members.get(g) ?? []), i]));
  const seq = new Float64Array(scores.length);
  for (const idx of members.values()) {
    const mean = idx.reduce((s, i) => s + scores[i], 0) / idx.length;
    const ss = idx.reduce((s, i) => s + (scores[i] - mean) ** 2, 0);
    const std = idx.length > 1 ? Math.sqrt(ss / (idx.length - 1)) : 0;
    for (const i of idx) {
      seq[i] = mode === "group_std" ? (scores[i] - mean) / (std + eps) : scores[i] - mean;
    }
  }
  return lengths.map((n, i) => new Float64Array(n).fill(seq[i]));
}

/** 1 − Var(returns − values) / Var(returns) over every token (NaN when returns are constant). */
export function explainedVariance(values: Ragged, returns: Ragged): number {
  const diff = returns.map((r, i) => r.map((x, t) => x - values[i][t]));
  const vr = moments(returns).std ** 2;
  return vr > 0 ? 1 - moments(diff).std ** 2 / vr : NaN;
}
