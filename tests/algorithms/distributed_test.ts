/**
 * Distributed rollouts against a real `redis-server` (tools/redis_server.ts): the learner's
 * metrics with workers equal the local loop's (timing and distributed/* counters aside),
 * and they still do after each fault the design claims to survive — a worker SIGKILLed
 * holding a task, a duplicated result, Redis SIGKILLed and restarted mid-step, the learner
 * SIGKILLed and resumed — while a worker that cannot load a version fails the step with its
 * message instead of hanging it.
 */
import { stringify } from "yaml";
import { resolveConfig, type RunConfig } from "../../config.ts";
import { TIMING_KEYS, train } from "../../algorithms/trainer.ts";
import { runWorker } from "../../algorithms/distributed/worker.ts";
import { connectRedis, ensureGroup, type Redis } from "../../algorithms/distributed/redis.ts";
import {
  decodeEntry,
  type RolloutResult,
  type RolloutTask,
  streamKeys,
  WORKER_GROUP,
} from "../../algorithms/distributed/protocol.ts";
import { loadWeights, publishWeights, verifyWeights } from "../../algorithms/distributed/store.ts";
import { planRollout } from "../../algorithms/rollout.ts";
import { ratioLogprobs } from "../../algorithms/common.ts";
import { buildModels } from "../../algorithms/setup.ts";
import { readAll } from "../../kernels/core/tensor.ts";
import { assert, gpuReady, randn } from "../helpers.ts";
import { redisBinary, RedisServer } from "../../tools/redis_server.ts";

await gpuReady;

const root = new URL("../../", import.meta.url).pathname;
const ignore = redisBinary === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The faults tests' tiny preset; a step is 16 sequences, 4 tasks of 4 with task_size 4. */
function preset(dir: string, steps: number, extra: Record<string, unknown> = {}) {
  return {
    run: { dir, seed: 11, name: "dist" },
    model: { init: { hidden_size: 32, intermediate_size: 64, layers: 2, heads: 4, kv_heads: 2 } },
    train: { steps, prompts_per_step: 4, samples_per_prompt: 4, micro_batch: 8 },
    rollout: { max_new_tokens: 12, max_prompt_tokens: 64, template: "short", batch_size: 4 },
    reward: { name: "math", extract: "answer" },
    actor: { lr: 3e-3 },
    critic: { lr: 3e-3, update_steps: 2 },
    optim: { warmup_steps: 0 },
    data: { train: { task: "parity", difficulty: [2, 4], count: 64 } },
    checkpoint: { every: 1, keep: 3 },
    ...extra,
  };
}

function distributed(url: string, store: string, more: Record<string, unknown> = {}) {
  return { distributed: { redis: url, store, timeout_s: 120, ...more } };
}

/** A run's metric lines without timing fields and the distributed/* counters. */
async function stable(dir: string): Promise<string[]> {
  return (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) => {
    const m = JSON.parse(l);
    for (const k of Object.keys(m)) {
      if (TIMING_KEYS.test(k) || k.startsWith("distributed/")) delete m[k];
    }
    return JSON.stringify(m);
  });
}

