/**
 * Pretraining a tiny base model of our own, so ORZ's recipe runs offline with no download:
 * next-token loss on completion tokens only, over a synthetic corpus in which some examples
 * are worked solutions (a running trace, then the answer) and the rest are direct answers.
 * The corpus follows the RL prompt format exactly: `User: {question}\nAssistant: <think>`
 * then ` {trace} </think> <answer>{gold}</answer>` and EOS.
 *
 * Why this base (see README, "The main job"): RL can only lengthen reasoning if the base
 * already knows both modes and the worked one is more reliable on hard instances. Direct
 * answers to parity of many bits cannot be computed in one jump by a 3-layer model; the
 * trace makes each step a copy plus a 2-entry lookup. Pretraining is bounded by steps (not
 * time), so every machine makes the same base.
 *
 * After training, {@link probeBase} measures the base's accuracy by difficulty with each mode
 * forced (direct: the response is started with ` </think> <answer>`; worked: started with the
 * trace's first step) and in its natural mix — the table that picks the RL range.
 *
 * @module
 */
import { z } from "zod";
import { AdamW } from "../kernels/optim/adamw.ts";
import { backward, zeroGrad } from "../kernels/core/autograd.ts";
import { clipGradNorm } from "../kernels/optim/grad_norm.ts";
import { crossEntropy } from "../kernels/reduce/logprobs.ts";
import { readAll, scope } from "../kernels/core/tensor.ts";
import { saveModel } from "../models/checkpoint.ts";
import { generate } from "../models/generate.ts";
import type { CharTokenizer } from "../models/tokenizer.ts";
import { Transformer } from "../models/transformer.ts";
import { math } from "../rewards/math.ts";
import { applyOverrides, ModelShapeSchema, parseWith, readConfigFile } from "../config.ts";
import { shuffle } from "../data/shuffle.ts";
import { formatResponse, type SyntheticProblem, syntheticProblems } from "../data/synthetic.ts";
import { orzPrompt } from "../data/template.ts";
import { Packed } from "./batch.ts";
import { lineSpec, toSvg } from "../report/plots.ts";
import { Progress } from "./progress.ts";
import { STREAM, streamSeed } from "./seeds.ts";
import { llamaConfig, taskTokenizer } from "./setup.ts";
import { warmupLr } from "./learner.ts";
import { seededUniform } from "../models/init.ts";

/** The pretraining config (configs/pretrain_*.yaml); strict like the run config. */
export const PretrainConfigSchema = z.object({
  run: z.object({
    name: z.string().default("pretrain"),
    dir: z.string().nullable().default(null).describe("null: runs/<name>"),
    seed: z.number().int().min(0).default(0),
  }).strict().default({}),
  task: z.enum(["parity", "chain_mod3"]).default("parity"),
  difficulty: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([1, 12])
    .describe("inclusive range of instance sizes in the corpus (easy ones included)"),
  worked_fraction: z.number().min(0).max(1).default(0.25).describe(
    "share of corpus examples written as worked solutions; the rest are direct answers",
  ),
  pool: z.number().int().positive().default(20000).describe("distinct train problems drawn"),
  model: ModelShapeSchema.default({}),
  train: z.object({
    steps: z.number().int().min(0).default(3500),
    batch: z.number().int().positive().default(32),
    lr: z.number().positive().default(2e-3),
    warmup_steps: z.number().int().min(0).default(100),
    final_lr_fraction: z.number().min(0).max(1).default(0.1).describe(
      "cosine decay from lr to lr × this over the steps after warm-up",
    ),
    betas: z.tuple([z.number(), z.number()]).default([0.9, 0.95]),
    weight_decay: z.number().min(0).default(0.01),
    grad_clip: z.number().positive().default(1),
  }).strict().default({}),
  probe: z.object({
    problems: z.number().int().positive().default(64).describe(
      "held-out problems per difficulty in the probe table",
    ),
    max_new_tokens: z.number().int().positive().default(96),
  }).strict().default({}),
  log_every: z.number().int().positive().default(50),
}).strict();

export type PretrainConfig = z.infer<typeof PretrainConfigSchema>;

/** Resolve a pretraining config: defaults < YAML file < `--set` overrides. */
export function resolvePretrainConfig(path: string | null, overrides: readonly string[] = []) {
  const raw = path ? readConfigFile(path) : {};
  parseWith(PretrainConfigSchema, raw, path ?? "config");
  const merged = applyOverrides(raw, overrides, PretrainConfigSchema);
  return parseWith(PretrainConfigSchema, merged, overrides.length ? "--set" : path ?? "config");
}

