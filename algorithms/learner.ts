/**
 * The learner: the models and optimizers of a run and the passes every algorithm shares —
 * scoring trajectories under a model (log-probs, entropies, values) and optimizer steps over
 * shuffled mini-batches with gradient accumulation over micro-batches.
 *
 * An optimizer step: every micro-batch's loss Σ w_t ℓ_t (weights fixed for the whole
 * mini-batch, see losses.ts) is back-propagated, gradients accumulate, then the global
 * gradient norm is clipped and AdamW steps. A non-finite loss or gradient norm skips the
 * update (the gradients are dropped, nothing is written) and is counted.
 *
 * @module
 */
import { AdamW } from "../kernels/optim/adamw.ts";
import { backward, noGrad, zeroGrad } from "../kernels/core/autograd.ts";
import { clipGradNorm } from "../kernels/optim/grad_norm.ts";
import { logprobsAndEntropy } from "../kernels/reduce/logprobs.ts";
import { readAll, scope, type Tensor, tensor } from "../kernels/core/tensor.ts";
import type { Critic } from "../models/critic.ts";
import type { Transformer } from "../models/transformer.ts";
import type { RunConfig } from "../config.ts";
import type { Ragged } from "./advantages.ts";
import { chunks, Packed, slices } from "./batch.ts";
import { aggregationWeights, policyLoss, valueLoss } from "./losses.ts";
import { permutation, STREAM, streamSeed } from "./seeds.ts";
import type { Metrics, Trajectory } from "./types.ts";

/** lr at optimizer step k (0-based): linear warm-up to `base` over `warmup` steps, then flat. */
export function warmupLr(base: number, k: number, warmup: number): number {
  return warmup > 0 ? base * Math.min(1, (k + 1) / warmup) : base;
}

/** Per-token inputs of a policy update, one array per trajectory. */
export interface PolicyTargets {
  oldLogprobs: Ragged;
  advantages: Ragged;
  refLogprobs?: Ragged;
}

/** Result of one optimizer step. */
interface StepResult {
  loss: number;
  gradNorm: number;
  skipped: boolean;
  /** Per micro-batch, the values of the tensors `lossOf` asked to read. */
  reads: Float32Array[][];
}

export class Learner {
  readonly policyOpt: AdamW;
  readonly criticOpt: AdamW | null;
  /** Updates skipped for a non-finite loss or gradient, over the run. */
  skippedUpdates = 0;
  /** Seconds spent in scoring forwards and in updates since the last {@link resetTimes}. */
  times = { forward: 0, update: 0 };

  constructor(
    readonly cfg: RunConfig,
    readonly policy: Transformer,
    readonly critic: Critic | null,
    readonly ref: Transformer | null,
  ) {
    const { optim } = cfg;
    const adam = (lr: number) => ({
      lr,
      betas: optim.betas as [number, number],
      eps: optim.eps,
      weightDecay: optim.weight_decay,
    });
    policy.setTrainable(true);
    this.policyOpt = new AdamW(policy.parameters(), adam(cfg.actor.lr));
    critic?.setTrainable(true);
    this.criticOpt = critic ? new AdamW(critic.parameters(), adam(cfg.critic.lr)) : null;
    ref?.setTrainable(false);
  }

  /** The temperature log-probs are scored at: the sampler's (1 for greedy). */
  get temperature(): number {
    return this.cfg.rollout.temperature > 0 ? this.cfg.rollout.temperature : 1;
  }

