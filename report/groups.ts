/**
 * Runs grouped into variants for a comparison: runs whose resolved configs agree on every
 * key outside `run.*` (name, seed, folder) and where the rollouts ran (`distributed.redis`,
 * `store`, `prefix`, `timeout_s`) are seeds of one variant. The variant running
 * ORZ's recipe (see `isOrzRecipe`) comes first and is the reference; every other variant is
 * described by its overrides of the reference (`gae.lambda=0.95`), and its numbers are
 * means ± sample std over its seeds.
 *
 *   const variants = groupRuns(await loadRuns(["runs/a-s0", "runs/a-s1", "runs/b-s0"]));
 *   variants[0].overrides;  // [] — the reference
 *   variants[1].overrides;  // ["gae.lambda=0.95"]
 *
 * @module
 */
import { num, type RunData } from "./load.ts";

type Config = Record<string, unknown>;

/** Runs that differ only in `run.*`, with how they differ from the reference variant. */
export interface Variant {
  label: string;
  runs: RunData[];
  /** `key=value` for every key where this variant's config differs from the reference's. */
  overrides: string[];
  /** The first variant: ORZ's recipe when one of them runs it, else the first given. */
  reference: boolean;
  /** Whether this variant runs ORZ's recipe (`isOrzRecipe`). */
  orz: boolean;
}

/**
 * ORZ's recipe: PPO with a critic, GAE γ = λ = 1, no KL (so no reference model), and a
 * reward with no format term. Missing keys (a config from an older run) do not count as it.
 */
export function isOrzRecipe(c: Config | null): boolean {
  if (c === null) return false;
  const reward = String(get(c, "reward.name") ?? "");
  return get(c, "algorithm") === "ppo" && get(c, "gae.gamma") === 1 &&
    get(c, "gae.lambda") === 1 && get(c, "kl.mode") === "none" && reward !== "" &&
    !reward.includes("format");
}

