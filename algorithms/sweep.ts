/**
 * Sweeps: a base config, named variants and/or a grid of dotted keys, and seeds, expanded
 * into independent runs under `runs/<sweep>/<variant>-s<seed>/`.
 *
 *   name: orz_claims
 *   base: configs/tiny_parity_ppo.yaml
 *   set: [train.steps=40]            # overrides shared by every run
 *   seeds: [0, 1, 2]
 *   variants:                         # the first is the reference the report compares to
 *     orz: []
 *     lambda_0.95: [gae.lambda=0.95]
 *   grid:                             # and/or the product of these values
 *     gae.gamma: [1, 0.99]
 *
 * Runs go seed by seed (every variant's first seed, then every variant's second, …). Each
 * run is one `deno task train` (so `--list` can hand them to a scheduler); the summary
 * only reads run folders. Re-running a sweep skips finished runs and resumes interrupted
 * ones from their newest checkpoint; since a resumed run reproduces the uninterrupted one,
 * the sweep's numbers do not depend on interruptions.
 *
 * @module
 */
import { z } from "zod";
import {
  ConfigError,
  parseWith,
  readConfigFile,
  resolveConfig,
  type RunConfig,
} from "../config.ts";
import { listCheckpoints } from "./checkpoint.ts";
import { meanStd } from "../report/groups.ts";

export { meanStd };

export const SweepSchema = z.object({
  name: z.string().regex(/^[\w.-]+$/, "letters, digits, _ . - only").describe("runs/<name>/"),
  base: z.string().describe("the base run config (YAML preset)"),
  set: z.array(z.string()).default([]).describe("key=value overrides shared by every run"),
  seeds: z.array(z.number().int().min(0)).min(1).default([0]),
  variants: z.record(z.array(z.string())).default({}).describe(
    "named variants, each a list of key=value overrides; the first is the reference",
  ),
  grid: z.record(z.array(z.union([z.number(), z.string(), z.boolean(), z.null()])).min(1))
    .default({}).describe("dotted key → values; every combination is a variant"),
  dir: z.string().nullable().default(null).describe("where run folders go; null: runs/<name>"),
}).strict();

export type Sweep = z.infer<typeof SweepSchema>;

/** One run of a sweep. */
export interface SweepRun {
  variant: string;
  seed: number;
  dir: string;
  /** Every override applied to the base, in order. */
  overrides: string[];
  config: RunConfig;
}

/** Read and validate a sweep file; every run's config is resolved (so errors come first). */
export function loadSweep(path: string): { sweep: Sweep; runs: SweepRun[] } {
  const sweep = parseWith(SweepSchema, readConfigFile(path), path);
  const variants: [string, string[]][] = Object.entries(sweep.variants);
  const keys = Object.keys(sweep.grid);
  if (keys.length > 0) {
    let combos: [string, string[]][] = [["", []]];
    for (const key of keys) {
      combos = combos.flatMap(([name, sets]) =>
        sweep.grid[key].map((v): [string, string[]] => [
          `${name ? `${name},` : ""}${key.split(".").at(-1)}=${v}`,
          [...sets, `${key}=${JSON.stringify(v)}`],
        ])
      );
    }
    variants.push(...combos);
  }
  if (variants.length === 0) {
    throw new ConfigError(`${path}: the sweep has no variants and no grid: nothing to run`);
  }
  const names = new Set<string>();
  for (const [name] of variants) {
    if (names.has(name)) throw new ConfigError(`${path}: variant "${name}" appears twice`);
    names.add(name);
  }
  const root = sweep.dir ?? `runs/${sweep.name}`;
  // Seed-major: every variant's first seed runs before any variant's second, so a sweep
  // cut short (or still running) already compares every variant.
  const runs: SweepRun[] = [];
  for (const seed of sweep.seeds) {
    for (const [variant, sets] of variants) {
      const dir = `${root}/${variant.replace(/[^\w.,=-]/g, "_")}-s${seed}`;
      const overrides = [...sweep.set, ...sets, `run.seed=${seed}`, `run.dir=${dir}`];
      let config: RunConfig;
      try {
        config = resolveConfig(sweep.base, overrides);
      } catch (e) {
        throw new ConfigError(`${path}: variant "${variant}": ${(e as Error).message}`);
      }
      runs.push({ variant, seed, dir, overrides, config });
    }
  }
  return { sweep, runs };
}

/** What a run folder holds: finished, resumable (has a checkpoint), or nothing usable. */
export async function runState(run: SweepRun): Promise<"done" | "resume" | "fresh"> {
  try {
    const s = JSON.parse(await Deno.readTextFile(`${run.dir}/summary.json`));
    if (s.steps === run.config.train.steps) return "done";
  } catch { /* no summary */ }
  return (await listCheckpoints(`${run.dir}/checkpoints`)).length > 0 ? "resume" : "fresh";
}

/** The shell command that runs one sweep run (for a scheduler: `deno task ablate --list`). */
export function runCommand(sweep: Sweep, run: SweepRun): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    "deno task train --config",
    q(sweep.base),
    ...run.overrides.flatMap((o) => ["--set", q(o)]),
    "--quiet",
  ].join(" ");
}

/** Per variant: final held-out accuracy, length, reward and time as mean ± std over seeds. */
export async function summariseSweep(sweep: Sweep, runs: SweepRun[]) {
  const byVariant = new Map<string, SweepRun[]>();
  for (const r of runs) byVariant.set(r.variant, [...(byVariant.get(r.variant) ?? []), r]);
  const variants = [];
  for (const [variant, rs] of byVariant) {
    const finals = await Promise.all(rs.map(async (r) => {
      const s = JSON.parse(await Deno.readTextFile(`${r.dir}/summary.json`));
      return s;
    }));
    variants.push({
      variant,
      overrides: rs[0].overrides.filter((o) =>
        !/^run\.(seed|dir)=/.test(o) && !sweep.set.includes(o)
      ),
      seeds: rs.map((r) => r.seed),
      final_accuracy: meanStd(finals.map((s) => s.final_accuracy)),
      base_accuracy: meanStd(finals.map((s) => s.base_accuracy)),
      final_length: meanStd(finals.map((s) => s.final_length)),
      final_train_reward: meanStd(finals.map((s) => s.final_train_reward)),
      seconds: meanStd(finals.map((s) => s.seconds)),
      runs: rs.map((r) => r.dir),
    });
  }
  return { name: sweep.name, base: sweep.base, set: sweep.set, variants };
}
