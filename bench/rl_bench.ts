/**
 * One full PPO step on the pilot shape, beside a PyTorch script doing the same work on the same
 * shapes (`bench/torch_rl_peer.py`). The model is what `model.init` builds for a synthetic task
 * (algorithms/setup.ts's `buildModels`): a random Llama with hidden 96, 3 layers, 4 heads (kv 4),
 * intermediate 256, over the parity task's character vocabulary (43 tokens); the critic is a
 * copy of the base trunk plus a scalar head. One step, as algorithms/trainer.ts wires it:
 *
 * (a) `generate()` of 16 prompts × 8 samples = 128 sequences, prompts of 20 tokens, exactly 40
 *     new tokens each (temperature 1, no EOS or stop strings, so both sides do the same work),
 *     then {@link Trajectory}s and `score()` with a fake reward (the parity of the sequence's
 *     index, so the advantages are not trivial);
 * (b–f) `ppoStep()`: old log-probs (policy forward, no grad) and values (critic forward), GAE
 *     (γ = λ = 1) and batch whitening on the CPU, 2 critic mini-batches of the clipped value loss
 *     (forward + backward + AdamW each) and 1 policy step of the clipped surrogate over the whole
 *     buffer (micro-batch 128), grad clip 1.0.
 *
 * Figures (seconds; after one warm-up step in the first round, the fastest of 3 timed steps (1
 * with `--quick`) with its own breakdown, a step that compiled a pipeline discarded; main.ts
 * keeps the best round, as for every section):
 * - `rl_step_s`: the whole step, prompts to the last optimizer step's sync;
 * - `rl_generate_s`: (a); `rl_forward_s`: old log-probs + values (`Learner.times.forward`);
 *   `rl_update_s`: critic + policy updates (`Learner.times.update` + the closing sync);
 *   `rl_other_s`: the rest (trajectories, scoring, GAE, whitening, metrics);
 * - the four learner passes: `rl_logprobs_s` (b), `rl_values_s` (c), `rl_critic_s` (e),
 *   `rl_policy_s` (f, with the closing sync);
 * - CPU-second twins `rl_{step,generate,forward,update}_cpu_s`: the process's CPU time (all
 *   threads, llvmpipe's included) ÷ cores, steadier than wall time while other work shares them;
 * - `rl_step_gflop`: the step's FLOPs (see {@link stepFlops}) and `rl_step_gflops`,
 *   `rl_generate_gflops`, `rl_forward_gflops`, `rl_update_gflops`: achieved GFLOP/s;
 * - the peer's `torch_` twins of all but the FLOP count (its GFLOP/s use the same count).
 *
 * Run alone: `deno run -A --unstable-webgpu bench/rl_bench.ts [--quick]`.
 *
 * @module
 */
import { resolveConfig, type RunConfig } from "../config.ts";
import { initGpu } from "../kernels/core/device.ts";
import { launchStats, sync } from "../kernels/core/runtime.ts";
import { saveModel } from "../models/checkpoint.ts";
import { generate } from "../models/generate.ts";
import { Learner } from "../algorithms/learner.ts";
import { ppoStep } from "../algorithms/ppo.ts";
import { score } from "../algorithms/rollout.ts";
import { STREAM, streamSeed } from "../algorithms/seeds.ts";
import { buildModels, type RunModels } from "../algorithms/setup.ts";
import type { Metrics, Trajectory } from "../algorithms/types.ts";
import type { RewardFn } from "../rewards/types.ts";
import { formatProfile, profile } from "../kernels/core/profile.ts";
import {
  type BenchContext,
  type BenchSection,
  CORES,
  cpuTimeMs,
  profileFigures,
  round,
} from "./util.ts";

/** `--by-shape` (run alone): profile matmuls per problem size (figures stay per kernel). */
const BY_SHAPE = Deno.args.includes("--by-shape");

