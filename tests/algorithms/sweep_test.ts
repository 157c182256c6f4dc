/**
 * Sweeps: expansion (variants, grid, seeds), validation before any run, `--list`, re-running
 * a finished sweep trains nothing, an interrupted sweep finishes with the numbers of an
 * uninterrupted one, and so does one run as an array job (`--index I`, then `--report`).
 */
import { stringify } from "yaml";
import { run } from "../../cli.ts";
import { loadSweep } from "../../algorithms/sweep.ts";
import { train } from "../../algorithms/trainer.ts";
import { assert, gpuReady } from "../helpers.ts";

await gpuReady;

const base = {
  model: { init: { hidden_size: 32, intermediate_size: 64, layers: 1, heads: 2, kv_heads: 2 } },
  train: { steps: 2, prompts_per_step: 2, samples_per_prompt: 2, micro_batch: 4 },
  rollout: { max_new_tokens: 6, template: "short" },
  reward: { extract: "answer" },
  actor: { lr: 1e-3 },
  critic: { lr: 1e-3, update_steps: 1 },
  optim: { warmup_steps: 0 },
  data: {
    train: { task: "parity", difficulty: [2, 3], count: 16 },
    eval: { task: "parity", difficulty: [2, 3], count: 4 },
  },
  checkpoint: { every: 1 },
};

async function sweepFiles(extra: Record<string, unknown> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "zk-sweep-" });
  await Deno.writeTextFile(`${dir}/base.yaml`, stringify(base));
  const sweep = {
    name: "t",
    base: `${dir}/base.yaml`,
    dir: `${dir}/runs`,
    seeds: [0, 1],
    variants: { ref: [], lam: ["gae.lambda=0.9"] },
    ...extra,
  };
  await Deno.writeTextFile(`${dir}/sweep.yaml`, stringify(sweep));
  return dir;
}

/** Run the CLI in-process, capturing what it prints. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const [log, error] = [console.log, console.error];
  let out = "", err = "";
  console.log = (...a: unknown[]) => (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => (err += a.join(" ") + "\n");
  try {
    return { code: await run(args), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

Deno.test("a sweep expands variants × grid × seeds; bad files fail before any run", async () => {
  const dir = await sweepFiles({ grid: { "clip.high": [0.2, 0.28] } });
  const { runs } = loadSweep(`${dir}/sweep.yaml`);
  assert.deepEqual(
    runs.map((r) => `${r.variant}-s${r.seed}`),
    [
      "ref-s0",
      "lam-s0",
      "high=0.2-s0",
      "high=0.28-s0",
      "ref-s1",
      "lam-s1",
      "high=0.2-s1",
      "high=0.28-s1",
    ],
  );
  assert.equal(runs[1].config.gae.lambda, 0.9);
  assert.equal(runs[7].config.clip.high, 0.28);
  assert.equal(runs[4].config.run.seed, 1);
  const listed = await cli(["ablate", `${dir}/sweep.yaml`, "--list"]);
  assert.equal(listed.out.trim().split("\n").length, 8);
  assert.match(listed.out, /deno task train --config .*--set 'gae\.lambda=0\.9'/);

  const bad = await sweepFiles({ variants: { typo: ["gae.lamda=0.9"] } });
  const r = await cli(["ablate", `${bad}/sweep.yaml`]);
  assert.equal(r.code, 1);
  assert.match(r.err, /sweep\.yaml: variant "typo": --set gae\.lamda: unknown key .*gae\.lambda/);
  await assert.rejects(() => Deno.stat(`${bad}/runs`), "no run started");
  const empty = await sweepFiles({ variants: {} });
  assert.match((await cli(["ablate", `${empty}/sweep.yaml`])).err, /no variants and no grid/);
});

Deno.test("re-running a finished sweep trains nothing; an interrupted one finishes the same", async () => {
  const whole = await sweepFiles();
  const a = await cli(["ablate", `${whole}/sweep.yaml`, "--quiet"]);
  assert.equal(a.code, 0, a.err);
  const again = await cli(["ablate", `${whole}/sweep.yaml`, "--quiet"]);
  assert.equal((again.out.match(/done, skipped/g) ?? []).length, 4, again.out);

  // Interrupt: the third run has only its first step (and checkpoint) when the sweep reruns.
  const cut = await sweepFiles();
  const { runs } = loadSweep(`${cut}/sweep.yaml`);
  for (const r of runs.slice(0, 2)) await train(r.config, { quiet: true });
  await train({ ...runs[2].config, train: { ...runs[2].config.train, steps: 1 } }, {
    quiet: true,
  });
  const b = await cli(["ablate", `${cut}/sweep.yaml`, "--quiet"]);
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /ref seed 1: resuming/);
  const strip = (s: { variants: Record<string, unknown>[] }) =>
    s.variants.map((v) => ({ ...v, seconds: null, runs: null }));
  const sa = JSON.parse(await Deno.readTextFile(`${whole}/runs/summary.json`));
  const sb = JSON.parse(await Deno.readTextFile(`${cut}/runs/summary.json`));
  assert.deepEqual(strip(sb), strip(sa));
  assert.ok(sa.variants[0].final_accuracy !== null);

  // As a scheduler's array job: one run per --index, then --report from the folders.
  const arr = await sweepFiles();
  const early = await cli(["ablate", `${arr}/sweep.yaml`, "--report"]);
  assert.equal(early.code, 1);
  assert.match(early.err, /t: 4 of 4 runs are not finished/);
  assert.match((await cli(["ablate", `${arr}/sweep.yaml`, "--index", "4"])).err, /0…3/);
  for (const i of [3, 0, 2, 1]) {
    const r = await cli(["ablate", `${arr}/sweep.yaml`, "--index", String(i), "--quiet"]);
    assert.equal(r.code, 0, r.err);
    assert.equal((r.out.match(/starting/g) ?? []).length, 1, r.out);
  }
  await assert.rejects(() => Deno.stat(`${arr}/runs/summary.json`), "no summary before --report");
  const rep = await cli(["ablate", `${arr}/sweep.yaml`, "--report"]);
  assert.equal(rep.code, 0, rep.err);
  const sc = JSON.parse(await Deno.readTextFile(`${arr}/runs/summary.json`));
  assert.deepEqual(strip(sc), strip(sa));
  await Deno.stat(`${arr}/runs/report.html`);
});

Deno.test("the shipped sweeps in configs/ablate/ expand and resolve", () => {
  for (const e of Deno.readDirSync(new URL("../../configs/ablate/", import.meta.url))) {
    const { runs } = loadSweep(`configs/ablate/${e.name}`);
    assert.ok(runs.length >= 4, `${e.name}: ${runs.length} runs`);
  }
});