async function lines(dir: string): Promise<Record<string, number>[]> {
  return (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
}

/** The local loop's metric lines for a preset (computed once per step count). */
const localRuns = new Map<number, Promise<string[]>>();
function local(steps: number): Promise<string[]> {
  if (!localRuns.has(steps)) {
    localRuns.set(
      steps,
      (async () => {
        const dir = await Deno.makeTempDir({ prefix: "zk-local-" });
        await train(resolveConfig(preset(dir, steps)), { quiet: true });
        return stable(dir);
      })(),
    );
  }
  return localRuns.get(steps)!;
}

/**
 * A worker in this process until `stop()`; its log lines are kept. Only with `max_lag` 0,
 * where the learner waits while the worker samples (the tensor library's scopes and grad
 * mode are per process, so the two must not compute at once).
 */
function inProcessWorker(url: string, store: string, name: string, claimIdleMs = 30_000) {
  let stopped = false;
  const log: string[] = [];
  const done = runWorker({
    redis: url,
    store,
    name,
    claimIdleMs,
    blockMs: 200,
    shouldStop: () => stopped,
    log: (l) => log.push(l),
  });
  return {
    log,
    stop: async () => {
      stopped = true;
      return await done;
    },
  };
}

/** `deno task worker` as its own process, its stdout gathered. */
function spawnWorker(url: string, store: string, name: string, claimIdleMs = 30_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-webgpu",
      "cli.ts",
      "worker",
      "--redis",
      url,
      "--store",
      store,
      "--name",
      name,
      "--claim-idle-ms",
      String(claimIdleMs),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const drain = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const err = new Response(child.stderr).text();
  return {
    child,
    output: () => out,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      await drain;
      return { status, out, err: await err };
    },
  };
}

function spawnTrain(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", "cli.ts", "train", ...args, "--quiet"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function withRedis(fn: (server: RedisServer, redis: Redis) => Promise<void>) {
  const server = await RedisServer.start();
  const redis = await connectRedis(server.url);
  try {
    await fn(server, redis);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

async function tmp(prefix: string) {
  return await Deno.makeTempDir({ prefix });
}

Deno.test({
  name: "one worker, max_lag 0: the distributed run's metrics equal the local run's",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server) => {
      const [dir, store] = [await tmp("zk-dist-"), await tmp("zk-store-")];
      const w = inProcessWorker(server.url, store, "w1");
      const cfg = resolveConfig(preset(dir, 3, distributed(server.url, store)));
      const r = await train(cfg, { quiet: true });
      const handled = await w.stop();
      assert.equal(r.steps, 3);
      assert.equal(handled, 3 * 4, "4 tasks a step, each run once");
      assert.deepEqual(await stable(dir), await local(3));
      for (const m of await lines(dir)) {
        assert.equal(m["distributed/tasks"], 4);
        assert.equal(m["distributed/lag_max"], 0);
        assert.equal(m["distributed/duplicates"], 0);
        assert.ok(m["time/weight_load"] > 0, "every step is a new version: a reload");
      }
      // Versions are pruned to the last max_lag + 2 (a straggler may still read the previous).
      const versions = [...Deno.readDirSync(`${store}/dist/weights`)].map((e) => e.name).sort();
      assert.equal(versions.length, 2, `${versions}`);
      assert.match(versions.join(" "), /^v1-[0-9a-f]{12} v2-[0-9a-f]{12}$/);
    }),
});

Deno.test({
  name: "a result delivered twice (kill between result and ack) is counted once",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server) => {
      const [dir, store] = [await tmp("zk-dup-"), await tmp("zk-store-")];
      const keys = streamKeys("zerokit", "dist");
      // A relay that writes every result a second time, as a worker killed after XADD but
      // before XACK does once its task is claimed and run again.
      let stop = false;
      const relay = (async () => {
        const sub = await connectRedis(server.url);
        let cursor = "$";
        let copied = 0;
        while (!stop) {
          const r = await sub.xread("COUNT", 16, "BLOCK", 100, "STREAMS", keys.results, cursor) as
            | [string, [string, string[]][]][]
            | null;
          for (const [id, fields] of r?.[0]?.[1] ?? []) {
            cursor = id;
            const res = decodeEntry<RolloutResult>(fields, "result");
            if (res.worker === "copy") continue;
            await sub.xadd(keys.results, "*", "result", JSON.stringify({ ...res, worker: "copy" }));
            copied++;
          }
        }
        sub.disconnect();
        return copied;
      })();
      const w = inProcessWorker(server.url, store, "w1");
      await train(resolveConfig(preset(dir, 2, distributed(server.url, store))), { quiet: true });
      await w.stop();
      stop = true;
      const copied = await relay;
      assert.ok(copied >= 4, `copied ${copied} results`);
      assert.deepEqual(await stable(dir), await local(2));
      const dups = (await lines(dir)).reduce((a, m) => a + m["distributed/duplicates"], 0);
      assert.ok(dups >= 1, `the learner saw ${dups} duplicates`);
    }),
});

