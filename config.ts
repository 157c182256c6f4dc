/**
 * The run config: one zod schema for every switch of a training run, with its default and
 * a `.describe()` text (the README's config reference is generated from it), YAML presets
 * (`configs/*.yaml`), and dotted `--set key=value` overrides.
 *
 * Precedence: schema defaults < the YAML file < `--set` (applied in order). Every object is
 * strict: an unknown key is an error naming the key and the nearest valid one.
 *
 * Batch semantics, once: each step draws `train.prompts_per_step` prompts and samples
 * `train.samples_per_prompt` responses for each, so the step's buffer holds P × N
 * sequences. `actor.update_steps` (and `critic.update_steps`) split that buffer into that
 * many shuffled mini-batches, each one optimizer step; `train.micro_batch` sequences go
 * through one forward/backward at a time, gradients accumulating across a mini-batch's
 * micro-batches. Micro-batching never changes the result, only memory and speed.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const cfg = resolveConfig({ algorithm: "grpo", model: { path: "ckpt" } }, ["gae.lambda=0.95"]);
 * console.log(cfg.gae.lambda, cfg.advantage.norm); // 0.95 "group_std"
 * ```
 *
 * @module
 */
import { z } from "zod";
import { stringify } from "yaml";
import {
  type AnySchema,
  applyOverrides as applyWith,
  ConfigError,
  parseWith,
  type Raw,
  readConfigFile,
} from "./config_parse.ts";

export { ConfigError, parseOverride, parseWith, readConfigFile } from "./config_parse.ts";

const datasetSchema = z.object({
  path: z.string().nullable().default(null).describe(
    "a JSON/JSONL file (GSM8K, MATH500, ORZ's [{from, value}] pairs, AIME/AMC, GPQA); null: use `task`",
  ),
  format: z.enum(["auto", "gsm8k", "math", "orz", "gpqa", "fields"]).default("auto").describe(
    "how to read `path`; auto detects from the first record's fields",
  ),
  question: z.string().nullable().default(null).describe(
    "with format `fields`: the question's key (dotted paths allowed)",
  ),
  answer: z.string().nullable().default(null).describe(
    "with format `fields`: the gold answer's key",
  ),
  limit: z.number().int().positive().nullable().default(null).describe(
    "use at most this many problems (the file's first ones)",
  ),
  task: z.enum(["parity", "chain_mod3"]).nullable().default(null).describe(
    "a synthetic task instead of a file (data/synthetic.ts)",
  ),
  difficulty: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([
    4,
    8,
  ]).describe("synthetic task: inclusive [min, max] instance size (bits or terms)"),
  count: z.number().int().positive().default(2000).describe(
    "synthetic task: how many problems to generate",
  ),
}).strict();

/** The shape of a new Llama (a random model, or the base `deno task pretrain` makes). */
export const ModelShapeSchema = z.object({
  hidden_size: z.number().int().positive().default(96),
  intermediate_size: z.number().int().positive().default(256),
  layers: z.number().int().positive().default(3),
  heads: z.number().int().positive().default(4),
  kv_heads: z.number().int().positive().default(4),
  tie_embeddings: z.boolean().default(false),
  rope_theta: z.number().positive().default(10000),
}).strict();