  /** Index lists of micro-batches over `idx`, longest first (similar lengths pad less). */
  #micro(trajs: readonly Trajectory[], idx: readonly number[]): number[][] {
    const len = (i: number) => trajs[i].prompt.length + trajs[i].response.length;
    const sorted = [...idx].sort((a, b) => len(b) - len(a) || a - b);
    return slices(sorted, this.cfg.train.micro_batch);
  }

  resetTimes(): void {
    this.times = { forward: 0, update: 0 };
  }

  async #timed<T>(key: "forward" | "update", fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.times[key] += (performance.now() - t0) / 1000;
    }
  }

  /** Log-probs (and entropies) of every trajectory's response under `model`, no gradient. */
  logprobs(
    model: Transformer,
    trajs: readonly Trajectory[],
  ): Promise<{ logprobs: Ragged; entropy: Ragged }> {
    return this.#timed("forward", () => this.#logprobs(model, trajs));
  }

  async #logprobs(
    model: Transformer,
    trajs: readonly Trajectory[],
  ): Promise<{ logprobs: Ragged; entropy: Ragged }> {
    const parts = this.#micro(trajs, trajs.map((_, i) => i));
    const outs = parts.map((part) =>
      noGrad(() =>
        scope(() => {
          const p = new Packed(part.map((i) => trajs[i]));
          const logits = model.forward(p.batch());
          const V = logits.shape[logits.rank - 1];
          const r = logprobsAndEntropy(logits.reshape([p.B * p.T, V]), p.targetTensor(), {
            temperature: this.temperature,
          });
          return [r.logprobs, r.entropy];
        })
      )
    );
    const data = await readAll(outs.flat());
    outs.flat().forEach((t) => t.dispose());
    const logprobs: Ragged = new Array(trajs.length);
    const entropy: Ragged = new Array(trajs.length);
    parts.forEach((part, k) => {
      const p = new Packed(part.map((i) => trajs[i]));
      const lp = p.gather(data[2 * k]);
      const en = p.gather(data[2 * k + 1]);
      part.forEach((i, j) => ((logprobs[i] = lp[j]), (entropy[i] = en[j])));
    });
    return { logprobs, entropy };
  }

  /** The critic's value of the state before each response token, no gradient. */
  values(trajs: readonly Trajectory[]): Promise<Ragged> {
    return this.#timed("forward", () => this.#values(trajs));
  }

  async #values(trajs: readonly Trajectory[]): Promise<Ragged> {
    const critic = this.#needCritic();
    const parts = this.#micro(trajs, trajs.map((_, i) => i));
    const outs = parts.map((part) =>
      noGrad(() => scope(() => critic.values(new Packed(part.map((i) => trajs[i])).batch())))
    );
    const data = await readAll(outs);
    outs.forEach((t) => t.dispose());
    const values: Ragged = new Array(trajs.length);
    parts.forEach((part, k) => {
      const vs = new Packed(part.map((i) => trajs[i])).gather(data[k]);
      part.forEach((i, j) => (values[i] = vs[j]));
    });
    return values;
  }

  /** Mini-batches of one epoch: a seeded shuffle of the buffer split into `steps` parts. */
  #miniBatches(n: number, steps: number, seed: number): number[][] {
    return chunks(permutation(n, seed), steps);
  }

  /**
   * The critic's updates for one rollout: `critic.epochs` passes, each over
   * `critic.update_steps` shuffled mini-batches, regressing V onto `returns` with the clipped
   * value loss (token mean over each mini-batch).
   */
  updateCritic(
    trajs: readonly Trajectory[],
    oldValues: Ragged,
    returns: Ragged,
    step: number,
  ): Promise<Metrics> {
    return this.#timed("update", () => this.#updateCritic(trajs, oldValues, returns, step));
  }

  async #updateCritic(
    trajs: readonly Trajectory[],
    oldValues: Ragged,
    returns: Ragged,
    step: number,
  ): Promise<Metrics> {
    const critic = this.#needCritic();
    const opt = this.criticOpt!;
    const { update_steps, epochs, value_clip, lr } = this.cfg.critic;
    const params = critic.parameters();
    let loss = 0, norm = 0, count = 0, lastLr = lr;
    for (let e = 0; e < epochs; e++) {
      const minis = this.#miniBatches(
        trajs.length,
        update_steps,
        streamSeed(this.cfg.run.seed, step, STREAM.critic, e),
      );
      for (const mini of minis) {
        const total = mini.reduce((s, i) => s + trajs[i].response.length, 0);
        lastLr = warmupLr(lr, opt.stepCount, this.cfg.optim.warmup_steps);
        const r = await this.#optimizerStep(
          params,
          opt,
          lastLr,
          this.#micro(trajs, mini),
          (part) => {
            const p = new Packed(part.map((i) => trajs[i]));
            const values = critic.values(p.batch()).reshape([p.B * p.T]);
            const weights = tensor(p.spreadScalar(part.map(() => 1 / total)), [p.B * p.T]);
            const vl = valueLoss({
              values,
              oldValues: tensor(p.spread(part.map((i) => oldValues[i])), [p.B * p.T]),
              returns: tensor(p.spread(part.map((i) => returns[i])), [p.B * p.T]),
              weights,
              clip: value_clip,
            });
            return { loss: vl, reads: [] };
          },
        );
        if (!r.skipped) (loss += r.loss, norm += r.gradNorm, count++);
      }
    }
    return {
      "loss/value": count ? loss / count : NaN,
      "grad_norm/critic": count ? norm / count : NaN,
      "lr/critic": lastLr,
    };
  }

  /**
   * The policy's updates for one rollout: `actor.epochs` passes over `actor.update_steps`
   * shuffled mini-batches of the clipped surrogate (with the KL and entropy terms the config
   * turns on), aggregated per `loss.aggregation` over each mini-batch.
   */
  updatePolicy(
    trajs: readonly Trajectory[],
    targets: PolicyTargets,
    step: number,
  ): Promise<Metrics> {
    return this.#timed("update", () => this.#updatePolicy(trajs, targets, step));
  }

  async #updatePolicy(
    trajs: readonly Trajectory[],
    targets: PolicyTargets,
    step: number,
  ): Promise<Metrics> {
    const { cfg } = this;
    const { update_steps, epochs, lr } = cfg.actor;
    const opt = this.policyOpt;
    const params = this.policy.parameters();
    const klLoss = cfg.kl.mode === "loss";
    if (klLoss && !targets.refLogprobs) {
      throw new Error("updatePolicy: kl.mode=loss needs refLogprobs");
    }
    let loss = 0, norm = 0, count = 0, lastLr = lr;
    let clipped = 0, tokens = 0, approxKl = 0, ratioMax = 0;
    for (let e = 0; e < epochs; e++) {
      const minis = this.#miniBatches(
        trajs.length,
        update_steps,
        streamSeed(cfg.run.seed, step, STREAM.actor, e),
      );
      for (const mini of minis) {
        const w = aggregationWeights(
          mini.map((i) => trajs[i].response.length),
          cfg.loss.aggregation,
          cfg.rollout.max_new_tokens,
        );
        const weightOf = new Map(mini.map((i, k) => [i, w[k]]));
        const micro = this.#micro(trajs, mini);
        lastLr = warmupLr(lr, opt.stepCount, cfg.optim.warmup_steps);
        const r = await this.#optimizerStep(params, opt, lastLr, micro, (part) => {
          const p = new Packed(part.map((i) => trajs[i]));
          const N = p.B * p.T;
          const logits = this.policy.forward(p.batch());
          const V = logits.shape[logits.rank - 1];
          const { logprobs, entropy } = logprobsAndEntropy(
            logits.reshape([N, V]),
            p.targetTensor(),
            { temperature: this.temperature },
          );
          const upload = (x: Ragged) => tensor(p.spread(part.map((i) => x[i])), [N]);
          const out = policyLoss({
            logprobs,
            oldLogprobs: upload(targets.oldLogprobs),
            advantages: upload(targets.advantages),
            weights: tensor(p.spreadScalar(part.map((i) => weightOf.get(i)!)), [N]),
            clipLow: cfg.clip.low,
            clipHigh: cfg.clip.high,
            entropy: { values: entropy, coef: cfg.loss.entropy_coef },
            kl: klLoss
              ? {
                refLogprobs: upload(targets.refLogprobs!),
                estimator: cfg.kl.estimator,
                coef: cfg.kl.coef,
              }
              : undefined,
          });
          return { loss: out.loss, reads: [out.ratio] };
        });
        // Clip fraction and the policy's move, from the ratios of this step's forward.
        micro.forEach((part, k) => {
          const p = new Packed(part.map((i) => trajs[i]));
          p.gather(r.reads[k][0]).forEach((ratios, j) => {
            const adv = targets.advantages[part[j]];
            ratios.forEach((rho, t) => {
              const a = adv[t];
              if ((a > 0 && rho > 1 + cfg.clip.high) || (a < 0 && rho < 1 - cfg.clip.low)) {
                clipped++;
              }
              approxKl += rho - 1 - Math.log(rho);
              ratioMax = Math.max(ratioMax, rho);
              tokens++;
            });
          });
        });
        if (!r.skipped) (loss += r.loss, norm += r.gradNorm, count++);
      }
    }
    return {
      "loss/policy": count ? loss / count : NaN,
      "grad_norm/policy": count ? norm / count : NaN,
      "lr/policy": lastLr,
      clipfrac: tokens ? clipped / tokens : 0,
      "policy/approx_kl": tokens ? approxKl / tokens : 0,
      "policy/ratio_max": ratioMax,
    };
  }

  /** Accumulate gradients over `micro` batches, clip, and step (or skip if non-finite). */
  async #optimizerStep(
    params: Tensor[],
    opt: AdamW,
    lr: number,
    micro: number[][],
    lossOf: (part: number[]) => { loss: Tensor; reads: Tensor[] },
  ): Promise<StepResult> {
    const kept: { loss: Tensor; reads: Tensor[] }[] = [];
    for (const part of micro) {
      kept.push(scope(() => {
        const out = lossOf(part);
        backward(out.loss);
        return out;
      }));
    }
    const maxNorm = this.cfg.optim.grad_clip ?? Infinity;
    const { coef, norm } = clipGradNorm(params, maxNorm);
    const flat = [norm, ...kept.flatMap((k) => [k.loss, ...k.reads])];
    const data = (await readAll(flat)) as Float32Array[];
    const gradNorm = data[0][0];
    let loss = 0;
    const reads: Float32Array[][] = [];
    let at = 1;
    for (const k of kept) {
      loss += data[at++][0];
      reads.push(k.reads.map(() => data[at++]));
    }
    const skipped = !Number.isFinite(gradNorm) || !Number.isFinite(loss);
    if (skipped) this.skippedUpdates++;
    else opt.step({ lr, gradScale: coef });
    zeroGrad(params);
    for (const t of [coef, ...flat]) t.dispose();
    return { loss, gradNorm, skipped, reads };
  }

  #needCritic(): Critic {
    if (!this.critic) throw new Error("this algorithm has no critic");
    return this.critic;
  }

  dispose(): void {
    this.policyOpt.dispose();
    this.criticOpt?.dispose();
  }
}
