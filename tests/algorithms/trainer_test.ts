/**
 * The RL loop end to end on a tiny random model: each algorithm trains every parameter,
 * KL off builds no reference model and KL on holds the policy closer to it, runs are
 * deterministic, a resumed run writes exactly the lines of an uninterrupted one, and a
 * non-finite update is skipped.
 */
import { resolveConfig, type RunConfig } from "../../config.ts";
import { readAll, type Tensor } from "../../kernels/core/tensor.ts";
import { loadModel } from "../../models/checkpoint.ts";
import { Critic } from "../../models/critic.ts";
import type { RewardFn } from "../../rewards/types.ts";
import { Learner } from "../../algorithms/learner.ts";
import { buildModels } from "../../algorithms/setup.ts";
import { resumeRun, TIMING_KEYS, train } from "../../algorithms/trainer.ts";
import type { Trajectory } from "../../algorithms/types.ts";
import { assert, gpuReady } from "../helpers.ts";

await gpuReady;

/** A reward with spread on a random model: 1 when the response contains a "1". */
const hasOne: RewardFn = (s) => ({
  score: s.response.includes("1") ? 1 : 0,
  details: { reason: "contains 1" },
});

function tiny(dir: string, overrides: string[] = []): RunConfig {
  return resolveConfig({
    run: { dir, seed: 3 },
    model: {
      init: { hidden_size: 32, intermediate_size: 64, layers: 2, heads: 4, kv_heads: 2 },
    },
    train: { steps: 3, prompts_per_step: 4, samples_per_prompt: 4, micro_batch: 6 },
    rollout: { max_new_tokens: 10, max_prompt_tokens: 64, template: "short" },
    reward: { name: "math", extract: "answer" },
    actor: { lr: 3e-3 },
    critic: { lr: 3e-3, update_steps: 2 },
    optim: { warmup_steps: 0 },
    data: {
      train: { task: "parity", difficulty: [2, 4], count: 64 },
      eval: { task: "parity", difficulty: [2, 4], count: 6 },
    },
    eval: { every: 2, at_start: true, samples: 2 },
    checkpoint: { every: 0 },
    log: { samples: 2 },
  }, overrides);
}

const tmp = () => Deno.makeTempDir({ prefix: "zk-train-" });

async function values(params: Map<string, Tensor>): Promise<Map<string, Float32Array>> {
  const names = [...params.keys()].sort();
  const data = await readAll(names.map((n) => params.get(n)!));
  return new Map(names.map((n, i) => [n, data[i] as Float32Array]));
}

function unchanged(before: Map<string, Float32Array>, after: Map<string, Float32Array>): string[] {
  return [...before].filter(([n, b]) => b.every((v, i) => v === after.get(n)![i])).map(([n]) => n);
}