/** The run schema. Each key's default is ORZ's choice unless its text says otherwise. */
export const RunConfigSchema = z.object({
  run: z.object({
    name: z.string().default("run").describe("the run's name; its folder is runs/<name>"),
    dir: z.string().nullable().default(null).describe(
      "the run folder (metrics, samples, checkpoints); null: runs/<name>",
    ),
    seed: z.number().int().min(0).default(0).describe(
      "seeds sampling, shuffles and new weights; same seed + config → same metrics",
    ),
  }).strict().default({}),

  algorithm: z.enum(["ppo", "grpo"]).default("ppo").describe(
    "ppo: learned critic + GAE (ORZ); grpo: group outcome advantages, no critic",
  ),

  model: z.object({
    path: z.string().nullable().default(null).describe(
      "the base model: a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json)",
    ),
    init: ModelShapeSchema.nullable().default(null).describe(
      "no checkpoint: a randomly initialised Llama of this shape with a character tokenizer " +
        "over the task's alphabet (smoke tests; a real run starts from a base model)",
    ),
  }).strict().default({}),

  train: z.object({
    steps: z.number().int().min(0).default(100).describe("RL steps (rollout + update) to run"),
    prompts_per_step: z.number().int().positive().default(128).describe(
      "prompts drawn per step (ORZ: 128)",
    ),
    samples_per_prompt: z.number().int().positive().default(64).describe(
      "responses sampled per prompt (ORZ: 64); the buffer holds prompts × samples sequences",
    ),
    micro_batch: z.number().int().positive().default(16).describe(
      "sequences per forward/backward; gradients accumulate, so this changes memory, not results",
    ),
  }).strict().default({}),

  rollout: z.object({
    max_new_tokens: z.number().int().positive().default(8000).describe(
      "response length cap; longer responses are truncated (finish=length) (ORZ: 8000)",
    ),
    max_prompt_tokens: z.number().int().positive().default(2048).describe(
      "longer prompts are an error naming the problem (ORZ: 2048)",
    ),
    temperature: z.number().min(0).default(1).describe("sampling temperature (ORZ: 1)"),
    top_p: z.number().gt(0).max(1).default(1).describe("nucleus sampling (ORZ: 1)"),
    top_k: z.number().int().min(0).default(0).describe("0 = off"),
    batch_size: z.number().int().positive().default(512).describe(
      "sequences sampled together (bounds the KV cache's memory; results do not depend on it)",
    ),
    stop: z.array(z.string()).default(["User:", "Human:", "Assistant:", "</answer>"]).describe(
      "stop strings, kept in the response (ORZ's four)",
    ),
    template: z.enum(["full", "short"]).default("full").describe(
      "prompt template: ORZ's full text, or a short form for tiny models; both end in `Assistant: <think>`",
    ),
  }).strict().default({}),

  reward: z.object({
    name: z.enum(["math", "countdown", "format"]).default("math").describe(
      "the reward function (rewards/): math is ORZ's correctness-only reward",
    ),
    extract: z.enum(["orz", "boxed", "answer", "auto"]).default("orz").describe(
      "math: where the answer is read (orz: last \\boxed{} inside <answer></answer>; " +
        "answer: the <answer></answer> block's whole content, for synthetic tasks)",
    ),
    truncated_reward: z.number().default(0).describe(
      "score of a correct answer whose generation was truncated (ORZ: 0)",
    ),
    unclosed_answer: z.enum(["reject", "stop"]).default("reject").describe(
      "math, extract orz: an <answer> block never closed by </answer> scores 0 (reject: " +
        "ORZ's rule) or is read when generation stopped (stop: lenient)",
    ),
    decimal_rounding: z.enum(["structures", "all", "off"]).default("structures").describe(
      "math: a decimal equals an exact value that rounds to it at its own places — inside " +
        "tuples, matrices and other structures, for every answer, or never (rewards/README.md)",
    ),
  }).strict().default({}),

  gae: z.object({
    gamma: z.number().min(0).max(1).default(1).describe("discount (ORZ: 1)"),
    lambda: z.number().min(0).max(1).default(1).describe(
      "GAE λ (ORZ: 1, so A_t = R − V(s_t))",
    ),
  }).strict().default({}),

  advantage: z.object({
    norm: z.enum(["auto", "batch", "group", "group_std", "none"]).default("auto").describe(
      "batch: whiten over the step's tokens (ORZ); group: subtract the prompt's mean " +
        "(Dr. GRPO); group_std: and divide by its std (GRPO); none; auto: batch for ppo, " +
        "group_std for grpo",
    ),
    eps: z.number().positive().default(1e-8).describe(
      "batch: floor of the variance (ORZ); group_std: added to the std",
    ),
  }).strict().default({}),

  clip: z.object({
    low: z.number().min(0).max(1).default(0.2).describe("ratio clip below: 1 − low (ORZ: 0.2)"),
    high: z.number().min(0).default(0.2).describe(
      "ratio clip above: 1 + high (ORZ: 0.2; DAPO's clip-higher: 0.28)",
    ),
  }).strict().default({}),

  loss: z.object({
    aggregation: z.enum(["token_mean", "seq_mean_token_mean", "seq_mean_token_sum_norm"]).default(
      "token_mean",
    ).describe(
      "token_mean: over all tokens of the optimizer step (ORZ); seq_mean_token_mean: each " +
        "sequence's token mean, averaged (GRPO); seq_mean_token_sum_norm: token sums over " +
        "rollout.max_new_tokens, averaged (Dr. GRPO)",
    ),
    entropy_coef: z.number().min(0).default(0).describe("entropy bonus (ORZ: 0)"),
  }).strict().default({}),

  kl: z.object({
    mode: z.enum(["none", "reward", "loss"]).default("none").describe(
      "none: no reference model is built (ORZ); reward: −coef·KL folded into token rewards; " +
        "loss: +coef·KL added to the policy loss",
    ),
    estimator: z.enum(["k1", "k2", "k3"]).default("k3").describe(
      "per-token KL estimator of log π/π_ref (Schulman's k1, k2, k3)",
    ),
    coef: z.number().min(0).default(0.001).describe("KL coefficient when mode ≠ none"),
  }).strict().default({}),

  actor: z.object({
    lr: z.number().positive().default(1e-6).describe("policy learning rate (ORZ: 1e-6)"),
    update_steps: z.number().int().positive().default(1).describe(
      "optimizer steps per rollout: the buffer is split into this many mini-batches (ORZ: 1)",
    ),
    epochs: z.number().int().positive().default(1).describe("passes over the buffer per rollout"),
  }).strict().default({}),

  critic: z.object({
    lr: z.number().positive().default(5e-6).describe("critic learning rate (ORZ: 5e-6)"),
    update_steps: z.number().int().positive().default(12).describe(
      "critic optimizer steps per rollout, over shuffled mini-batches of the buffer (ORZ: 12)",
    ),
    epochs: z.number().int().positive().default(1).describe("passes over the buffer per rollout"),
    value_clip: z.number().min(0).nullable().default(0.2).describe(
      "clip values to V_old ± this in the value loss (ORZ: 0.2); null: unclipped",
    ),
    warmup_steps: z.number().int().min(0).default(0).describe(
      "rollout steps that train only the critic before the actor moves (ORZ: 0)",
    ),
  }).strict().default({}),

  optim: z.object({
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95])
      .describe("AdamW (β1, β2) (ORZ: 0.9, 0.95)"),
    eps: z.number().positive().default(1e-8).describe("AdamW ε"),
    weight_decay: z.number().min(0).default(0).describe("decoupled weight decay (ORZ: 0)"),
    grad_clip: z.number().positive().nullable().default(1).describe(
      "global gradient-norm clip per model (ORZ: 1.0); null: none",
    ),
    warmup_steps: z.number().int().min(0).default(50).describe(
      "linear lr warm-up over this many optimizer steps, then constant (ORZ: 50)",
    ),
  }).strict().default({}),

  data: z.object({
    train: datasetSchema.default({ task: "parity" }).describe("RL prompts"),
    eval: datasetSchema.nullable().default(null).describe("held-out problems; null: no eval"),
  }).strict().default({}),

  eval: z.object({
    every: z.number().int().min(0).default(0).describe(
      "evaluate every this many steps (0: only at the start and the end)",
    ),
    samples: z.number().int().positive().default(1).describe(
      "k: samples per eval prompt, for avg@k and pass@k",
    ),
    greedy: z.boolean().default(false).describe("greedy decoding for eval (then k is 1)"),
    temperature: z.number().min(0).nullable().default(null).describe(
      "eval sampling temperature; null: rollout.temperature",
    ),
    max_new_tokens: z.number().int().positive().nullable().default(null).describe(
      "null: rollout.max_new_tokens",
    ),
    at_start: z.boolean().default(true).describe("evaluate the base model before step 1"),
  }).strict().default({}),

  checkpoint: z.object({
    every: z.number().int().min(0).default(0).describe(
      "save every this many steps (0: only at the end)",
    ),
    keep: z.number().int().positive().default(2).describe("keep the newest this many checkpoints"),
    dtype: z.enum(["F32", "BF16", "F16"]).default("F32").describe(
      "storage dtype of saved weights (F32 keeps resume exact)",
    ),
  }).strict().default({}),

  log: z.object({
    samples: z.number().int().min(0).default(4).describe(
      "responses per step written to samples.jsonl",
    ),
  }).strict().default({}),

  distributed: z.object({
    redis: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").nullable().default(
      null,
    ).describe(
      "redis://HOST:PORT: rollouts run on workers (`deno task worker`) over Redis Streams; " +
        "null: in this process",
    ),
    store: z.string().nullable().default(null).describe(
      "a folder the workers see too (their --store): weights versions go to " +
        "<store>/<run.name>/weights/",
    ),
    prefix: z.string().regex(/^[\w.:-]+$/).default("zerokit").describe(
      "Redis key prefix, shared with the workers' --prefix",
    ),
    max_lag: z.number().int().min(0).default(0).describe(
      "policy versions a trajectory may lag the learner (0: strictly on-policy, ORZ); > 0: " +
        "the next steps' tasks are sampled ahead with older weights, whose sampler " +
        "log-probs are the old policy",
    ),
    task_size: z.number().int().positive().nullable().default(null).describe(
      "sequences per worker task; null: rollout.batch_size (the local batches, so a run " +
        "with one worker matches the local run)",
    ),
    timeout_s: z.number().positive().default(1800).describe(
      "fail a step whose rollout tasks are not all answered after this long",
    ),
  }).strict().default({}),
}).strict();