Deno.test({
  name: "a worker SIGKILLed holding a task: another claims it, nothing lost or counted twice",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server, redis) => {
      const [dir, store] = [await tmp("zk-wkill-"), await tmp("zk-store-")];
      const keys = streamKeys("zerokit", "dist");
      await ensureGroup(redis, keys.tasks, WORKER_GROUP);
      const a = spawnWorker(server.url, store, "doomed");
      const run = train(resolveConfig(preset(dir, 2, distributed(server.url, store))), {
        quiet: true,
      });
      // Kill `doomed` while it holds a task it has not acknowledged.
      let held: { entry: string; task: string } | null = null;
      const deadline = Date.now() + 120_000;
      while (!held && Date.now() < deadline) {
        const pending = await redis.xpending(keys.tasks, WORKER_GROUP, "-", "+", 10, "doomed") as [
          string,
          string,
          number,
          number,
        ][];
        if (pending.length) {
          const [entry] = pending[0];
          const [[, fields]] = await redis.xrange(keys.tasks, entry, entry) as [string, string[]][];
          held = { entry, task: decodeEntry<RolloutTask>(fields, "task").id };
        } else await sleep(2);
      }
      const killed = await a.stop("SIGKILL");
      assert.ok(held, "the worker never took a task");
      assert.equal(killed.status.signal, "SIGKILL");
      // A second worker claims it after 300 ms idle and finishes the run.
      const b = inProcessWorker(server.url, store, "rescuer", 300);
      await run;
      await b.stop();
      assert.ok(
        b.log.some((l) => l.startsWith(`task ${held!.task}:`)),
        `the rescuer never ran ${held!.task}:\n${b.log.join("\n")}`,
      );
      assert.deepEqual(await stable(dir), await local(2));
      const dups = (await lines(dir)).reduce((s, m) => s + m["distributed/duplicates"], 0);
      assert.equal(dups, 0, "the killed worker never wrote its result");
    }),
});

Deno.test({
  name: "Redis SIGKILLed and restarted mid-step: pending work survives, the run is unchanged",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server, redis) => {
      const [dir, store] = [await tmp("zk-rkill-"), await tmp("zk-store-")];
      const keys = streamKeys("zerokit", "dist");
      const w = inProcessWorker(server.url, store, "w1", 1000);
      const run = train(resolveConfig(preset(dir, 2, distributed(server.url, store))), {
        quiet: true,
      });
      // Restart once step 1 has some results but not all four.
      const deadline = Date.now() + 120_000;
      let seen = 0;
      while (Date.now() < deadline) {
        seen = await redis.xlen(keys.results).catch(() => 0);
        if (seen >= 1) break;
        await sleep(2);
      }
      assert.ok(seen >= 1 && seen < 4, `restart after ${seen} of 4 results`);
      const pendingBefore = await redis.xlen(keys.tasks);
      await server.kill();
      await sleep(300);
      await server.restart();
      assert.equal(await redis.xlen(keys.tasks), pendingBefore, "the task stream survived");
      assert.ok((await redis.xlen(keys.results)) >= seen, "the results survived");
      await run;
      await w.stop();
      assert.deepEqual(await stable(dir), await local(2));
    }),
});