/** The base model's shape as a Hugging Face config. */
export function baseModelConfig(cfg: PretrainConfig, tok: CharTokenizer) {
  return llamaConfig(cfg.model, tok, "pretrain model");
}

/** lr at step k: linear warm-up, then cosine decay to `final_lr_fraction` × lr. */
export function pretrainLr(cfg: PretrainConfig["train"], k: number): number {
  if (k < cfg.warmup_steps) return warmupLr(cfg.lr, k, cfg.warmup_steps);
  const span = Math.max(1, cfg.steps - cfg.warmup_steps);
  const t = Math.min(1, (k - cfg.warmup_steps) / span);
  const f = cfg.final_lr_fraction;
  return cfg.lr * (f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** The batch of step `step`: problems from the seeded stream, each worked or direct. */
function corpusBatch(
  cfg: PretrainConfig,
  order: SyntheticProblem[],
  step: number,
  tok: CharTokenizer,
): { prompt: number[]; response: number[] }[] {
  const pick = seededUniform(streamSeed(cfg.run.seed, step, STREAM.corpus));
  return Array.from({ length: cfg.train.batch }, (_, i) => {
    const p = order[(step * cfg.train.batch + i) % order.length];
    const mode = pick() < cfg.worked_fraction ? "worked" : "direct";
    return {
      prompt: tok.encode(orzPrompt(p.question, { style: "short" })),
      response: [...tok.encode(formatResponse(p, mode)), tok.eosTokenId],
    };
  });
}

export interface PretrainResult {
  model: Transformer;
  tokenizer: CharTokenizer;
  /** Loss of every step. */
  losses: number[];
}

/**
 * Train a base model from scratch. `onLog(step, loss)` every `log_every` steps. Same config
 * and seed → the same losses and weights on the same adapter.
 */
export async function pretrain(
  cfg: PretrainConfig,
  opts: {
    quiet?: boolean;
    onLog?: (step: number, loss: number) => void;
    /** Stop after this many steps of the configured schedule (a reproduction check). */
    maxSteps?: number;
  } = {},
): Promise<PretrainResult> {
  const steps = Math.min(cfg.train.steps, opts.maxSteps ?? Infinity);
  const tokenizer = taskTokenizer(cfg.task);
  const model = Transformer.random(baseModelConfig(cfg, tokenizer), {
    seed: streamSeed(cfg.run.seed, STREAM.init),
  }).setTrainable(true);
  const pool = syntheticProblems(cfg.task, {
    split: "train",
    difficulty: cfg.difficulty,
    count: cfg.pool,
    seed: cfg.run.seed,
  });
  const order = shuffle(pool, streamSeed(cfg.run.seed, STREAM.corpus));
  const params = model.parameters();
  const opt = new AdamW(params, {
    lr: cfg.train.lr,
    betas: cfg.train.betas as [number, number],
    weightDecay: cfg.train.weight_decay,
    noDecay: (p) => p.rank === 1,
  });
  const losses: number[] = [];
  const progress = new Progress(steps, {
    quiet: opts.quiet,
    fields: [["loss", "pretrain/loss", 4]],
  });
  progress.start(0);
  const pending: { step: number; loss: ReturnType<typeof crossEntropy> }[] = [];
  let since = performance.now();
  const drain = async () => {
    const vals = await readAll(pending.map((p) => p.loss));
    const perStep = (performance.now() - since) / 1000 / Math.max(1, pending.length);
    since = performance.now();
    pending.forEach((p, i) => {
      losses[p.step] = vals[i][0];
      p.loss.dispose();
    });
    const last = pending.at(-1);
    pending.length = 0;
    if (last) {
      opts.onLog?.(last.step + 1, losses[last.step]);
      progress.update(last.step + 1, { "pretrain/loss": losses[last.step], "time/step": perStep });
    }
  };
  for (let step = 0; step < steps; step++) {
    const packed = new Packed(corpusBatch(cfg, order, step, tokenizer));
    const loss = scope(() => {
      const logits = model.forward(packed.batch());
      const V = logits.shape[logits.rank - 1];
      const l = crossEntropy(logits.reshape([packed.B * packed.T, V]), packed.targetTensor());
      backward(l);
      const { coef } = clipGradNorm(params, cfg.train.grad_clip);
      opt.step({ lr: pretrainLr(cfg.train, step), gradScale: coef });
      zeroGrad(params);
      return l;
    });
    pending.push({ step, loss });
    // Read losses back in groups: one queue wait per `log_every` steps, not per step.
    if (pending.length >= cfg.log_every || step === steps - 1) await drain();
  }
  progress.stop();
  opt.dispose();
  model.setTrainable(false);
  return { model, tokenizer, losses };
}

/** One row of the probe table: a difficulty's accuracy under each mode. */
export interface ProbeRow {
  difficulty: number;
  problems: number;
  /** Accuracy when the response is forced to answer at once. */
  direct: number;
  /** Accuracy when the response is forced to start the trace. */
  worked: number;
  /** Accuracy of plain sampling, the share of those that wrote a trace, and their length. */
  natural: number;
  worked_rate: number;
  length: number;
}

/**
 * Accuracy by difficulty on held-out problems, temperature 1 (the RL sampler), with each mode
 * forced and in the natural mix.
 */
export async function probeBase(
  model: Transformer,
  tokenizer: CharTokenizer,
  cfg: PretrainConfig,
  difficulties: number[],
): Promise<ProbeRow[]> {
  const rows: ProbeRow[] = [];
  for (const d of difficulties) {
    const problems = syntheticProblems(cfg.task, {
      split: "heldout",
      difficulty: [d, d],
      count: cfg.probe.problems,
      seed: cfg.run.seed + 1,
    });
    if (problems.length === 0) continue;
    const run = async (prefixOf: (p: SyntheticProblem) => string) => {
      const prefixes = problems.map(prefixOf);
      const gens = await generate(
        model,
        problems.map((p, i) =>
          tokenizer.encode(orzPrompt(p.question, { style: "short" }) + prefixes[i])
        ),
        {
          maxNewTokens: cfg.probe.max_new_tokens,
          temperature: 1,
          seed: streamSeed(cfg.run.seed, STREAM.eval, d),
          eosTokenIds: [tokenizer.eosTokenId],
          stopStrings: ["</answer>"],
          decode: (ids) => tokenizer.decode(ids),
        },
      );
      return gens.map((g, i) => {
        const text = prefixes[i] + g.text;
        const r = math({ response: text, gold: problems[i].gold, finish: g.finish }, {
          extract: "answer",
        });
        return { score: r.score, text, tokens: g.tokens.length };
      });
    };
    const direct = await run(() => " </think> <answer>");
    const worked = await run((p) => ` ${p.meta.worked.split(" ")[0]}`);
    const natural = await run(() => "");
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({
      difficulty: d,
      problems: problems.length,
      direct: mean(direct.map((r) => r.score)),
      worked: mean(worked.map((r) => r.score)),
      natural: mean(natural.map((r) => r.score)),
      worked_rate: mean(natural.map((r) => (/^\s*<\/think>/.test(r.text) ? 0 : 1))),
      length: mean(natural.map((r) => r.tokens)),
    });
  }
  return rows;
}

/** The probe table as Markdown. */
export function probeTable(rows: ProbeRow[]): string {
  const f = (x: number) => x.toFixed(2);
  return [
    "| difficulty | problems | direct (forced) | worked (forced) | natural | worked rate | length |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.difficulty} | ${r.problems} | ${f(r.direct)} | ${f(r.worked)} | ${f(r.natural)} | ` +
      `${f(r.worked_rate)} | ${r.length.toFixed(1)} |`
    ),
  ].join("\n");
}

/** Save the base (Hugging Face layout + tokenizer), its losses and the probe table. */
export async function saveBase(
  dir: string,
  r: PretrainResult,
  cfg: PretrainConfig,
  probe: ProbeRow[],
): Promise<void> {
  await saveModel(r.model, dir, { tokenizer: r.tokenizer });
  const losses = { config: cfg, losses: r.losses.map((l) => Number(l.toPrecision(9))) };
  await Deno.writeTextFile(`${dir}/pretrain_losses.json`, JSON.stringify(losses) + "\n");
  await Deno.writeTextFile(`${dir}/probe.json`, JSON.stringify(probe, null, 2) + "\n");
  await Deno.writeTextFile(`${dir}/probe.md`, probeTable(probe) + "\n");
  await Deno.writeTextFile(`${dir}/loss.svg`, await lossCurve(r.losses));
}

/** The pretraining loss curve as SVG (the report's plotting code, Vega-Lite). */
export async function lossCurve(losses: number[]): Promise<string> {
  const values = losses.map((value, step) => ({ run: "pretrain", step: step + 1, value }));
  const def = { metric: "pretrain/loss", title: "Pretraining loss", y: "cross-entropy (nats)" };
  return await toSvg(lineSpec(def, values, ["pretrain"], losses.length));
}
