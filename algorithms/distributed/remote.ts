/**
 * The learner's side of distributed rollouts (`distributed.redis` set): a
 * {@link RolloutSource} whose samples come from workers (`deno task worker`). Per step:
 *
 * 1. publish the current weights as an immutable version in the store (once per version);
 * 2. make sure the tasks of this step and of the next `max_lag` steps are on the task
 *    stream — a step's tasks are its local rollout batches (`distributed.task_size`
 *    sequences each), issued with the version current when they were issued;
 * 3. gather results by task id (first one wins; duplicates, results of another learner
 *    process and results of other steps are dropped and counted), failing the step with
 *    the worker's message if a worker reports an error;
 * 4. re-issue, with the current version, any task whose result is older than `max_lag`
 *    versions (counted), and return the step's scored trajectories in prompt-major order.
 *
 * With one worker, `max_lag` 0 and the default task size, the trajectories are bit for bit
 * the ones the local loop samples (the same batches, the same weights, the same seeds), so
 * the run's metrics are too.
 *
 * @module
 */
import type { Tokenizer } from "../../models/tokenizer.ts";
import type { Transformer } from "../../models/transformer.ts";
import type { RunConfig } from "../../config.ts";
import { planRollout, type RolloutRequest, type RolloutSource, score } from "../rollout.ts";
import type { RewardSettings } from "../rollout.ts";
import type { RewardFn } from "../../rewards/types.ts";
import type { Scored } from "../types.ts";
import { connectRedis, ensureGroup, type Redis } from "./redis.ts";
import {
  decodeEntry,
  type RolloutResult,
  type RolloutTask,
  streamKeys,
  WORKER_GROUP,
} from "./protocol.ts";
import { pruneWeights, publishWeights } from "./store.ts";

/** The rollout request of the step `k` steps after this one (the trainer's look-ahead). */
export type AheadFn = (k: number) => RolloutRequest;

interface Issued {
  /** How many tasks (chunks) the step has. */
  chunks: number;
  /** Live task id → its sequence count (a re-issued chunk's old id is removed). */
  tasks: Map<string, number>;
  /** Entry ids on the task stream (deleted once the step is done). */
  entries: string[];
}

