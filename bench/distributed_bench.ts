/**
 * The distributed path's overhead: the same run (the main job's preset, a few steps, no
 * eval or checkpoints) locally and with one rollout worker process over a `redis-server`
 * on loopback, both on this machine's one adapter. Per step it reports wall time and the
 * rollout part of it (`time/generate`: for the distributed run, publishing weights, Redis
 * round trips, the worker's weight reload, sampling and scoring, JSON both ways).
 *
 *   deno run -A --unstable-webgpu bench/distributed_bench.ts [--steps 6] [--config FILE]
 *
 * The learner and worker take turns (max_lag 0), so the difference is overhead only.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { resolveConfig } from "../config.ts";
import { train } from "../algorithms/trainer.ts";
import { initGpu } from "../kernels/core/device.ts";
import { RedisServer } from "../tools/redis_server.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "6" },
    config: { type: "string", default: "configs/tiny_parity_ppo.yaml" },
  },
});
const steps = Number(values.steps);
await initGpu();
const root = new URL("../", import.meta.url).pathname;

function cfgFor(dir: string, extra: string[] = []) {
  return resolveConfig(values.config!, [
    `train.steps=${steps}`,
    `run.dir=${dir}`,
    "eval.every=0",
    "checkpoint.every=0",
    ...extra,
  ]);
}

type Line = Record<string, number>;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Step 1 pays compilation and the first weights load: report steps 2… */
const summarise = (ms: Line[], key: string) => mean(ms.slice(1).map((m) => m[key] ?? 0));

const localDir = await Deno.makeTempDir({ prefix: "zk-bench-local-" });
const local = (await train(cfgFor(localDir), { quiet: true })).history as unknown as Line[];

const server = await RedisServer.start();
const store = await Deno.makeTempDir({ prefix: "zk-bench-store-" });
const worker = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    "--unstable-webgpu",
    "cli.ts",
    "worker",
    "--redis",
    server.url,
    "--store",
    store,
    "--quiet",
  ],
  cwd: root,
  stdout: "null",
  stderr: "inherit",
}).spawn();
let dist: Line[];
try {
  const distDir = await Deno.makeTempDir({ prefix: "zk-bench-dist-" });
  const cfg = cfgFor(distDir, [`distributed.redis=${server.url}`, `distributed.store=${store}`]);
  dist = (await train(cfg, { quiet: true })).history as unknown as Line[];
} finally {
  worker.kill("SIGTERM");
  await worker.status;
  await server.stop();
}

const row = (name: string, ms: Line[]) =>
  `| ${name} | ${summarise(ms, "time/step").toFixed(2)} | ${
    summarise(ms, "time/generate").toFixed(2)
  } | ` +
  `${summarise(ms, "time/weight_load").toFixed(3)} | ${
    summarise(ms, "time/worker_total").toFixed(2)
  } |`;
const [a, b] = [summarise(local, "time/step"), summarise(dist, "time/step")];
console.log(`${values.config}, ${steps} steps (steps 2–${steps} averaged), seconds per step:\n`);
console.log("| rollouts | step | generate (incl. transport) | weight load | worker busy |");
console.log("|---|---:|---:|---:|---:|");
console.log(row("local", local));
console.log(row("1 worker over Redis", dist));
console.log(`\noverhead: ${(100 * (b - a) / a).toFixed(1)}% of a step`);