/** The pilot shape and the step's batch (see the module doc). */
export const RL_SHAPE = {
  hidden: 96,
  intermediate: 256,
  layers: 3,
  heads: 4,
  kvHeads: 4,
  prompts: 16,
  samples: 8,
  promptTokens: 20,
  newTokens: 40,
  criticSteps: 2,
  policySteps: 1,
};

/** A step's shape: the model's width and depth and the batch of prompts × samples × tokens. */
export type RlShape = typeof RL_SHAPE;

/** The run config of the step: ORZ's defaults at the pilot shape, no lr warm-up. */
export function rlConfig(s: RlShape = RL_SHAPE): RunConfig {
  return resolveConfig({
    run: { name: "rl-bench", seed: 0 },
    algorithm: "ppo",
    model: {
      init: {
        hidden_size: s.hidden,
        intermediate_size: s.intermediate,
        layers: s.layers,
        heads: s.heads,
        kv_heads: s.kvHeads,
      },
    },
    train: {
      prompts_per_step: s.prompts,
      samples_per_prompt: s.samples,
      micro_batch: s.prompts * s.samples,
    },
    rollout: { max_new_tokens: s.newTokens, temperature: 1, stop: [] },
    actor: { update_steps: s.policySteps },
    critic: { update_steps: s.criticSteps },
    optim: { warmup_steps: 0 },
    data: { train: { task: "parity" } },
  });
}

/** Deterministic prompts: `prompts` rows of `promptTokens` non-special ids in [2, vocab). */
function promptIds(vocab: number, shape: RlShape = RL_SHAPE): number[][] {
  let s = 12345;
  return Array.from(
    { length: shape.prompts },
    () =>
      Array.from({ length: shape.promptTokens }, () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return 2 + (s % (vocab - 2));
      }),
  );
}

/**
 * FLOPs of one step by phase (napkin: 2 per weight per token for every matmul, attention
 * 4·T·H per token at context T — half the square for a causal forward — and a backward of 2×
 * the matmuls and 2.5× attention, as bench/block_bench.ts counts).
 * - generate: the prefill over B·P tokens (LM head at the last position only) and 39 decode
 *   steps, each one token per sequence over a cache of P + s;
 * - forward: policy log-probs and critic values over B sequences of T = P + N − 1 positions;
 * - update: forward + backward of the critic (both mini-batches) and of the policy.
 */
export function stepFlops(
  vocab: number,
  s: RlShape = RL_SHAPE,
): { generate: number; forward: number; update: number } {
  const H = s.hidden, L = s.layers, I = s.intermediate;
  const D = H / s.heads;
  const B = s.prompts * s.samples, P = s.promptTokens, N = s.newTokens;
  const trunk = L * (H * (s.heads * D) * 2 + H * (s.kvHeads * D) * 2 + 3 * H * I); // weights
  const attnCausal = (T: number) => L * 4 * H * T * T / 2; // one sequence, T positions
  let generate = B * (2 * trunk * P + 2 * H * vocab + attnCausal(P));
  for (let step = 1; step < N; step++) {
    generate += B * (2 * trunk + 2 * H * vocab + L * 4 * H * (P + step));
  }
  const T = P + N - 1;
  const policyFwd = B * T * 2 * (trunk + H * vocab) + B * attnCausal(T);
  const criticFwd = B * T * 2 * (trunk + H) + B * attnCausal(T);
  const matmulPart = (fwd: number) => fwd - B * attnCausal(T);
  const fwdBwd = (fwd: number) => 3 * matmulPart(fwd) + 3.5 * B * attnCausal(T);
  return {
    generate,
    forward: policyFwd + criticFwd,
    update: fwdBwd(policyFwd) + fwdBwd(criticFwd),
  };
}

/** Seconds of one step's phases. */
interface StepTimes {
  step: number;
  generate: number;
  forward: number;
  update: number;
  other: number;
  /** CPU seconds of the process (all threads) ÷ cores, per phase; NaN where unknown. */
  cpu: { step: number; generate: number; forward: number; update: number };
  /** The step's metrics (ppoStep's), for a sanity line in the log. */
  metrics?: Metrics;
  /** Wall seconds of the learner's passes; the closing sync counts to the policy update. */
  parts?: Record<Part, number>;
}

