/**
 * Faults: a SIGKILL in the middle of writing a checkpoint never leaves a checkpoint that a
 * resume would pick up half-written, and the resumed run still writes the uninterrupted
 * run's lines; SIGINT stops at a safe point with a checkpoint and a non-zero exit.
 */
import { stringify } from "yaml";
import { resolveConfig } from "../../config.ts";
import { loadModel } from "../../models/checkpoint.ts";
import { Critic } from "../../models/critic.ts";
import { latestCheckpoint, listCheckpoints, readRunState } from "../../algorithms/checkpoint.ts";
import { TIMING_KEYS, train } from "../../algorithms/trainer.ts";
import { assert, gpuReady } from "../helpers.ts";

await gpuReady;

const root = new URL("../../", import.meta.url).pathname;

function preset(dir: string, steps: number) {
  return {
    run: { dir, seed: 5 },
    model: { init: { hidden_size: 32, intermediate_size: 64, layers: 2, heads: 4, kv_heads: 2 } },
    train: { steps, prompts_per_step: 4, samples_per_prompt: 4, micro_batch: 8 },
    rollout: { max_new_tokens: 10, max_prompt_tokens: 64, template: "short" },
    reward: { name: "math", extract: "answer" },
    actor: { lr: 3e-3 },
    critic: { lr: 3e-3, update_steps: 2 },
    optim: { warmup_steps: 0 },
    data: { train: { task: "parity", difficulty: [2, 4], count: 64 } },
    checkpoint: { every: 1, keep: 3 },
  };
}

function spawnTrain(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", "cli.ts", "train", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function stable(dir: string): Promise<string[]> {
  return (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) => {
    const m = JSON.parse(l);
    for (const k of Object.keys(m)) if (TIMING_KEYS.test(k)) delete m[k];
    return JSON.stringify(m);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("SIGKILL while a checkpoint is being written: no torn checkpoint is ever used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zk-kill-" });
  const yamlPath = `${dir}.yaml`;
  await Deno.writeTextFile(yamlPath, stringify(preset(dir, 6)));
  const child = spawnTrain(["--config", yamlPath, "--quiet"]);
  // Kill as soon as the second checkpoint's temporary folder appears (mid-write).
  let caught = "";
  const deadline = Date.now() + 120_000;
  while (!caught && Date.now() < deadline) {
    try {
      for (const e of Deno.readDirSync(`${dir}/checkpoints`)) {
        if (e.name.startsWith(".tmp-step-2")) caught = e.name;
      }
    } catch { /* not created yet */ }
    if (!caught) await sleep(1);
  }
  child.kill("SIGKILL");
  const status = await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  assert.ok(caught, "the trainer never started a second checkpoint");
  assert.ok(!status.success);
  // Every complete checkpoint is whole; the torn one is not listed.
  const steps = await listCheckpoints(`${dir}/checkpoints`);
  assert.ok(steps.includes(1), `step-1 was complete before the kill; listed: ${steps}`);
  for (const s of steps) {
    const ck = `${dir}/checkpoints/step-${s}`;
    assert.equal((await readRunState(ck)).step, s);
    (await loadModel(`${ck}/policy`)).dispose();
    (await Critic.load(`${ck}/critic`)).dispose();
  }
  const latest = await latestCheckpoint(`${dir}/checkpoints`);
  console.log(`killed during ${caught}; complete checkpoints: ${steps}; resume from ${latest}`);
  // Resume to the end and compare with an uninterrupted run.
  const resumed = spawnTrain(["--resume", dir, "--quiet"]);
  const out = await resumed.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const straight = await Deno.makeTempDir({ prefix: "zk-straight-" });
  await train(resolveConfig(preset(straight, 6)), { quiet: true });
  assert.deepEqual(await stable(dir), await stable(straight));
});

Deno.test("SIGINT stops after the current step with a checkpoint and exit code 130", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zk-int-" });
  const yamlPath = `${dir}.yaml`;
  const cfg = preset(dir, 50);
  cfg.checkpoint.every = 0; // only the stop writes one
  await Deno.writeTextFile(yamlPath, stringify(cfg));
  const child = spawnTrain(["--config", yamlPath, "--quiet"]);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(`${dir}/metrics.jsonl`).catch(() => "");
    if (text.split("\n").length > 2) break;
    await sleep(20);
  }
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  assert.match(stderr, /resume with: deno task train --resume/);
  const latest = await latestCheckpoint(`${dir}/checkpoints`);
  assert.ok(latest, "a checkpoint was written at the stop");
  const state = await readRunState(latest!);
  const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
  assert.equal(
    JSON.parse(lines.at(-1)!).step,
    state.step,
    "the checkpoint is at the last logged step",
  );
  assert.ok(state.step < 50);
});

Deno.test("latestCheckpoint ignores temporary folders and folders without state.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zk-ck-" });
  await Deno.mkdir(`${dir}/step-3`, { recursive: true });
  await Deno.writeTextFile(`${dir}/step-3/state.json`, "{}");
  await Deno.mkdir(`${dir}/step-7`); // torn: no state.json
  await Deno.mkdir(`${dir}/.tmp-step-9-abc`);
  await Deno.writeTextFile(`${dir}/.tmp-step-9-abc/state.json`, "{}");
  assert.deepEqual(await listCheckpoints(dir), [3]);
  assert.equal(await latestCheckpoint(dir), `${dir}/step-3`);
  assert.equal(await latestCheckpoint(`${dir}/missing`), null);
});