/** Metric lines without timing fields, as JSON text. */
async function stableLines(dir: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${dir}/metrics.jsonl`);
  return text.trim().split("\n").map((l) => {
    const m = JSON.parse(l);
    for (const k of Object.keys(m)) if (TIMING_KEYS.test(k)) delete m[k];
    return JSON.stringify(m);
  });
}

for (const algorithm of ["ppo", "grpo"] as const) {
  Deno.test(`${algorithm}: 3 steps on a tiny model change every actor and critic parameter`, async () => {
    const dir = await tmp();
    // GRPO on a tied model: the embedding must train through the LM head too.
    const cfg = tiny(dir, [
      `algorithm=${algorithm}`,
      ...(algorithm === "grpo" ? ["model.init.tie_embeddings=true"] : []),
    ]);
    const base = await buildModels(cfg, null);
    const policy0 = await values(base.policy.params);
    const critic0 = base.critic ? await values(criticParams(base.critic)) : null;
    assert.equal(base.ref, null, "kl.mode none builds no reference model");
    base.policy.dispose();
    base.critic?.dispose();

    const r = await train(cfg, { quiet: true, reward: hasOne });
    assert.equal(r.steps, 3);
    const ckpt = `${dir}/checkpoints/step-3`;
    const policy = await loadModel(`${ckpt}/policy`);
    const still = unchanged(policy0, await values(policy.params));
    assert.deepEqual(still, [], `policy parameters that did not change: ${still}`);
    policy.dispose();
    if (critic0) {
      const critic = await Critic.load(`${ckpt}/critic`);
      const stillC = unchanged(critic0, await values(criticParams(critic)));
      // The critic's trunk keeps an LM head it never uses (untied models).
      assert.deepEqual(stillC.filter((n) => n !== "lm_head.weight"), [], `critic: ${stillC}`);
      critic.dispose();
    } else {
      await assert.rejects(() => Deno.stat(`${ckpt}/critic`));
    }
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 4, "one line for the base eval, then one per step");
    const last = JSON.parse(lines[3]);
    for (const key of ["reward/mean", "loss/policy", "entropy", "clipfrac", "time/step"]) {
      assert.ok(Number.isFinite(last[key]), `metric ${key} = ${last[key]}`);
    }
    if (algorithm === "ppo") assert.ok(Number.isFinite(last["loss/value"]));
    assert.ok(!("kl/k3" in last), "no KL metrics without a reference");
    // The training forward rescoring the sampled tokens agrees with the sampler.
    assert.ok(last["logprob/sampler_vs_train_max_abs_diff"] < 1e-4);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    assert.equal(summary.steps, 3);
    assert.ok(summary.base_accuracy !== null && summary.final_accuracy !== null);
  });
}

function criticParams(c: Critic): Map<string, Tensor> {
  return new Map([...c.trunk.params, ["score.weight", c.head]]);
}

Deno.test("same seed and config twice → identical metrics.jsonl (timing aside)", async () => {
  const [a, b] = [await tmp(), await tmp()];
  await train(tiny(a), { quiet: true, reward: hasOne });
  await train(tiny(b), { quiet: true, reward: hasOne });
  assert.deepEqual(await stableLines(a), await stableLines(b));
  // A different seed draws differently.
  const c = await tmp();
  await train(tiny(c, ["run.seed=4"]), { quiet: true, reward: hasOne });
  assert.notDeepEqual(await stableLines(a), await stableLines(c));
});

Deno.test("4 steps straight == 2 steps + resume to 4 (metrics and samples)", async () => {
  const straight = await tmp();
  const split = await tmp();
  const over = ["train.steps=4", "checkpoint.every=2", "eval.every=1"];
  await train(tiny(straight, over), { quiet: true, reward: hasOne });
  const first = tiny(split, [...over.slice(1), "train.steps=2"]);
  await train(first, { quiet: true, reward: hasOne });
  const r = await resumeRun(split, tiny(split, over), { quiet: true, reward: hasOne });
  assert.equal(r.steps, 4);
  assert.deepEqual(await stableLines(split), await stableLines(straight));
  assert.equal(
    await Deno.readTextFile(`${split}/samples.jsonl`),
    await Deno.readTextFile(`${straight}/samples.jsonl`),
  );
});

Deno.test("KL off builds no reference; KL in the loss holds the policy closer to it", async () => {
  const klOn = ["algorithm=grpo", "kl.mode=loss", "kl.coef=2", "train.steps=4", "actor.lr=1e-2"];
  const off = await tmp();
  const on = await tmp();
  const cfgOn = tiny(on, klOn);
  const built = await buildModels(cfgOn, null);
  assert.ok(built.ref !== null, "kl.mode loss builds the reference");
  const ref = built.ref!;
  built.policy.dispose();
  await train(tiny(off, klOn.map((s) => (s === "kl.mode=loss" ? "kl.mode=none" : s))), {
    quiet: true,
    reward: hasOne,
  });
  const rOn = await train(cfgOn, { quiet: true, reward: hasOne });
  assert.ok("kl/k3" in rOn.history.at(-1)!, "KL metrics are logged when a reference exists");
  // Measure each final policy's KL to the base on the same sequences.
  const probe = probeTrajectories();
  const learner = new Learner(cfgOn, ref, null, null);
  const base = (await learner.logprobs(ref, probe)).logprobs;
  const drift = async (dir: string) => {
    const m = await loadModel(`${dir}/checkpoints/step-4/policy`);
    const lp = (await learner.logprobs(m, probe)).logprobs;
    m.dispose();
    let k3 = 0, n = 0;
    lp.forEach((x, i) =>
      x.forEach((v, t) => ((k3 += Math.expm1(base[i][t] - v) - (base[i][t] - v)), n++))
    );
    return k3 / n;
  };
  const [dOff, dOn] = [await drift(off), await drift(on)];
  console.log(
    `KL(π‖π_base) after 4 steps: kl.mode none ${dOff.toFixed(4)}, loss ${dOn.toFixed(4)}`,
  );
  assert.ok(dOn < dOff, `KL-on drift ${dOn} should be below KL-off drift ${dOff}`);
  learner.dispose();
  ref.dispose();
});

/** Fixed sequences over the char vocabulary (ids 2…20) for measuring policy drift. */
function probeTrajectories(): Trajectory[] {
  return Array.from({ length: 6 }, (_, b) => ({
    problemId: `probe:${b}`,
    group: b,
    prompt: [3 + b, 5, 7, 9],
    response: Array.from({ length: 8 }, (_, j) => 2 + ((b * 7 + j * 5) % 19)),
    logprobs: new Array(8).fill(0),
    text: "",
    finish: "stop" as const,
    version: 0,
  }));
}

Deno.test("a non-finite loss skips the update: counted, weights untouched", async () => {
  const cfg = tiny(await tmp());
  const models = await buildModels(cfg, null);
  const learner = new Learner(cfg, models.policy, models.critic, null);
  const trajs = probeTrajectories();
  const before = await values(models.policy.params);
  const old = (await learner.logprobs(models.policy, trajs)).logprobs;
  const advantages = trajs.map((t, i) =>
    new Float64Array(t.response.length).fill(i === 2 ? NaN : 1)
  );
  const m = await learner.updatePolicy(trajs, { oldLogprobs: old, advantages }, 1);
  assert.equal(learner.skippedUpdates, 1);
  assert.ok(Number.isNaN(m["loss/policy"]), "no finite update to average");
  assert.deepEqual(unchanged(before, await values(models.policy.params)).length, before.size);
  // A finite update after it goes through.
  const ok = trajs.map((t) => new Float64Array(t.response.length).fill(1));
  await learner.updatePolicy(trajs, { oldLogprobs: old, advantages: ok }, 2);
  assert.equal(learner.skippedUpdates, 1);
  assert.ok(unchanged(before, await values(models.policy.params)).length < before.size);
  learner.dispose();
  models.policy.dispose();
  models.critic?.dispose();
});
