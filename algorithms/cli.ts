/**
 * `deno task train` and `deno task eval`.
 *
 *   deno task train                     (the main job: configs/tiny_parity_ppo.yaml)
 *   deno task train --config configs/<preset>.yaml [--set key=value …] [--quiet]
 *   deno task train --resume runs/<name> [--set train.steps=M …]
 *   deno task eval --model DIR --data FILE [--k K] [--greedy] [--out summary.json]
 *
 * SIGINT/SIGTERM during training stop at the end of the current step, write a checkpoint
 * and exit non-zero with the resume command.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, resolveConfig } from "../config.ts";
import { initGpu } from "../kernels/core/device.ts";
import { loadModel } from "../models/checkpoint.ts";
import { loadTokenizer } from "../models/tokenizer.ts";
import { loadProblems } from "../data/loaders.ts";
import { ORZ_STOP_STRINGS } from "../data/template.ts";
import { orzPrompt } from "../data/template.ts";
import { evaluate } from "./evaluate.ts";
import { resumeRun, runDir, train } from "./trainer.ts";

/** What `deno task train` runs with no arguments. */
export const DEFAULT_PRESET = "configs/tiny_parity_ppo.yaml";

/** `train`: a new run from a preset, or `--resume` an existing run folder. */
export async function trainMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      resume: { type: "string" },
      set: { type: "string", multiple: true, default: [] },
      quiet: { type: "boolean", default: false },
    },
  });
  if (values.config && values.resume) {
    throw new ConfigError("train takes --config FILE or --resume RUN_DIR, not both");
  }
  // No arguments: the main job, ORZ's recipe on the shipped base model.
  if (!values.config && !values.resume) values.config = DEFAULT_PRESET;
  const overrides = values.set ?? [];
  let cfg;
  let dir: string;
  if (values.resume) {
    dir = values.resume;
    const saved = `${dir}/config.yaml`;
    try {
      await Deno.stat(saved);
    } catch {
      throw new ConfigError(`${dir}: not a run folder (no config.yaml); nothing to resume`);
    }
    cfg = resolveConfig(saved, overrides);
  } else {
    cfg = resolveConfig(values.config!, overrides);
    if (cfg.run.dir === null) {
      // Never refuse a second run of the same preset: take the next free runs/<name>-N.
      const taken = (d: string) => Deno.stat(`${d}/metrics.jsonl`).then(() => true, () => false);
      let d = `runs/${cfg.run.name}`;
      for (let n = 2; await taken(d); n++) d = `runs/${cfg.run.name}-${n}`;
      cfg = { ...cfg, run: { ...cfg.run, dir: d } };
    }
    dir = runDir(cfg);
  }
  await initGpu();
  let stopSignal: Deno.Signal | null = null;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const h = () => {
      if (stopSignal) Deno.exit(sig === "SIGINT" ? 130 : 143); // a second signal: leave now
      stopSignal = sig;
      console.error(`\n${sig}: stopping after this step and writing a checkpoint…`);
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  try {
    const opts = { quiet: values.quiet, shouldStop: () => stopSignal !== null };
    const r = values.resume ? await resumeRun(dir, cfg, opts) : await train(cfg, opts);
    if (r.interrupted) {
      console.error(
        `stopped at step ${r.steps}; checkpoint ${r.checkpoint}\n` +
          `resume with: deno task train --resume ${r.dir}`,
      );
      return stopSignal === "SIGTERM" ? 143 : 130;
    }
    if (!values.quiet) {
      const summary = JSON.parse(await Deno.readTextFile(`${r.dir}/summary.json`));
      const show = (k: string) => summary[k] === null ? "-" : Number(summary[k]).toFixed(3);
      console.log(
        `done: ${r.steps} steps in ${Number(summary.seconds).toFixed(0)} s; held-out accuracy ` +
          `${show("base_accuracy")} → ${show("final_accuracy")}, length ${show("base_length")} → ` +
          `${show("final_length")}; run folder ${r.dir}; report ${r.report}`,
      );
    }
    return 0;
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  }
}

const EVAL_USAGE =
  "usage: deno task eval --model DIR --data FILE [--data FILE …] [--k K] [--greedy]\n" +
  "       [--max-new-tokens N] [--temperature T] [--template full|short] [--extract orz|boxed|answer|auto]\n" +
  "       [--limit N] [--seed S] [--out summary.json]";

/** `eval`: avg@k and pass@k of any checkpoint on one or more datasets. */
export async function evalMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      data: { type: "string", multiple: true, default: [] },
      k: { type: "string", default: "1" },
      greedy: { type: "boolean", default: false },
      "max-new-tokens": { type: "string", default: "1024" },
      temperature: { type: "string", default: "1" },
      template: { type: "string", default: "full" },
      extract: { type: "string", default: "orz" },
      limit: { type: "string" },
      seed: { type: "string", default: "0" },
      "batch-size": { type: "string", default: "64" },
      out: { type: "string" },
    },
  });
  if (!values.model || values.data!.length === 0) {
    console.error(EVAL_USAGE);
    return 2;
  }
  const num = (key: string, v: string | undefined, int = true): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < 0) {
      throw new ConfigError(
        `--${key}: expected a non-negative ${int ? "integer" : "number"}, got "${v}"`,
      );
    }
    return n;
  };
  const k = num("k", values.k);
  if (k < 1) throw new ConfigError(`--k: expected at least 1, got ${k}`);
  const template = values.template;
  if (template !== "full" && template !== "short") {
    throw new ConfigError(`--template: expected full or short, got "${template}"`);
  }
  const extract = values.extract as "orz" | "boxed" | "answer" | "auto";
  if (!["orz", "boxed", "answer", "auto"].includes(extract)) {
    throw new ConfigError(`--extract: expected orz, boxed, answer or auto, got "${extract}"`);
  }
  const limit = values.limit === undefined ? undefined : num("limit", values.limit);
  const sampling = {
    samples: values.greedy ? 1 : k,
    maxNewTokens: num("max-new-tokens", values["max-new-tokens"]),
    temperature: values.greedy ? 0 : num("temperature", values.temperature, false),
    topP: 1,
    topK: 0,
    stop: [...ORZ_STOP_STRINGS],
    seed: num("seed", values.seed),
    batchSize: num("batch-size", values["batch-size"]),
  };
  // Read every dataset before starting the GPU, so a bad file fails fast.
  const sets = [];
  for (const path of values.data!) {
    sets.push({ path, problems: await loadProblems(path, { limit }) });
  }
  await initGpu();
  const model = await loadModel(values.model);
  const tokenizer = await loadTokenizer(values.model);
  const results: Record<string, unknown> = {};
  for (const { path, problems } of sets) {
    const encode = (p: { question: string }) =>
      tokenizer.encode(orzPrompt(p.question, { style: template }));
    const r = await evaluate(model, tokenizer, problems, encode, sampling, {
      name: "math",
      extract,
      truncatedReward: 0,
    });
    results[path] = r.metrics;
    const m = r.metrics;
    console.log(
      `${path}: ${problems.length} problems × ${sampling.samples}: avg@${sampling.samples} ` +
        `${m["eval/accuracy"].toFixed(4)}  pass@${sampling.samples} ` +
        `${m[`eval/pass@${sampling.samples}`].toFixed(4)}  length ${
          m["eval/length_mean"].toFixed(1)
        }  ` +
        `stop ${m["eval/stop_ratio"].toFixed(3)}`,
    );
  }
  const summary = { model: values.model, sampling, datasets: results };
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(summary, null, 2) + "\n");
  else console.log(JSON.stringify(summary));
  return 0;
}