Deno.test({
  name: "the learner SIGKILLed and resumed: its old tasks are skipped or ignored, metrics equal",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server, redis) => {
      const [dir, store] = [await tmp("zk-lkill-"), await tmp("zk-store-")];
      const keys = streamKeys("zerokit", "dist");
      const yamlPath = `${dir}.yaml`;
      await Deno.writeTextFile(
        yamlPath,
        stringify(preset(dir, 3, distributed(server.url, store))),
      );
      const w = inProcessWorker(server.url, store, "w1");
      const learner = spawnTrain(["--config", yamlPath]);
      // Kill the learner once step 2's tasks are on the stream (step 1 is checkpointed).
      let old: string[] = [];
      const deadline = Date.now() + 120_000;
      while (!old.length && Date.now() < deadline) {
        const entries = await redis.xrange(keys.tasks, "-", "+") as [string, string[]][];
        old = entries.map(([, f]) => decodeEntry<RolloutTask>(f, "task"))
          .filter((t) => t.step === 2).map((t) => t.id);
        if (!old.length) await sleep(2);
      }
      learner.kill("SIGKILL");
      await learner.output();
      assert.ok(old.length > 0, "the learner never issued step 2");
      const resumed = spawnTrain(["--resume", dir]);
      const out = await resumed.output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      await w.stop();
      assert.deepEqual(await stable(dir), await local(3));
      // Every task of the dead learner was either skipped by the worker (new nonce) or run
      // and its result never used (the resumed learner reads results from its own start).
      const results = (await redis.xrange(keys.results, "-", "+") as [string, string[]][])
        .map(([, f]) => decodeEntry<RolloutResult>(f, "result").id);
      for (const id of old) {
        assert.ok(
          results.includes(id) || w.log.some((l) => l.startsWith(`task ${id}: its learner`)),
          `old task ${id} neither answered nor skipped`,
        );
      }
    }),
});

Deno.test({
  name: "a worker that cannot load the version fails the step with its message, no hang",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server) => {
      const [dir, store, elsewhere] = [
        await tmp("zk-noload-"),
        await tmp("zk-store-"),
        await tmp("zk-empty-"),
      ];
      // The worker mounts another folder than the learner's store: no weights there.
      const w = inProcessWorker(server.url, elsewhere, "blind");
      const t0 = Date.now();
      await assert.rejects(
        train(resolveConfig(preset(dir, 2, distributed(server.url, store))), { quiet: true }),
        /step 1: worker blind: .*manifest\.json/,
      );
      assert.ok(Date.now() - t0 < 60_000, "the error came back, not the timeout");
      await w.stop();
    }),
});

Deno.test({
  name: "max_lag 2: later steps train on samples from older versions, never older than 2",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server) => {
      const [dir, store] = [await tmp("zk-lag-"), await tmp("zk-store-")];
      // Its own process: with lag, the worker samples while the learner trains, and the
      // tensor library's scopes and grad mode are per process.
      const w = spawnWorker(server.url, store, "w1");
      const cfg = resolveConfig(preset(dir, 4, distributed(server.url, store, { max_lag: 2 })));
      await train(cfg, { quiet: true });
      await w.stop();
      const ms = await lines(dir);
      // Step 1 issues steps 1–3 with version 0; step 2 issues step 4 with version 1.
      assert.deepEqual(ms.map((m) => m["distributed/lag_max"]), [0, 1, 2, 2]);
      assert.ok(ms.every((m) => m["distributed/stale_dropped"] === 0));
      // Step 1 is on-policy, so it matches the local run; later steps train on other samples.
      const loc = await local(4);
      const dist = await stable(dir);
      assert.equal(dist[0], loc[0]);
      assert.notEqual(dist[1], loc[1]);
      for (const m of ms) assert.ok(Number.isFinite(m["loss/policy"]), JSON.stringify(m));
    }),
});

Deno.test({
  name: "redis-server on loopback, one learner and two worker processes finish a run",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withRedis(async (server) => {
      const [dir, store] = [await tmp("zk-two-"), await tmp("zk-store-")];
      const yamlPath = `${dir}.yaml`;
      await Deno.writeTextFile(yamlPath, stringify(preset(dir, 3)));
      const workers = [
        spawnWorker(server.url, store, "gpu0"),
        spawnWorker(server.url, store, "gpu1"),
      ];
      const learner = spawnTrain([
        "--config",
        yamlPath,
        "--set",
        `distributed.redis=${server.url}`,
        "--set",
        `distributed.store=${store}`,
      ]);
      const out = await learner.output();
      const logs = await Promise.all(workers.map((w) => w.stop("SIGTERM")));
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      for (const l of logs) assert.ok(l.status.success, `worker exit ${l.status.code}: ${l.err}`);
      const ran = logs.map((l) => (l.out.match(/^task .*sequences/gm) ?? []).length);
      assert.equal(ran[0] + ran[1], 3 * 4, `tasks run per worker: ${ran}`);
      // Which worker ran which task does not matter: draws depend on (seed, sequence).
      assert.deepEqual(await stable(dir), await local(3));
    }),
});

