/**
 * `deno task eval` on a checkpoint the trainer wrote: avg@k and pass@k per dataset in a JSON
 * summary, computed from the same rollout and reward code as training.
 */
import { resolveConfig } from "../../config.ts";
import { run } from "../../cli.ts";
import { train } from "../../algorithms/trainer.ts";
import { syntheticProblems } from "../../data/synthetic.ts";
import { assert, gpuReady } from "../helpers.ts";

await gpuReady;

Deno.test("eval: avg@k and pass@k of a trained checkpoint on a JSONL dataset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zk-eval-" });
  await train(
    resolveConfig({
      run: { dir, seed: 2 },
      model: { init: { hidden_size: 32, intermediate_size: 64, layers: 1, heads: 2, kv_heads: 2 } },
      train: { steps: 1, prompts_per_step: 2, samples_per_prompt: 2, micro_batch: 4 },
      rollout: { max_new_tokens: 6, template: "short" },
      reward: { extract: "answer" },
      critic: { update_steps: 1 },
      data: { train: { task: "parity", difficulty: [2, 3], count: 16 } },
    }),
    { quiet: true },
  );
  const problems = syntheticProblems("parity", {
    split: "heldout",
    difficulty: [2, 3],
    count: 5,
    seed: 0,
  });
  const data = `${dir}/heldout.jsonl`;
  await Deno.writeTextFile(
    data,
    problems.map((p) => JSON.stringify({ problem: p.question, answer: p.gold })).join("\n") + "\n",
  );
  const out = `${dir}/eval.json`;
  const code = await run([
    "eval",
    "--model",
    `${dir}/checkpoints/step-1/policy`,
    "--data",
    data,
    "--k",
    "3",
    "--template",
    "short",
    "--extract",
    "answer",
    "--max-new-tokens",
    "6",
    "--out",
    out,
  ]);
  assert.equal(code, 0);
  const summary = JSON.parse(await Deno.readTextFile(out));
  const m = summary.datasets[data];
  assert.equal(m["eval/problems"], problems.length);
  assert.equal(m["eval/samples"], 3);
  for (const k of ["eval/accuracy", "eval/pass@3", "eval/stop_ratio"]) {
    assert.ok(m[k] >= 0 && m[k] <= 1, `${k} = ${m[k]}`);
  }
  assert.ok(m["eval/pass@3"] >= m["eval/accuracy"], "pass@k ≥ avg@k for 0/1 scores");
  assert.ok(m["eval/length_mean"] > 0 && m["eval/length_mean"] <= 6);
});