/** A resolved run config (every key present). */
export type RunConfig = z.infer<typeof RunConfigSchema>;

/** Apply `--set` overrides (in order) to raw data, checking keys against `schema`. */
export function applyOverrides(
  raw: Raw,
  overrides: readonly string[],
  schema: AnySchema = RunConfigSchema,
): Raw {
  return applyWith(raw, overrides, schema);
}

/** Validate raw config data; `source` names where it came from in error messages. */
export function parseConfig(raw: unknown, source = "config"): RunConfig {
  return parseWith(RunConfigSchema, raw, source);
}

/**
 * Resolve a run config: schema defaults < `base` (a YAML file's path, or raw data) <
 * `overrides` (`key=value` strings).
 */
export function resolveConfig(
  base: string | Raw | null,
  overrides: readonly string[] = [],
): RunConfig {
  const source = typeof base === "string" ? base : "config";
  const raw = typeof base === "string" ? readConfigFile(base) : (base ?? {});
  // Validate the file alone first, so its errors name the file rather than --set.
  parseConfig(raw, source);
  const merged = applyOverrides(raw, overrides);
  const label = overrides.length ? `${source} with --set` : source; // either may break a rule
  return checkConsistency(parseConfig(merged, overrides.length ? "--set" : source), label);
}

/** Rules across keys that the per-key schema cannot state. */
function checkConsistency(cfg: RunConfig, source: string): RunConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`);
  };
  const { train, model, data } = cfg;
  if ((model.path === null) === (model.init === null)) {
    fail('set exactly one of "model.path" (a checkpoint folder) and "model.init" (a random model)');
  }
  for (const [name, d] of [["data.train", data.train], ["data.eval", data.eval]] as const) {
    if (d && (d.path === null) === (d.task === null)) {
      fail(`set exactly one of "${name}.path" and "${name}.task"`);
    }
    if (d && d.difficulty[0] > d.difficulty[1]) {
      fail(`"${name}.difficulty" is [${d.difficulty}]: min is above max`);
    }
  }
  if (model.init && data.train.task === null) {
    fail('"model.init" builds a character tokenizer from a synthetic task: set "data.train.task"');
  }
  const buffer = train.prompts_per_step * train.samples_per_prompt;
  for (const who of ["actor", "critic"] as const) {
    if (cfg[who].update_steps > buffer) {
      fail(
        `"${who}.update_steps" = ${cfg[who].update_steps} mini-batches, but a step's buffer ` +
          `holds only ${buffer} sequences (train.prompts_per_step × train.samples_per_prompt)`,
      );
    }
  }
  if (cfg.advantage.norm === "auto") {
    cfg.advantage.norm = cfg.algorithm === "grpo" ? "group_std" : "batch";
  }
  if (cfg.algorithm === "grpo" && !["group", "group_std"].includes(cfg.advantage.norm)) {
    // GRPO has no critic: its advantages are group-relative by definition.
    fail('algorithm "grpo" needs advantage.norm "group_std" (GRPO) or "group" (Dr. GRPO)');
  }
  const dist = cfg.distributed;
  if ((dist.redis === null) !== (dist.store === null)) {
    fail(
      'set both "distributed.redis" and "distributed.store" (workers load weights from the store)',
    );
  }
  if (dist.redis === null && dist.max_lag > 0) {
    fail('"distributed.max_lag" > 0 needs rollout workers: set "distributed.redis" too');
  }
  if (cfg.algorithm === "grpo" && train.samples_per_prompt < 2) {
    fail('algorithm "grpo" compares samples of one prompt: train.samples_per_prompt must be ≥ 2');
  }
  return cfg;
}

/** The config as YAML text (what a run saves as config.yaml). */
export function configToYaml(cfg: RunConfig): string {
  return stringify(cfg);
}
