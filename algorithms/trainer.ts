/**
 * The RL loop. Each step, in order:
 *
 * 1. draw `train.prompts_per_step` prompts from the seeded stream;
 * 2. sample `train.samples_per_prompt` responses per prompt with the policy (no gradient);
 * 3. score them with the configured reward;
 * 4–6. hand the scored buffer to the algorithm (algorithms/ppo.ts, grpo.ts): old log-probs,
 *    values and reference log-probs, advantages, then the critic and policy updates;
 * 7. write the metrics line, a few samples, evaluate and checkpoint when due.
 *
 * A run folder holds `config.yaml` (resolved), `metrics.jsonl` (one line per step; step 0 is
 * the base model's eval), `samples.jsonl`, `summary.json` and `checkpoints/step-N/`. Resume
 * reloads the newest complete checkpoint, drops log lines past it, and continues; since
 * every random draw is a function of (seed, step), the resumed run writes the same lines.
 *
 * @module
 */
import { configToYaml, type RunConfig } from "../config.ts";
import { sync } from "../kernels/core/runtime.ts";
import type { Problem } from "../data/types.ts";
import { PromptStream } from "../data/shuffle.ts";
import type { RewardFn } from "../rewards/types.ts";
import type { AlgorithmResult } from "./common.ts";
import {
  latestCheckpoint,
  loadOptimizers,
  readRunState,
  type RunState,
  saveCheckpoint,
} from "./checkpoint.ts";
import { evaluate } from "./evaluate.ts";
import { Learner } from "./learner.ts";
import { Progress } from "./progress.ts";
import { algorithms } from "./registry.ts";
import {
  localRollouts,
  type RewardSettings,
  type RolloutRequest,
  type RolloutSource,
  type Sampling,
} from "./rollout.ts";
import { remoteRollouts } from "./distributed/remote.ts";
import { STREAM, streamSeed } from "./seeds.ts";
import { buildModels, loadDataset, promptEncoder } from "./setup.ts";
import { RunFiles } from "./run_files.ts";
import { writeReport } from "../report/report.ts";
import type { Metrics, Scored } from "./types.ts";

export interface TrainOptions {
  /** A reward function to use instead of `reward.name` (library use; e.g. a custom verifier). */
  reward?: RewardFn;
  /** No progress output at all. */
  quiet?: boolean;
  /** Force the progress bar on or off (default: when stdout is a terminal). */
  bar?: boolean;
  /** Stop at the next safe point when this returns true (SIGINT/SIGTERM in the CLI). */
  shouldStop?: () => boolean;
  /** Called after every step's metrics line. */
  onStep?: (metrics: Metrics) => void;
  /** Resume from this checkpoint folder (set by {@link resumeRun}). */
  checkpoint?: string | null;
}

export interface TrainResult {
  dir: string;
  /** Steps completed. */
  steps: number;
  /** Every metrics line of this invocation. */
  history: Metrics[];
  /** The checkpoint written last, if any. */
  checkpoint: string | null;
  /** True when `shouldStop` ended the run early. */
  interrupted: boolean;
  /** The run's report.html. */
  report: string | null;
}

/** Timing fields: they differ between identical runs; everything else must not. */
export const TIMING_KEYS = /^(time\/|tokens_per_s$)/;

/** The run folder a config writes to. */
export function runDir(cfg: RunConfig): string {
  return cfg.run.dir ?? `runs/${cfg.run.name}`;
}