/** Open the learner's connection; the first `collect` publishes the first weights. */
export async function remoteRollouts(
  cfg: RunConfig,
  policy: Transformer,
  tokenizer: Tokenizer,
  reward: RewardSettings,
  opts: { custom?: RewardFn; ahead?: AheadFn } = {},
): Promise<RolloutSource> {
  const d = cfg.distributed;
  if (!d.redis || !d.store) throw new Error("distributed.redis and distributed.store are needed");
  const store = d.store;
  const run = cfg.run.name;
  const keys = streamKeys(d.prefix, run);
  const redis = await connectRedis(d.redis);
  const nonce = crypto.randomUUID();
  await redis.set(keys.learner, nonce);
  await ensureGroup(redis, keys.tasks, WORKER_GROUP);
  // Read results from here on: anything already on the stream is another process's.
  let cursor = await lastId(redis, keys.results);
  const published = new Map<number, string>();
  const issued = new Map<number, Issued>();
  const early = new Map<string, RolloutResult>();
  const timeoutMs = d.timeout_s * 1000;

  const weightsOf = async (version: number) => {
    let w = published.get(version);
    if (!w) {
      w = await publishWeights(store, run, version, policy, tokenizer);
      published.set(version, w);
      await pruneWeights(store, run, version - d.max_lag - 1);
      for (const v of published.keys()) if (v < version - d.max_lag - 1) published.delete(v);
    }
    return w;
  };

  const issue = async (req: RolloutRequest, version: number, only?: Set<number>) => {
    const weights = await weightsOf(version);
    const chunks = planRollout(
      req.prompts,
      req.sampling.samples,
      d.task_size ?? req.sampling.batchSize,
    );
    const rec: Issued = issued.get(req.step) ??
      { chunks: chunks.length, tasks: new Map(), entries: [] };
    for (const [c, seqs] of chunks.entries()) {
      if (only && !only.has(c)) continue;
      const ids = new Set(seqs.map((s) => s.p.problemId));
      const task: RolloutTask = {
        id: `${nonce}:${req.step}:${c}:v${version}`,
        nonce,
        learnerKey: keys.learner,
        results: keys.results,
        step: req.step,
        version,
        weights,
        seqs,
        sampling: req.sampling,
        reward,
        golds: Object.fromEntries([...ids].map((id) => [id, req.golds.get(id)])),
      };
      rec.tasks.set(task.id, seqs.length);
      rec.entries.push(await redis.xadd(keys.tasks, "*", "task", JSON.stringify(task)) as string);
    }
    issued.set(req.step, rec);
  };

  return {
    async collect(req) {
      const counts = { duplicates: 0, foreign: 0, stale: 0, reissued: 0 };
      // 2. This step's tasks and the look-ahead's, each with the version current now.
      if (!issued.has(req.step)) await issue(req, req.version);
      for (let k = 1; k <= d.max_lag && opts.ahead; k++) {
        const next = opts.ahead(k);
        if (!issued.has(next.step)) await issue(next, req.version);
      }
      const rec = issued.get(req.step)!;
      const nChunks = rec.chunks;
      // 3. Gather: chunk index → result.
      const got = new Map<number, RolloutResult>();
      const chunkOf = (id: string) => {
        const m = /^[^:]+:(\d+):(\d+):v(\d+)$/.exec(id);
        return m ? { step: Number(m[1]), chunk: Number(m[2]), version: Number(m[3]) } : null;
      };
      const accept = async (r: RolloutResult) => {
        const where = chunkOf(r.id);
        if (r.nonce !== nonce || !where) return void counts.foreign++;
        if (where.step !== req.step) {
          // A look-ahead step's result: keep it for that step.
          if (where.step > req.step && !early.has(r.id)) early.set(r.id, r);
          return;
        }
        if (!rec.tasks.has(r.id)) return void counts.stale++; // superseded by a re-issue
        if (r.error) throw new Error(`step ${req.step}: ${r.error}`);
        if (got.has(where.chunk)) return void counts.duplicates++;
        if (r.version < req.version - d.max_lag) {
          // 4. Too old: sample this chunk again with the current weights.
          counts.stale++;
          counts.reissued++;
          for (const [id] of rec.tasks) {
            if (chunkOf(id)?.chunk === where.chunk) rec.tasks.delete(id);
          }
          await issue(req, req.version, new Set([where.chunk]));
          return;
        }
        got.set(where.chunk, r);
      };
      for (const [id, r] of [...early]) {
        if (chunkOf(id)?.step === req.step) {
          early.delete(id);
          await accept(r);
        }
      }
      const t0 = Date.now();
      let workerSeconds = 0, loadSeconds = 0;
      while (got.size < nChunks) {
        if (Date.now() - t0 > timeoutMs) {
          throw new Error(
            `step ${req.step}: ${got.size} of ${nChunks} rollout tasks answered after ` +
              `${d.timeout_s} s (distributed.timeout_s): are workers running ` +
              `(deno task worker --redis ${d.redis} --store …)?`,
          );
        }
        const r = await redis.xread("COUNT", 64, "BLOCK", 1000, "STREAMS", keys.results, cursor) as
          | [string, [string, string[]][]][]
          | null;
        for (const [id, fields] of r?.[0]?.[1] ?? []) {
          cursor = id;
          let res: RolloutResult;
          try {
            res = decodeEntry<RolloutResult>(fields, "result");
          } catch {
            counts.foreign++;
            continue;
          }
          await accept(res);
        }
      }
      const results = [...got.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
      for (const r of results) (workerSeconds += r.seconds, loadSeconds += r.loadSeconds);
      let scored: Scored[] = results.flatMap((r) => r.scored!);
      // A reward function given in code cannot travel to workers: score here with it.
      if (opts.custom) scored = score(scored, req.golds, reward, opts.custom);
      // Tidy: this step's tasks and their results are done.
      if (rec.entries.length) await redis.xdel(keys.tasks, ...rec.entries);
      issued.delete(req.step);
      const lags = scored.map((s) => req.version - s.version);
      return {
        scored,
        metrics: {
          "distributed/tasks": nChunks,
          "distributed/lag_mean": lags.reduce((a, b) => a + b, 0) / Math.max(1, lags.length),
          "distributed/lag_max": Math.max(0, ...lags),
          "distributed/stale_dropped": counts.stale,
          "distributed/reissued": counts.reissued,
          "distributed/duplicates": counts.duplicates,
          "distributed/foreign_results": counts.foreign,
          "time/worker_total": workerSeconds,
          "time/weight_load": loadSeconds,
        },
      };
    },
    async close() {
      // Tasks not yet run (look-ahead) are the learner's; remove them so no worker starts them.
      for (const rec of issued.values()) {
        if (rec.entries.length) await redis.xdel(keys.tasks, ...rec.entries).catch(() => {});
      }
      redis.disconnect();
    },
  };
}

async function lastId(redis: Redis, stream: string): Promise<string> {
  const last = await redis.xrevrange(stream, "+", "-", "COUNT", 1) as [string, string[]][];
  return last[0]?.[0] ?? "0-0";
}
