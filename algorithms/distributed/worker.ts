/**
 * A rollout worker: `deno task worker --redis redis://HOST:PORT --store DIR`. It joins the
 * consumer group on the task stream and, one task at a time:
 *
 * 1. takes a task: first any task another worker took and left idle for `claimIdleMs` (it
 *    died), else a new one (XAUTOCLAIM, then XREADGROUP);
 * 2. skips it (acknowledged, no work) when its learner has restarted since issuing it;
 * 3. loads the task's weights version from the store (checked against its manifest;
 *    cached until another version is asked for);
 * 4. samples and scores the task's sequences exactly as the learner would locally;
 * 5. writes the scored trajectories (or the error that stopped it) to the task's result
 *    stream, then acknowledges the task.
 *
 * A kill between 4 and 5 loses only this worker's time: the task stays pending and another
 * worker claims it. A kill between the result and the acknowledgement makes a duplicate
 * result, which the learner drops by task id.
 *
 * A worker is a process of its own: the tensor library's scopes and grad mode are global to
 * a process, so a worker must not sample in the learner's process while the learner trains
 * (tests do it only with `max_lag` 0, where the learner waits while the worker samples).
 *
 * One worker per GPU: WebGPU takes the system's default adapter, so pin a worker to one GPU
 * of several with the Vulkan loader's device selection (`MESA_VK_DEVICE_SELECT=vid:did`
 * with Mesa's device-select layer, listed by `MESA_VK_DEVICE_SELECT=list`), or by
 * exposing one device to its container.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initGpu } from "../../kernels/core/device.ts";
import type { Tokenizer } from "../../models/tokenizer.ts";
import type { Transformer } from "../../models/transformer.ts";
import { rolloutChunk, score } from "../rollout.ts";
import { connectRedis, ensureGroup, type Redis } from "./redis.ts";
import {
  decodeEntry,
  type RolloutResult,
  type RolloutTask,
  streamKeys,
  WORKER_GROUP,
} from "./protocol.ts";
import { loadWeights } from "./store.ts";

export interface WorkerOptions {
  redis: string;
  /** This machine's mount of the learner's `distributed.store`. */
  store: string;
  /** Redis key prefix (the learner's `distributed.prefix`). */
  prefix?: string;
  /** Consumer name (default: host and pid). */
  name?: string;
  /** Claim tasks another worker has held this long without acknowledging (default 30 s). */
  claimIdleMs?: number;
  /** Block this long per read before looking for idle tasks again (default 1 s). */
  blockMs?: number;
  /** Exit after this many tasks (default: run until stopped). */
  maxTasks?: number;
  /** Stop at the next task boundary when this returns true. */
  shouldStop?: () => boolean;
  /** Called with a one-line account of each task. */
  log?: (line: string) => void;
}

type Entry = [id: string, fields: string[]];

/** Run a worker until `maxTasks` are done or `shouldStop` says so; returns tasks handled. */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const prefix = opts.prefix ?? "zerokit";
  const name = opts.name ?? `${Deno.hostname()}-${Deno.pid}`;
  const claimIdleMs = opts.claimIdleMs ?? 30_000;
  const blockMs = opts.blockMs ?? 1000;
  const log = opts.log ?? (() => {});
  const keys = streamKeys(prefix);
  const redis = await connectRedis(opts.redis);
  type Loaded = { dir: string; model: Transformer; tokenizer: Tokenizer };
  let cached = null as Loaded | null;
  let handled = 0;
  try {
    await ensureGroup(redis, keys.tasks, WORKER_GROUP);
    while (!(opts.shouldStop?.() ?? false) && handled < (opts.maxTasks ?? Infinity)) {
      const entry = await claimIdle(redis, keys.tasks, name, claimIdleMs) ??
        await readNew(redis, keys.tasks, name, blockMs);
      if (!entry) continue;
      const [entryId, fields] = entry;
      let task: RolloutTask;
      try {
        task = decodeEntry<RolloutTask>(fields, "task");
      } catch (e) {
        log(`task ${entryId}: unreadable (${(e as Error).message}); acknowledged and dropped`);
        await redis.xack(keys.tasks, WORKER_GROUP, entryId);
        continue;
      }
      if ((await redis.get(task.learnerKey)) !== task.nonce) {
        log(`task ${task.id}: its learner has restarted since; skipped`);
        await redis.xack(keys.tasks, WORKER_GROUP, entryId);
        continue;
      }
      const t0 = performance.now();
      let loadSeconds = 0;
      let result: RolloutResult;
      try {
        const dir = `${opts.store}/${task.weights}`;
        if (cached?.dir !== dir) {
          const tLoad = performance.now();
          cached?.model.dispose();
          cached = null;
          cached = { dir, ...(await loadWeights(dir)) };
          loadSeconds = (performance.now() - tLoad) / 1000;
        }
        const trajs = await rolloutChunk(
          cached.model,
          cached.tokenizer,
          task.version,
          task.seqs,
          task.sampling,
        );
        const scored = score(trajs, new Map(Object.entries(task.golds)), task.reward);
        result = base(task, name, t0, loadSeconds, { scored });
      } catch (e) {
        const msg = (e as Error).message.split("\n")[0];
        result = base(task, name, t0, loadSeconds, { error: `worker ${name}: ${msg}` });
      }
      await redis.xadd(task.results, "*", "result", JSON.stringify(result));
      await redis.xack(keys.tasks, WORKER_GROUP, entryId);
      handled++;
      log(
        `task ${task.id}: ${result.error ?? `${result.scored!.length} sequences`} in ` +
          `${result.seconds.toFixed(2)} s`,
      );
    }
  } finally {
    cached?.model.dispose();
    redis.disconnect();
  }
  return handled;
}