/** Where a step's scoring forwards and updates go, wall seconds (for the log and README). */
type Part = "logprobs" | "values" | "critic" | "policy";

/**
 * A {@link Learner} that also adds up the CPU time of its scoring forwards and updates, and the
 * wall time of each of its four passes (old log-probs, values, critic update, policy update).
 */
class CpuTimedLearner extends Learner {
  cpuMs = { forward: 0, update: 0 };
  parts: Record<Part, number> = { logprobs: 0, values: 0, critic: 0, policy: 0 };

  async #cpu<T>(key: "forward" | "update", part: Part, fn: () => Promise<T>): Promise<T> {
    const [t0, c0] = [performance.now(), cpuTimeMs()];
    try {
      return await fn();
    } finally {
      this.cpuMs[key] += cpuTimeMs() - c0;
      this.parts[part] += (performance.now() - t0) / 1000;
    }
  }

  override resetTimes(): void {
    super.resetTimes();
    this.cpuMs = { forward: 0, update: 0 };
    this.parts = { logprobs: 0, values: 0, critic: 0, policy: 0 };
  }

  override logprobs(...a: Parameters<Learner["logprobs"]>): ReturnType<Learner["logprobs"]> {
    return this.#cpu("forward", "logprobs", () => super.logprobs(...a));
  }

  override values(...a: Parameters<Learner["values"]>): ReturnType<Learner["values"]> {
    return this.#cpu("forward", "values", () => super.values(...a));
  }

  override updateCritic(...a: Parameters<Learner["updateCritic"]>): Promise<Metrics> {
    return this.#cpu("update", "critic", () => super.updateCritic(...a));
  }

  override updatePolicy(...a: Parameters<Learner["updatePolicy"]>): Promise<Metrics> {
    return this.#cpu("update", "policy", () => super.updatePolicy(...a));
  }
}

/** One PPO step (the trainer's steps 2–6) with the models of `m`; its phase times. */
async function oneStep(
  cfg: RunConfig,
  m: RunModels,
  learner: CpuTimedLearner,
  prompts: number[][],
  step: number,
  shape: RlShape = RL_SHAPE,
): Promise<StepTimes> {
  const { samples } = shape;
  const [t0, c0] = [performance.now(), cpuTimeMs()];
  learner.resetTimes();
  const seqs = prompts.flatMap((ids, g) =>
    Array.from({ length: samples }, (_, k) => ({ ids, g, k }))
  );
  const gens = await generate(m.policy, seqs.map((s) => s.ids), {
    maxNewTokens: cfg.rollout.max_new_tokens,
    temperature: cfg.rollout.temperature,
    seed: streamSeed(cfg.run.seed, step, STREAM.rollout),
    seqIds: seqs.map((s) => s.g * samples + s.k),
    decode: (ids) => m.tokenizer.decode(ids),
  });
  const [tGen, cGen] = [performance.now(), cpuTimeMs()];
  for (const g of gens) {
    if (g.tokens.length !== cfg.rollout.max_new_tokens) {
      throw new Error(`rl: a sequence stopped at ${g.tokens.length} tokens`);
    }
  }
  // Each sequence is its own "problem" whose gold is the parity of its index.
  const trajs: Trajectory[] = gens.map((g, i) => ({
    problemId: `seq-${i}`,
    group: seqs[i].g,
    prompt: seqs[i].ids,
    response: g.tokens,
    logprobs: g.logprobs,
    text: g.text,
    finish: g.finish,
    version: step - 1,
  }));
  const golds = new Map(trajs.map((t, i) => [t.problemId, i % 2]));
  const fake: RewardFn = (s) => ({ score: s.gold as number, details: { reason: "parity" } });
  const scored = score(trajs, golds, { name: "math", extract: "answer", truncatedReward: 0 }, fake);
  const { metrics } = await ppoStep(learner, scored, step);
  const [tSync, cSync] = [performance.now(), cpuTimeMs()];
  await sync();
  const [t1, c1] = [performance.now(), cpuTimeMs()];
  const s = (ms: number) => ms / 1000;
  const update = learner.times.update + s(t1 - tSync);
  const generateS = s(tGen - t0);
  const stepS = s(t1 - t0);
  return {
    step: stepS,
    generate: generateS,
    forward: learner.times.forward,
    update,
    other: stepS - generateS - learner.times.forward - update,
    cpu: {
      step: s(c1 - c0) / CORES,
      generate: s(cGen - c0) / CORES,
      forward: s(learner.cpuMs.forward) / CORES,
      update: s(learner.cpuMs.update + c1 - cSync) / CORES,
    },
    metrics,
    parts: { ...learner.parts, policy: learner.parts.policy + s(t1 - tSync) },
  };
}

