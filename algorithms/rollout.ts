/**
 * Rollouts and scoring: the boundary between sampling and learning. `rollout()` takes a
 * weights version and tokenised prompts and returns plain {@link Trajectory}s; `score()` adds
 * rewards. Both are pure data in, data out apart from the model handle, so a rollout worker in
 * another process can run `rollout()` on its own copy of the weights and ship JSON.
 *
 * ORZ's sampling: temperature 1, top-p 1, the stop strings `User:`, `Human:`, `Assistant:`,
 * `</answer>` kept in the response (vLLM's include_stop_str_in_output; orz_7b_ppo.py:171,
 * 339-347); EOS ends a sequence too.
 *
 * @module
 */
import { generate } from "../models/generate.ts";
import type { Transformer } from "../models/transformer.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import { rewards } from "../rewards/mod.ts";
import type { RewardFn } from "../rewards/types.ts";
import type { Scored, Trajectory } from "./types.ts";

/** One prompt of a rollout request. */
export interface RolloutPrompt {
  problemId: string;
  /** Its index in the step (shared by its samples). */
  group: number;
  ids: number[];
}

/** How to sample. */
export interface Sampling {
  samples: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  stop: readonly string[];
  seed: number;
  /** Sequences per generate() call (bounds KV-cache memory). */
  batchSize: number;
}

/** One sequence to sample: the `k`-th sample of prompt `p`. */
export interface RolloutSeq {
  p: RolloutPrompt;
  k: number;
}

/**
 * A step's sequences (prompt-major: every sample of prompt 0, then of prompt 1, …) cut into
 * chunks of `chunk` sequences: each chunk is one generate() call locally and one task when
 * the rollouts run on workers, so both paths sample exactly the same batches.
 */
export function planRollout(
  prompts: readonly RolloutPrompt[],
  samples: number,
  chunk: number,
): RolloutSeq[][] {
  const seqs = prompts.flatMap((p) => Array.from({ length: samples }, (_, k) => ({ p, k })));
  const chunks: RolloutSeq[][] = [];
  for (let a = 0; a < seqs.length; a += chunk) chunks.push(seqs.slice(a, a + chunk));
  return chunks;
}

/** Sample `sampling.samples` responses for each prompt with the policy at `version`. */
export async function rollout(
  model: Transformer,
  tokenizer: Tokenizer,
  version: number,
  prompts: readonly RolloutPrompt[],
  sampling: Sampling,
): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for (const chunk of planRollout(prompts, sampling.samples, sampling.batchSize)) {
    out.push(...await rolloutChunk(model, tokenizer, version, chunk, sampling));
  }
  return out;
}

/** Sample the sequences of one chunk in one generate() call (`sampling.batchSize` unused). */
export async function rolloutChunk(
  model: Transformer,
  tokenizer: Tokenizer,
  version: number,
  chunk: readonly RolloutSeq[],
  sampling: Sampling,
): Promise<Trajectory[]> {
  const eos = model.cfg.eosTokenId;
  const eosIds = [
    ...new Set([
      tokenizer.eosTokenId,
      ...(Array.isArray(eos) ? eos : eos === null || eos === undefined ? [] : [eos]),
    ]),
  ];
  const gens = await generate(model, chunk.map((s) => s.p.ids), {
    maxNewTokens: sampling.maxNewTokens,
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    seed: sampling.seed,
    // A sequence's draws depend on (seed, its id), not on the batch it ran in.
    seqIds: chunk.map((s) => s.p.group * sampling.samples + s.k),
    eosTokenIds: eosIds,
    stopStrings: [...sampling.stop],
    decode: (ids) => tokenizer.decode(ids),
  });
  return gens.map((g, i) => ({
    problemId: chunk[i].p.problemId,
    group: chunk[i].p.group,
    prompt: chunk[i].p.ids,
    response: g.tokens,
    logprobs: g.logprobs,
    text: g.text,
    finish: g.finish,
    version,
  }));
}

/** What one step asks of a rollout source. */
export interface RolloutRequest {
  step: number;
  /** The policy version the step's updates start from (updates so far). */
  version: number;
  prompts: RolloutPrompt[];
  sampling: Sampling;
  /** Gold answers by problem id. */
  golds: ReadonlyMap<string, unknown>;
}

/**
 * Where a step's scored trajectories come from: sampled here with the policy in memory
 * (`localRollouts`), or by workers over Redis Streams (algorithms/distributed/). Either
 * returns them prompt-major, plus the source's own metrics.
 */
export interface RolloutSource {
  collect(req: RolloutRequest): Promise<{ scored: Scored[]; metrics: Record<string, number> }>;
  close(): Promise<void>;
}

/** Rollouts with the policy in this process, scored here. */
export function localRollouts(
  model: Transformer,
  tokenizer: Tokenizer,
  reward: RewardSettings,
  custom?: RewardFn,
): RolloutSource {
  return {
    async collect(req) {
      const trajs = await rollout(model, tokenizer, req.version, req.prompts, req.sampling);
      const t0 = performance.now();
      const scored = score(trajs, req.golds, reward, custom);
      return { scored, metrics: { "time/score": (performance.now() - t0) / 1000 } };
    },
    close: () => Promise.resolve(),
  };
}

/** Reward settings (config.ts `reward`). */
export interface RewardSettings {
  name: keyof typeof rewards;
  extract: "orz" | "boxed" | "answer" | "auto";
  truncatedReward: number;
  /** math, `orz` extraction: an `<answer>` never closed scores 0 (ORZ) or counts on stop. */
  unclosedAnswer?: "reject" | "stop";
  /** math: rounded decimals against exact values inside structures, everywhere, or never. */
  decimalRounding?: "structures" | "all" | "off";
}

/**
 * Score trajectories with the configured reward against their problems' golds. A reward
 * never throws; if a custom one does, the sample scores 0 with the error as its reason.
 */
export function score(
  trajs: readonly Trajectory[],
  golds: ReadonlyMap<string, unknown>,
  settings: RewardSettings,
  custom?: RewardFn,
): Scored[] {
  const fn: RewardFn = custom ?? rewards[settings.name];
  const options = settings.name === "math"
    ? {
      extract: settings.extract,
      truncatedScore: settings.truncatedReward,
      ...(settings.unclosedAnswer && { unclosedAnswer: settings.unclosedAnswer }),
      ...(settings.decimalRounding && { decimalRounding: settings.decimalRounding }),
    }
    : {};
  return trajs.map((t) => {
    let r;
    try {
      r = fn({ response: t.text, gold: golds.get(t.problemId), finish: t.finish }, options);
    } catch (e) {
      r = { score: 0, details: { reason: `reward threw: ${(e as Error).message}` } };
    }
    const details = r.details as { correct?: boolean; reason: string };
    const score = Number.isFinite(r.score) ? r.score : 0;
    return { ...t, score, correct: details.correct ?? score > 0, reason: details.reason };
  });
}