/** Train from the config's base model (a new run folder). */
export async function train(cfg: RunConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const dir = runDir(cfg);
  const ckpt = opts.checkpoint ?? null;
  // Data first: a bad file fails before anything is built or written.
  const trainProblems = await loadDataset(cfg.data.train, "train", cfg.run.seed);
  const evalProblems = cfg.data.eval
    ? await loadDataset(cfg.data.eval, "heldout", cfg.run.seed)
    : [];
  const files = await RunFiles.open(dir, { fresh: ckpt === null });
  if (ckpt === null) await files.writeConfig(configToYaml(cfg));

  const t0 = performance.now();
  const models = await buildModels(cfg, ckpt);
  const learner = new Learner(cfg, models.policy, models.critic, models.ref);
  const { tokenizer } = models;
  const encode = promptEncoder(cfg, tokenizer);
  const golds = new Map<string, unknown>(trainProblems.map((p) => [p.id, p.gold]));
  const byId = new Map([...trainProblems, ...evalProblems].map((p) => [p.id, p]));
  const sampleLine = (step: number, s: Scored, kind: "train" | "eval", adv?: Float64Array) => ({
    step,
    kind,
    problem: s.problemId,
    question: byId.get(s.problemId)?.question,
    gold: byId.get(s.problemId)?.gold,
    response: s.text,
    finish: s.finish,
    score: s.score,
    correct: s.correct,
    reason: s.reason,
    tokens: s.response.length,
    ...(adv ? { advantage_first: adv[0] ?? 0, advantage_last: adv.at(-1) ?? 0 } : {}),
  });

  let state: RunState = {
    step: 0,
    seed: cfg.run.seed,
    stream: { epoch: 0, cursor: 0 },
    skippedUpdates: 0,
    seconds: 0,
  };
  if (ckpt) {
    state = await readRunState(ckpt);
    loadOptimizers(ckpt, learner.policyOpt, learner.criticOpt);
    learner.skippedUpdates = state.skippedUpdates;
    await files.truncateAfter(state.step);
  }
  const stream = PromptStream.restore(trainProblems, cfg.run.seed, state.stream);
  const algorithm = algorithms[cfg.algorithm];
  const rewardSettings: RewardSettings = {
    name: cfg.reward.name,
    extract: cfg.reward.extract,
    truncatedReward: cfg.reward.truncated_reward,
    unclosedAnswer: cfg.reward.unclosed_answer,
    decimalRounding: cfg.reward.decimal_rounding,
  };
  const sampling = (step: number): Sampling => ({
    samples: cfg.train.samples_per_prompt,
    maxNewTokens: cfg.rollout.max_new_tokens,
    temperature: cfg.rollout.temperature,
    topP: cfg.rollout.top_p,
    topK: cfg.rollout.top_k,
    stop: cfg.rollout.stop,
    seed: streamSeed(cfg.run.seed, step, STREAM.rollout),
    batchSize: cfg.rollout.batch_size,
  });
  const runEval = async (step: number): Promise<Metrics> => {
    if (evalProblems.length === 0) return {};
    const e = cfg.eval;
    const greedy = e.greedy;
    const r = await evaluate(
      models.policy,
      tokenizer,
      evalProblems,
      encode,
      {
        ...sampling(0),
        samples: greedy ? 1 : e.samples,
        temperature: greedy ? 0 : (e.temperature ?? cfg.rollout.temperature),
        maxNewTokens: e.max_new_tokens ?? cfg.rollout.max_new_tokens,
        seed: streamSeed(cfg.run.seed, STREAM.eval),
      },
      rewardSettings,
      opts.reward,
    );
    await files.appendSamples(
      r.samples.slice(0, cfg.log.samples).map((s) => sampleLine(step, s, "eval")),
    );
    return r.metrics;
  };

  // Rollouts in this process, or on workers over Redis (distributed.redis).
  const request = (step: number, problems: Problem[]): RolloutRequest => ({
    step,
    version: step - 1,
    prompts: problems.map((p, group) => ({ problemId: p.id, group, ids: encode(p) })),
    sampling: sampling(step),
    golds,
  });
  let current = state.step;
  const source: RolloutSource = cfg.distributed.redis
    ? await remoteRollouts(cfg, models.policy, tokenizer, rewardSettings, {
      custom: opts.reward,
      // The requests of the steps after the current one, for sampling ahead (max_lag > 0).
      ahead: (k) => {
        const peek = PromptStream.restore(trainProblems, cfg.run.seed, stream.state());
        for (let i = 1; i < k; i++) peek.next(cfg.train.prompts_per_step);
        return request(current + k, peek.next(cfg.train.prompts_per_step));
      },
    })
    : localRollouts(models.policy, tokenizer, rewardSettings, opts.reward);

  const history: Metrics[] = [];
  const progress = new Progress(cfg.train.steps, { quiet: opts.quiet, bar: opts.bar });
  let lastCkpt: string | null = null;
  let interrupted = false;
  let report: string | null = null;
  const secondsBefore = state.seconds;
  const save = async () => {
    state.seconds = secondsBefore + (performance.now() - t0) / 1000;
    lastCkpt = await saveCheckpoint(`${dir}/checkpoints`, {
      policy: models.policy,
      critic: models.critic,
      policyOpt: learner.policyOpt,
      criticOpt: learner.criticOpt,
      tokenizer,
      state,
      dtype: cfg.checkpoint.dtype,
    }, cfg.checkpoint.keep);
  };
  try {
    if (state.step === 0 && cfg.eval.at_start && evalProblems.length > 0) {
      const m: Metrics = { step: 0, ...(await runEval(0)) };
      await files.appendMetrics(m);
      history.push(m);
      progress.log(`base model: eval/accuracy ${fmt(m["eval/accuracy"])}`);
    }
    progress.start(state.step);
    for (let step = state.step + 1; step <= cfg.train.steps; step++) {
      const tStep = performance.now();
      learner.resetTimes();
      current = step;
      // 1. Prompts.
      const problems: Problem[] = stream.next(cfg.train.prompts_per_step);
      // 2–3. Rollouts with the current weights (version = updates so far), and rewards.
      const tGen = performance.now();
      const { scored, metrics: sourceMetrics } = await source.collect(request(step, problems));
      const { "time/score": scoreSeconds = 0, ...rolloutMetrics } = sourceMetrics;
      const genSeconds = (performance.now() - tGen) / 1000 - scoreSeconds;
      // 4–6. The algorithm: scoring forwards, advantages, updates.
      const result: AlgorithmResult = await algorithm.step(learner, scored, step);
      await sync();
      // 7. Metrics, samples, eval, checkpoint.
      state = { ...state, step, stream: stream.state(), skippedUpdates: learner.skippedUpdates };
      const due = (every: number) => (every > 0 && step % every === 0) || step === cfg.train.steps;
      const evalMetrics = due(cfg.eval.every) ? await runEval(step) : {};
      const genTokens = scored.reduce((a, s) => a + s.response.length, 0);
      const m: Metrics = {
        step,
        ...bufferStats(scored, cfg.train.samples_per_prompt),
        ...result.metrics,
        skipped_updates: learner.skippedUpdates,
        ...evalMetrics,
        ...rolloutMetrics,
        tokens_per_s: genTokens / Math.max(genSeconds, 1e-9),
        "time/generate": genSeconds,
        "time/score": scoreSeconds,
        "time/forward": learner.times.forward,
        "time/update": learner.times.update,
        "time/step": (performance.now() - tStep) / 1000,
      };
      await files.appendMetrics(m);
      await files.appendSamples(
        pickSamples(scored, cfg.log.samples, cfg.train.samples_per_prompt).map((i) =>
          sampleLine(step, scored[i], "train", result.advantages[i])
        ),
      );
      history.push(m);
      opts.onStep?.(m);
      progress.update(step, m);
      const stop = opts.shouldStop?.() ?? false;
      if (due(cfg.checkpoint.every) || stop) await save();
      if (stop && step < cfg.train.steps) {
        interrupted = true;
        break;
      }
    }
    state.seconds = secondsBefore + (performance.now() - t0) / 1000;
    await files.writeSummary(summarise(await files.readMetrics(), cfg, state));
    report = await writeReport([dir]);
  } finally {
    progress.stop();
    await source.close();
    learner.dispose();
    models.policy.dispose();
    models.critic?.dispose();
    models.ref?.dispose();
  }
  return { dir, steps: state.step, history, checkpoint: lastCkpt, interrupted, report };
}