/** Group runs into variants (first appearance order, the ORZ-recipe variant moved first). */
export function groupRuns(runs: readonly RunData[]): Variant[] {
  const groups = new Map<string, RunData[]>();
  for (const [i, r] of runs.entries()) {
    // A run without config.yaml cannot be matched with anything: a variant of its own.
    const key = r.config === null ? `\u0000${i}` : stableJson(withoutRun(r.config));
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const list = [...groups.values()];
  const orzAt = list.findIndex((rs) => isOrzRecipe(rs[0].config));
  if (orzAt > 0) list.unshift(...list.splice(orzAt, 1));
  const ref = list[0][0].config;
  const labels = uniqueVariantLabels(list);
  return list.map((rs, i) => ({
    label: labels[i],
    runs: rs,
    overrides: i === 0 || ref === null || rs[0].config === null
      ? []
      : configDiff(ref, rs[0].config),
    reference: i === 0,
    orz: isOrzRecipe(rs[0].config),
  }));
}

/**
 * The `key=value` overrides that turn config `a` into config `b`, outside `run.*`: leaves
 * are scalars and arrays; a key only `b` has is listed, one only `a` has reads `key=null`.
 */
export function configDiff(a: Config, b: Config): string[] {
  const fa = flatten(withoutRun(a));
  const fb = flatten(withoutRun(b));
  const keys = [...new Set([...fa.keys(), ...fb.keys()])];
  const out: string[] = [];
  for (const k of keys) {
    const va = fa.get(k);
    const vb = fb.get(k);
    if (stableJson(va) === stableJson(vb)) continue;
    out.push(
      `${k}=${vb === undefined ? "null" : typeof vb === "string" ? vb : JSON.stringify(vb)}`,
    );
  }
  return out;
}

/** Mean and sample std over values (std 0 for one value); null when none is finite. */
export function meanStd(xs: readonly (number | undefined)[]) {
  const v = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  if (v.length === 0) return null;
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const ss = v.reduce((s, x) => s + (x - mean) ** 2, 0);
  return { mean, std: v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0, n: v.length };
}

/** One point of a variant's curve: the mean over its seeds at a step, and mean ± std. */
export interface BandPoint {
  run: string;
  step: number;
  value: number;
  lo: number;
  hi: number;
  /** Seeds that logged the metric at this step. */
  n: number;
}

/**
 * A variant's curve of `metric`: at every step some seed logged it, the mean over the seeds
 * that did and the band mean ± std. With `window` > 0 each seed's curve is first smoothed by
 * a centred moving mean over 2·window + 1 of its points (fewer at the ends).
 */
export function bandCurve(v: Variant, metric: string, window = 0): BandPoint[] {
  const bySteps = new Map<number, number[]>();
  for (const r of v.runs) {
    const pts = r.metrics.flatMap((m) => {
      const x = num(m, metric);
      return x === undefined ? [] : [{ step: m.step, x }];
    }).sort((p, q) => p.step - q.step);
    const smoothed = window > 0
      ? pts.map((p, i) => {
        const w = pts.slice(Math.max(0, i - window), i + window + 1);
        return { step: p.step, x: w.reduce((s, q) => s + q.x, 0) / w.length };
      })
      : pts;
    for (const p of smoothed) bySteps.set(p.step, [...(bySteps.get(p.step) ?? []), p.x]);
  }
  return [...bySteps.entries()].sort(([a], [b]) => a - b).map(([step, xs]) => {
    const s = meanStd(xs)!;
    return { run: v.label, step, value: s.mean, lo: s.mean - s.std, hi: s.mean + s.std, n: s.n };
  });
}

/** A run's headline numbers: summary.json where present, else its metric lines. */
export function runFinals(r: RunData) {
  const s = r.summary;
  const evals = r.metrics.filter((m) => num(m, "eval/accuracy") !== undefined);
  const base = evals.find((m) => m.step === 0);
  const final = evals.filter((m) => m.step > 0).at(-1);
  const n = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : undefined;
  return {
    base_accuracy: n(s?.base_accuracy) ?? num(base, "eval/accuracy"),
    final_accuracy: n(s?.final_accuracy) ?? num(final, "eval/accuracy"),
    base_length: n(s?.base_length) ?? num(base, "eval/length_mean"),
    final_length: n(s?.final_length) ?? num(final, "eval/length_mean"),
    reward: lastOf(r, "reward/mean"),
    length: lastOf(r, "response/length_mean"),
    stop_ratio: lastOf(r, "response/stop_ratio"),
    entropy: lastOf(r, "entropy"),
    steps: n(s?.steps) ?? Math.max(0, ...r.metrics.map((m) => m.step)),
    seconds: n(s?.seconds),
  };
}

/** The last finite value of `key` over a run's metric lines. */
export function lastOf(r: RunData, key: string): number | undefined {
  for (let i = r.metrics.length - 1; i >= 0; i--) {
    const v = num(r.metrics[i], key);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A variant's label: its runs' shared label less a seed/number suffix (`ppo-s1` → `ppo`). */
function uniqueVariantLabels(groups: RunData[][]): string[] {
  const labels = groups.map((rs) => {
    const stems = [...new Set(rs.map((r) => r.label.replace(/[-_](s|seed)?\d+$/, "")))];
    if (rs.length === 1) return rs[0].label;
    return stems.length === 1 ? stems[0] : `${rs[0].label} (+${rs.length - 1})`;
  });
  const seen = new Map<string, number>();
  return labels.map((l) => {
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    return n === 1 ? l : `${l} (${n})`;
  });
}

/** Keys that say where a run ran, not what it computed. */
const PLACEMENT = ["redis", "store", "prefix", "timeout_s"];

function withoutRun(c: Config): Config {
  const { run: _run, ...rest } = c;
  const d = rest.distributed;
  if (d && typeof d === "object") {
    const kept = Object.entries(d as Config).filter(([k]) => !PLACEMENT.includes(k));
    // On-policy with the local batches computes what a run from before the section did.
    const local = kept.every(([k, v]) =>
      (k === "max_lag" && v === 0) || (k === "task_size" && v === null)
    );
    if (local) delete rest.distributed;
    else rest.distributed = Object.fromEntries(kept);
  }
  return rest;
}

function flatten(c: Config, prefix = "", out = new Map<string, unknown>()) {
  for (const [k, v] of Object.entries(c)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      flatten(v as Config, key, out);
    } else out.set(key, v);
  }
  return out;
}

/** JSON with object keys sorted, so equal configs give equal strings. */
function stableJson(v: unknown): string {
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const o = v as Config;
    return `{${
      Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

function get(c: Config | null | undefined, path: string): unknown {
  let v: unknown = c;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Config)[k];
  }
  return v;
}
