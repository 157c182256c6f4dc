/**
 * What learner and rollout workers say to each other over Redis Streams. Plain JSON in one
 * field per stream entry; everything a worker needs is in the task, so one pool of workers
 * can serve several learners.
 *
 *   <prefix>:tasks                  one stream, consumer group `workers`: RolloutTask
 *   <prefix>:results:<run>          one per learner: RolloutResult (or an error)
 *   <prefix>:learner:<run>          the learner's current nonce (a string key)
 *
 * Delivery is at least once: a task taken by a worker that dies before acknowledging it is
 * claimed by another after `claim_idle_ms` (XAUTOCLAIM), so a result can arrive twice; the
 * learner keeps the first per task id. A task whose nonce is not the learner's current one
 * (issued before the learner restarted) is acknowledged and skipped.
 *
 * @module
 */
import type { RewardSettings, RolloutSeq, Sampling } from "../rollout.ts";
import type { Scored } from "../types.ts";

/** The consumer group every worker joins on the task stream. */
export const WORKER_GROUP = "workers";

/** The Redis keys of a prefix (and of one learner's run, for its own keys). */
export function streamKeys(prefix: string, run = "") {
  return {
    tasks: `${prefix}:tasks`,
    results: `${prefix}:results:${run}`,
    learner: `${prefix}:learner:${run}`,
  };
}

/** One unit of rollout work: a chunk of a step's sequences and how to sample and score them. */
export interface RolloutTask {
  /** `<nonce>:<step>:<chunk>`: unique per learner process, the same on a retry. */
  id: string;
  /** The issuing learner process (a fresh UUID per start). */
  nonce: string;
  /** The key holding the learner's current nonce (stale tasks are skipped). */
  learnerKey: string;
  /** The stream to write the result to. */
  results: string;
  step: number;
  /** Policy version (updates so far) whose weights must sample. */
  version: number;
  /** The version's folder, relative to the worker's `--store`. */
  weights: string;
  seqs: RolloutSeq[];
  sampling: Sampling;
  reward: RewardSettings;
  /** Gold answers of the task's problems, by problem id. */
  golds: Record<string, unknown>;
}

/** A worker's answer to a task: its scored trajectories, or why it could not run it. */
export interface RolloutResult {
  id: string;
  nonce: string;
  step: number;
  version: number;
  worker: string;
  scored?: Scored[];
  error?: string;
  /** Seconds the worker spent (loading weights included). */
  seconds: number;
  /** Seconds of that spent loading weights (0 when cached). */
  loadSeconds: number;
}

/** Stream entry fields (`[field, value, …]` as Redis returns them) → the message's JSON. */
export function decodeEntry<T>(fields: string[], field: string): T {
  const i = fields.indexOf(field);
  if (i < 0 || i % 2 !== 0) throw new Error(`stream entry has no "${field}" field`);
  return JSON.parse(fields[i + 1]) as T;
}

/** A Redis stream id as [ms, seq], for ordering. */
export function parseStreamId(id: string): [number, number] {
  const [ms, seq] = id.split("-").map(Number);
  return [ms, seq ?? 0];
}
