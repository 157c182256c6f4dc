/**
 * `deno task ablate SWEEP.yaml [--list | --index I | --report] [--quiet]`: run a sweep's runs
 * one after another (finished ones skipped, interrupted ones resumed), then write
 * `runs/<sweep>/summary.json` and `report.html` and print the table.
 *
 * For a cluster scheduler: `--list` prints one independent `deno task train` command per run;
 * `--index I` runs only run I (0-based, in `--list` order: a Slurm array's
 * `$SLURM_ARRAY_TASK_ID`, a Kubernetes Indexed Job's `$JOB_COMPLETION_INDEX`), skipping it
 * when finished and resuming it when interrupted; `--report` trains nothing and writes the
 * summary and report from the run folders, so it runs once every job is done.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../config.ts";
import { initGpu } from "../kernels/core/device.ts";
import {
  loadSweep,
  runCommand,
  runState,
  summariseSweep,
  type Sweep,
  type SweepRun,
} from "./sweep.ts";
import { resumeRun, train } from "./trainer.ts";
import { writeReport } from "../report/report.ts";

export async function ablateMain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      list: { type: "boolean", default: false },
      index: { type: "string" },
      report: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) {
    throw new ConfigError("ablate needs one sweep file: deno task ablate configs/ablate/NAME.yaml");
  }
  const { sweep, runs: all } = loadSweep(positionals[0]);
  if ([values.list, values.index !== undefined, values.report].filter(Boolean).length > 1) {
    throw new ConfigError("ablate: --list, --index and --report are alternatives; give one");
  }
  if (values.list) {
    for (const r of all) console.log(runCommand(sweep, r));
    return 0;
  }
  if (values.report) return await summarise(sweep, all);
  let runs = all;
  if (values.index !== undefined) {
    const i = Number(values.index);
    if (!/^\d+$/.test(values.index) || i >= all.length) {
      throw new ConfigError(
        `ablate --index: expected a run index 0…${
          all.length - 1
        } (--list order), got "${values.index}"`,
      );
    }
    runs = [all[i]];
  }
  await initGpu();
  let stop: Deno.Signal | null = null;
  const onSignal = (sig: Deno.Signal) => () => {
    if (stop) Deno.exit(130);
    stop = sig;
    console.error(`\n${sig}: stopping after this step; re-run the sweep to finish it`);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  handlers.forEach(([s, h]) => Deno.addSignalListener(s, h));
  try {
    for (const run of runs) {
      const state = await runState(run);
      const label = `[${all.indexOf(run) + 1}/${all.length}] ${run.variant} seed ${run.seed}`;
      if (state === "done") {
        console.log(`${label}: done, skipped`);
        continue;
      }
      console.log(`${label}: ${state === "resume" ? "resuming" : "starting"} in ${run.dir}`);
      if (state === "fresh") await Deno.remove(run.dir, { recursive: true }).catch(() => {});
      const opts = { quiet: values.quiet, shouldStop: () => stop !== null };
      const r = state === "resume"
        ? await resumeRun(run.dir, run.config, opts)
        : await train(run.config, opts);
      if (r.interrupted) return stop === "SIGTERM" ? 143 : 130;
    }
  } finally {
    handlers.forEach(([s, h]) => Deno.removeSignalListener(s, h));
  }
  // One run of an array job: the summary waits for `--report` once all are done.
  if (values.index !== undefined) return 0;
  return await summarise(sweep, all);
}

/** Write the sweep's summary.json and report.html from its (finished) run folders. */
async function summarise(sweep: Sweep, runs: SweepRun[]): Promise<number> {
  const missing: string[] = [];
  for (const r of runs) if ((await runState(r)) !== "done") missing.push(r.dir);
  if (missing.length) {
    throw new ConfigError(
      `${sweep.name}: ${missing.length} of ${runs.length} runs are not finished ` +
        `(first: ${missing[0]}); run them (deno task ablate FILE, or --index I) before the report`,
    );
  }
  const summary = await summariseSweep(sweep, runs);
  const root = sweep.dir ?? `runs/${sweep.name}`;
  await Deno.writeTextFile(`${root}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
  const report = await writeReport(runs.map((r) => r.dir), `${root}/report.html`);
  console.log(`\n${sweepTable(summary)}\n\nsummary: ${root}/summary.json; report: ${report}`);
  return 0;
}

type Summary = Awaited<ReturnType<typeof summariseSweep>>;

/** The sweep's table in Markdown: mean ± std over seeds. */
export function sweepTable(s: Summary): string {
  const f = (x: { mean: number; std: number } | null, d = 3) =>
    x ? `${x.mean.toFixed(d)} ± ${x.std.toFixed(d)}` : "-";
  return [
    "| variant | overrides | seeds | held-out accuracy (base → final) | length | train reward | seconds |",
    "|---|---|---:|---|---|---|---:|",
    ...s.variants.map((v) =>
      `| ${v.variant} | ${v.overrides.join(" ") || "(reference)"} | ${v.seeds.length} | ` +
      `${f(v.base_accuracy)} → ${f(v.final_accuracy)} | ${f(v.final_length, 1)} | ` +
      `${f(v.final_train_reward)} | ${f(v.seconds, 0)} |`
    ),
  ].join("\n");
}
