/**
 * `deno task ablate SWEEP.yaml [--list] [--quiet]`: run a sweep's runs one after another
 * (finished ones skipped, interrupted ones resumed), then write `runs/<sweep>/summary.json`
 * and print the table. `--list` prints one `deno task train` command per run instead, for a
 * cluster scheduler; the summary step only reads run folders, so it works after those too.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../config.ts";
import { initGpu } from "../kernels/device.ts";
import { loadSweep, runCommand, runState, summariseSweep } from "./sweep.ts";
import { resumeRun, train } from "./trainer.ts";
import { writeReport } from "../report/report.ts";

export async function ablateMain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      list: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) {
    throw new ConfigError("ablate needs one sweep file: deno task ablate configs/ablate/NAME.yaml");
  }
  const { sweep, runs } = loadSweep(positionals[0]);
  if (values.list) {
    for (const r of runs) console.log(runCommand(sweep, r));
    return 0;
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
    for (const [i, run] of runs.entries()) {
      const state = await runState(run);
      const label = `[${i + 1}/${runs.length}] ${run.variant} seed ${run.seed}`;
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