/** Run the PyTorch RL peer; its JSON, or the reason it did not run. */
async function runRlPeer(args: string[]): Promise<Record<string, unknown> | string> {
  const script = new URL("./torch_rl_peer.py", import.meta.url).pathname;
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("python3", {
      args: [script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return `python3 not runnable: ${(e as Error).message}`;
  }
  const text = new TextDecoder().decode(result.stdout).trim().split("\n").at(-1) ?? "";
  if (!result.success || !text.startsWith("{")) {
    const err = new TextDecoder().decode(result.stderr).trim().split("\n").at(-1);
    return `torch_rl_peer.py failed: ${err}`;
  }
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return typeof parsed.torch_skipped === "string" ? parsed.torch_skipped : parsed;
}

const partsLine = (p: Record<Part, number>) =>
  `old log-probs ${p.logprobs.toFixed(2)}, values ${p.values.toFixed(2)}, critic update ${
    p.critic.toFixed(2)
  }, policy update ${p.policy.toFixed(2)}`;

/** Figures of one side: times (s) and achieved GFLOP/s, keys prefixed with `prefix`. */
function figuresOf(prefix: string, t: StepTimes, vocab: number): Record<string, number> {
  const f = stepFlops(vocab);
  const total = f.generate + f.forward + f.update;
  const rate = (flops: number, s: number) => round(flops / s / 1e9);
  const out: Record<string, number> = {
    [`${prefix}rl_step_s`]: round(t.step),
    [`${prefix}rl_generate_s`]: round(t.generate),
    [`${prefix}rl_forward_s`]: round(t.forward),
    [`${prefix}rl_update_s`]: round(t.update),
    [`${prefix}rl_other_s`]: round(t.other),
    [`${prefix}rl_step_gflops`]: rate(total, t.step),
    [`${prefix}rl_generate_gflops`]: rate(f.generate, t.generate),
    [`${prefix}rl_forward_gflops`]: rate(f.forward, t.forward),
    [`${prefix}rl_update_gflops`]: rate(f.update, t.update),
  };
  for (const [k, v] of Object.entries(t.parts ?? {})) out[`${prefix}rl_${k}_s`] = round(v);
  if (Number.isFinite(t.cpu.step)) {
    for (const [k, v] of Object.entries(t.cpu)) out[`${prefix}rl_${k}_cpu_s`] = round(v);
  }
  return out;
}

/** Whether this process already ran a step (its pipelines are compiled and cached). */
let warmedUp = false;

/** zerokit's and the peer's figures (see the module doc). */
export async function benchRl(ctx: BenchContext): Promise<Record<string, number>> {
  await initGpu();
  const cfg = rlConfig();
  const timed = ctx.quick ? 1 : 3;
  const models = await buildModels(cfg, null);
  const learner = new CpuTimedLearner(cfg, models.policy, models.critic, models.ref);
  const vocab = models.policy.cfg.vocabSize;
  const prompts = promptIds(vocab);
  const dir = await Deno.makeTempDir({ prefix: "zerokit-rl-bench-" });
  const out: Record<string, number> = {};
  try {
    await saveModel(models.policy, dir);
    await Deno.writeTextFile(`${dir}/prompts.json`, JSON.stringify(prompts));
    // Warm-up (pipeline compiles; skipped in later rounds, whose pipelines are cached), then
    // timed steps; a step that still compiled is discarded and retried.
    let step = 1;
    const sanity = (label: string, t: StepTimes) => {
      const m = t.metrics!;
      const show = (k: string) => `${k} ${m[k].toPrecision(3)}`;
      ctx.log(
        `rl ${label}: ${t.step.toFixed(2)} s; ${
          ["loss/value", "loss/policy", "logprob/sampler_vs_train_max_abs_diff", "entropy"]
            .map(show).join(", ")
        }`,
      );
    };
    if (!warmedUp) sanity("warm-up step", await oneStep(cfg, models, learner, prompts, step++));
    warmedUp = true;
    const runs: StepTimes[] = [];
    for (let tries = 0; runs.length < timed && tries < timed + 2; tries++) {
      const compiled = launchStats().pipelines;
      const t = await oneStep(cfg, models, learner, prompts, step++);
      if (launchStats().pipelines === compiled) runs.push(t);
      if (step === 2) sanity("first step (no warm-up)", t);
    }
    if (runs.length === 0) throw new Error("rl: every step compiled pipelines");
    // The fastest step, with its own breakdown (so the phases add up to the step).
    const ours = runs.reduce((a, b) => (b.step < a.step ? b : a));
    const f = stepFlops(vocab);
    out.rl_step_gflop = round((f.generate + f.forward + f.update) / 1e9);
    Object.assign(out, figuresOf("", ours, vocab));
    ctx.log(
      `rl step ${ours.step.toFixed(2)} s: generate ${ours.generate.toFixed(2)}, forward ${
        ours.forward.toFixed(2)
      }, update ${ours.update.toFixed(2)}, other ${
        ours.other.toFixed(3)
      } (${out.rl_step_gflop} GFLOP, ${out.rl_step_gflops} GFLOP/s); ${partsLine(ours.parts!)}`,
    );

    // One more step under the profiler: per-kernel GPU time, encode time, dispatches.
    const prof = await profile(() => oneStep(cfg, models, learner, prompts, step++), {
      byLabel: BY_SHAPE,
    });
    ctx.log(`rl step profile (one more step, each dispatch in its own timed pass):`);
    ctx.log(formatProfile(prof, BY_SHAPE ? 40 : 15));
    Object.assign(out, profileFigures("rl", prof));

    const peer = await runRlPeer([
      "--dir",
      dir,
      "--prompts",
      `${dir}/prompts.json`,
      "--samples",
      String(RL_SHAPE.samples),
      "--new",
      String(RL_SHAPE.newTokens),
      "--critic-steps",
      String(cfg.critic.update_steps),
      "--steps",
      String(timed),
    ]);
    if (typeof peer === "string") {
      (ctx.note ?? ctx.log)(`rl: no PyTorch peer (${peer})`);
    } else {
      const t: StepTimes = {
        step: peer.torch_rl_step_s as number,
        generate: peer.torch_rl_generate_s as number,
        forward: peer.torch_rl_forward_s as number,
        update: peer.torch_rl_update_s as number,
        other: peer.torch_rl_other_s as number,
        parts: {
          logprobs: peer.torch_rl_logprobs_s as number,
          values: peer.torch_rl_values_s as number,
          critic: peer.torch_rl_critic_s as number,
          policy: peer.torch_rl_policy_s as number,
        },
        cpu: {
          step: peer.torch_rl_step_cpu_s as number,
          generate: peer.torch_rl_generate_cpu_s as number,
          forward: peer.torch_rl_forward_cpu_s as number,
          update: peer.torch_rl_update_cpu_s as number,
        },
      };
      Object.assign(out, figuresOf("torch_", t, vocab));
      ctx.log(
        `torch rl step ${t.step.toFixed(2)} s: generate ${t.generate.toFixed(2)}, forward ${
          t.forward.toFixed(2)
        }, update ${t.update.toFixed(2)}, other ${t.other.toFixed(3)}; ${partsLine(t.parts!)}`,
      );
    }
  } finally {
    learner.dispose();
    models.policy.dispose();
    models.critic?.dispose();
    models.ref?.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

/** The section for bench/main.ts's registry. */
export const rlSection: BenchSection = {
  description: "one PPO step, hidden 96 × 3 layers, 128 × (20 + 40) tokens, PyTorch peer",
  run: benchRl,
};

if (import.meta.main && Deno.args.includes("--scaling")) {
  const figures = await benchRlScaling({ quick: false, log: (m) => console.error(m) });
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(28)} ${v}`);
} else if (import.meta.main) {
  const figures = await benchRl({
    quick: Deno.args.includes("--quick"),
    log: (m) => console.error(m),
  });
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(28)} ${v}`);
}

/**
 * How a step's time grows: the pilot step, then with twice the batch (prompts), twice the
 * response length, and twice the model width (hidden and MLP sizes), each one warm-up step
 * and one timed step. Figures `rl_scale_<case>_step_s` and `_gflops`; the log has the table
 * (time and FLOPs relative to the pilot step), which is what predicts a run's cost.
 */
export async function benchRlScaling(ctx: BenchContext): Promise<Record<string, number>> {
  await initGpu();
  const base = RL_SHAPE;
  const cases: [string, RlShape][] = [
    ["pilot", base],
    ["batch2x", { ...base, prompts: 2 * base.prompts }],
    ["length2x", { ...base, newTokens: 2 * base.newTokens }],
    ["width2x", { ...base, hidden: 2 * base.hidden, intermediate: 2 * base.intermediate }],
  ];
  const out: Record<string, number> = {};
  const rows: string[] = [];
  let pilot: { s: number; flop: number } | undefined;
  for (const [name, shape] of cases) {
    const cfg = rlConfig(shape);
    const models = await buildModels(cfg, null);
    const learner = new CpuTimedLearner(cfg, models.policy, models.critic, models.ref);
    try {
      const vocab = models.policy.cfg.vocabSize;
      const prompts = promptIds(vocab, shape);
      await oneStep(cfg, models, learner, prompts, 1, shape); // warm-up (compiles)
      const t = await oneStep(cfg, models, learner, prompts, 2, shape);
      const f = stepFlops(vocab, shape);
      const flop = f.generate + f.forward + f.update;
      pilot ??= { s: t.step, flop };
      out[`rl_scale_${name}_step_s`] = round(t.step);
      out[`rl_scale_${name}_gflops`] = round(flop / t.step / 1e9);
      rows.push(
        `  ${name.padEnd(9)} B ${String(shape.prompts * shape.samples).padStart(3)}  N ${
          String(shape.newTokens).padStart(3)
        }  H ${String(shape.hidden).padStart(3)}  step ${t.step.toFixed(2).padStart(5)} s (×${
          (t.step / pilot.s).toFixed(2)
        })  FLOP ×${(flop / pilot.flop).toFixed(2)}  generate ${t.generate.toFixed(2)}, forward ${
          t.forward.toFixed(2)
        }, update ${t.update.toFixed(2)}`,
      );
    } finally {
      learner.dispose();
      models.policy.dispose();
      models.critic?.dispose();
      models.ref?.dispose();
    }
  }
  ctx.log(`rl step scaling (one timed step each):\n${rows.join("\n")}`);
  return out;
}

/** The scaling section for bench/main.ts's registry. */
export const rlScalingSection: BenchSection = {
  description: "how the RL step grows with batch, response length and model width",
  run: benchRlScaling,
};
