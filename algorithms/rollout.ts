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

/** Sample `sampling.samples` responses for each prompt with the policy at `version`. */
export async function rollout(
  model: Transformer,
  tokenizer: Tokenizer,
  version: number,
  prompts: readonly RolloutPrompt[],
  sampling: Sampling,
): Promise<Trajectory[]> {
  const seqs = prompts.flatMap((p) =>
    Array.from({ length: sampling.samples }, (_, k) => ({ p, k }))
  );
  const eos = model.cfg.eosTokenId;
  const eosIds = [
    ...new Set([
      tokenizer.eosTokenId,
      ...(Array.isArray(eos) ? eos : eos === null || eos === undefined ? [] : [eos]),
    ]),
  ];
  const out: Trajectory[] = [];
  for (let a = 0; a < seqs.length; a += sampling.batchSize) {
    const chunk = seqs.slice(a, a + sampling.batchSize);
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
    gens.forEach((g, i) =>
      out.push({
        problemId: chunk[i].p.problemId,
        group: chunk[i].p.group,
        prompt: chunk[i].p.ids,
        response: g.tokens,
        logprobs: g.logprobs,
        text: g.text,
        finish: g.finish,
        version,
      })
    );
  }
  return out;
}

/** Reward settings (config.ts `reward`). */
export interface RewardSettings {
  name: keyof typeof rewards;
  extract: "orz" | "boxed" | "answer" | "auto";
  truncatedReward: number;
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
    ? { extract: settings.extract, truncatedScore: settings.truncatedReward }
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