function base(
  task: RolloutTask,
  worker: string,
  t0: number,
  loadSeconds: number,
  rest: Pick<RolloutResult, "scored" | "error">,
): RolloutResult {
  return {
    id: task.id,
    nonce: task.nonce,
    step: task.step,
    version: task.version,
    worker,
    ...rest,
    seconds: (performance.now() - t0) / 1000,
    loadSeconds,
  };
}

/** A task some worker took and has not acknowledged for `idleMs` (it died), now ours. */
async function claimIdle(
  redis: Redis,
  stream: string,
  name: string,
  idleMs: number,
): Promise<Entry | null> {
  const r = await redis.xautoclaim(stream, WORKER_GROUP, name, idleMs, "0-0", "COUNT", 1) as [
    string,
    Entry[],
    string[]?,
  ];
  const entries = (r?.[1] ?? []).filter((e) => e !== null && Array.isArray(e[1]));
  return entries[0] ?? null;
}

async function readNew(
  redis: Redis,
  stream: string,
  name: string,
  blockMs: number,
): Promise<Entry | null> {
  const r = await redis.xreadgroup(
    "GROUP",
    WORKER_GROUP,
    name,
    "COUNT",
    1,
    "BLOCK",
    blockMs,
    "STREAMS",
    stream,
    ">",
  ) as [string, Entry[]][] | null;
  return r?.[0]?.[1]?.[0] ?? null;
}

const USAGE = `usage: deno task worker --redis redis://HOST:PORT --store DIR [flags]

  --redis URL          the learner's distributed.redis
  --store DIR          this machine's path to the learner's distributed.store
  --prefix P           Redis key prefix (the learner's distributed.prefix; default zerokit)
  --name NAME          consumer name (default: host-pid)
  --claim-idle-ms MS   take over tasks another worker left unacknowledged this long (30000)
  --max-tasks N        exit after N tasks
  --quiet              no per-task lines`;

/** `deno task worker`: run a rollout worker until SIGINT/SIGTERM. */
export async function workerMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      redis: { type: "string" },
      store: { type: "string" },
      prefix: { type: "string", default: "zerokit" },
      name: { type: "string" },
      "claim-idle-ms": { type: "string", default: "30000" },
      "max-tasks": { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.redis || !values.store) throw new Error(`worker needs --redis and --store\n${USAGE}`);
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`--${flag}: expected an integer, got "${v}"`);
    }
    return n;
  };
  const gpu = await initGpu();
  let stop = false;
  const onSignal = () => {
    if (stop) Deno.exit(130);
    stop = true;
    console.error("stopping after this task");
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  const name = values.name ?? `${Deno.hostname()}-${Deno.pid}`;
  if (!values.quiet) {
    console.log(`worker ${name}: ${gpu.info.description || gpu.info.vendor || "WebGPU adapter"}`);
  }
  await runWorker({
    redis: values.redis,
    store: values.store,
    prefix: values.prefix,
    name,
    claimIdleMs: int("claim-idle-ms", values["claim-idle-ms"]),
    maxTasks: int("max-tasks", values["max-tasks"]),
    shouldStop: () => stop,
    log: values.quiet ? undefined : (line) => console.log(line),
  });
  return 0;
}