Deno.test("planRollout: prompt-major sequences in chunks of the batch size", () => {
  const prompts = [0, 1, 2].map((g) => ({ problemId: `p${g}`, group: g, ids: [g] }));
  const chunks = planRollout(prompts, 3, 4);
  assert.deepEqual(chunks.map((c) => c.length), [4, 4, 1]);
  assert.deepEqual(
    chunks.flat().map((s) => `${s.p.group}.${s.k}`),
    ["0.0", "0.1", "0.2", "1.0", "1.1", "1.2", "2.0", "2.1", "2.2"],
  );
});

Deno.test("ratioLogprobs: sampler log-probs for lagging samples, the forward's otherwise", () => {
  const fwd = [randn(3), randn(2), randn(4)];
  const sampler = [randn(3), randn(2), randn(4)].map((a) => Array.from(a));
  const buffer = [4, 3, 2].map((version, i) => ({ version, logprobs: sampler[i] }));
  // Step 5 starts from version 4: the first is on-policy, the others lag by 1 and 2.
  const out = ratioLogprobs(fwd, buffer as never, 5);
  assert.equal(out[0], fwd[0]);
  assert.deepEqual(Array.from(out[1]), sampler[1]);
  assert.deepEqual(Array.from(out[2]), sampler[2]);
});

Deno.test("weights store: versions are immutable, checked, and a torn copy is refused", async () => {
  const store = await tmp("zk-store-");
  const cfg: RunConfig = resolveConfig(preset(await tmp("zk-w-"), 1));
  const models = await buildModels(cfg, null);
  const tok = models.tokenizer;
  try {
    const rel = await publishWeights(store, "r", 0, models.policy, tok);
    assert.match(rel, /^r\/weights\/v0-[0-9a-f]{12}$/);
    // Publishing the same weights again names the same folder.
    assert.equal(await publishWeights(store, "r", 0, models.policy, tok), rel);
    const dir = `${store}/${rel}`;
    const m = await verifyWeights(dir);
    assert.ok(Object.keys(m.files).includes("model.safetensors"));
    const { model } = await loadWeights(dir);
    const [a, b] = [await readAll(models.policy.parameters()), await readAll(model.parameters())];
    assert.equal(b.length, a.length);
    a.forEach((x, i) => assert.deepEqual(Array.from(b[i]), Array.from(x), "F32 is exact"));
    model.dispose();
    // A truncated file (a partial copy) is refused with a line naming it.
    const f = `${dir}/model.safetensors`;
    const bytes = await Deno.readFile(f);
    await Deno.writeFile(f, bytes.subarray(0, bytes.length - 8));
    await assert.rejects(verifyWeights(dir), /model\.safetensors: \d+ bytes, the manifest says/);
    await Deno.writeFile(f, bytes.map((x, i) => (i === bytes.length - 1 ? x ^ 1 : x)));
    await assert.rejects(verifyWeights(dir), /checksum mismatch/);
  } finally {
    models.policy.dispose();
    models.critic?.dispose();
  }
});

Deno.test("an unreachable Redis is one error line naming the URL, at once", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // nothing listens there now
  const t0 = Date.now();
  await assert.rejects(
    connectRedis(`redis://127.0.0.1:${port}`),
    new RegExp(`^Error: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: `),
  );
  assert.ok(Date.now() - t0 < 10_000);
});