/** Continue the run in `dir` from its newest complete checkpoint. */
export async function resumeRun(
  dir: string,
  cfg: RunConfig,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const ckpt = await latestCheckpoint(`${dir}/checkpoints`);
  if (!ckpt) throw new Error(`${dir}: no complete checkpoint to resume from (checkpoints/step-N)`);
  return await train({ ...cfg, run: { ...cfg.run, dir } }, { ...opts, checkpoint: ckpt });
}

/** Reward, accuracy, pass@n and length statistics of one step's buffer. */
export function bufferStats(scored: readonly Scored[], perPrompt: number): Metrics {
  const n = scored.length || 1;
  const lengths = scored.map((s) => s.response.length);
  const rewards = scored.map((s) => s.score);
  const meanR = rewards.reduce((a, b) => a + b, 0) / n;
  let groupsPassed = 0, groups = 0;
  for (let g = 0; g < scored.length; g += perPrompt) {
    groups++;
    if (scored.slice(g, g + perPrompt).some((s) => s.correct && s.score > 0)) groupsPassed++;
  }
  return {
    "reward/mean": meanR,
    "reward/std": Math.sqrt(rewards.reduce((a, r) => a + (r - meanR) ** 2, 0) / n),
    accuracy: scored.filter((s) => s.correct).length / n,
    "pass@n": groups ? groupsPassed / groups : 0,
    "response/length_mean": lengths.reduce((a, b) => a + b, 0) / n,
    "response/length_max": Math.max(0, ...lengths),
    "response/stop_ratio": scored.filter((s) => s.finish === "stop").length / n,
  };
}

/** Indices of the first sample of the first `k` prompts. */
function pickSamples(scored: readonly Scored[], k: number, perPrompt: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scored.length && out.length < k; i += perPrompt) out.push(i);
  return out;
}

function fmt(v: number | undefined): string {
  return v === undefined ? "-" : v.toFixed(3);
}

/** summary.json: base vs final held-out accuracy and length, steps, time, seed. */
function summarise(lines: Metrics[], cfg: RunConfig, state: RunState) {
  const evals = lines.filter((m) => m["eval/accuracy"] !== undefined);
  const base = evals.find((m) => m.step === 0);
  const final = evals.at(-1);
  const last = lines.at(-1) ?? {};
  return {
    steps: state.step,
    seconds: state.seconds,
    seed: cfg.run.seed,
    algorithm: cfg.algorithm,
    base_accuracy: base?.["eval/accuracy"] ?? null,
    final_accuracy: final && final !== base ? final["eval/accuracy"] : null,
    base_length: base?.["eval/length_mean"] ?? null,
    final_length: final && final !== base ? final["eval/length_mean"] : null,
    final_train_reward: last["reward/mean"] ?? null,
  };
}
