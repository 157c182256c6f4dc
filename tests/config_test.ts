/**
 * The run config: ORZ's defaults, precedence (defaults < YAML < `--set`), `--set` value
 * parsing, unknown keys with a nearest-key hint, type errors naming key, value and file,
 * invalid YAML naming file and line, the presets, the cross-key rules, and the README's
 * generated reference. Every error must be a one-line ConfigError.
 */
import { resolvePretrainConfig } from "../algorithms/pretrain.ts";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  ConfigError,
  parseOverride,
  readConfigFile,
  resolveConfig,
  RunConfigSchema,
} from "../config.ts";
import { configReference, README_PATH, referenceIn } from "../tools/config_reference.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A temp folder for one test's YAML files, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zerokit_config_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `fn` throws a one-line ConfigError containing every one of `parts`. */
function assertConfigError(fn: () => unknown, ...parts: string[]): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a ConfigError mentioning ${parts.join(", ")}`);
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  const msg = caught.message;
  assert.ok(!msg.includes("\n"), `the message should be one line: ${JSON.stringify(msg)}`);
  for (const p of parts) assert.ok(msg.includes(p), `"${msg}" should mention ${p}`);
  return msg;
}

// deno-lint-ignore no-explicit-any
function unwrap(s: any): any {
  while (
    s instanceof z.ZodDefault || s instanceof z.ZodNullable || s instanceof z.ZodOptional
  ) s = s._def.innerType;
  return s;
}

/** Every dotted key of the schema (sections and leaves). */
// deno-lint-ignore no-explicit-any
function schemaKeys(schema: any = RunConfigSchema, prefix = ""): string[] {
  const s = unwrap(schema);
  if (!(s instanceof z.ZodObject)) return [];
  return Object.entries(s.shape).flatMap(([k, child]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return [key, ...schemaKeys(child, key)];
  });
}

function valueAt(obj: unknown, key: string): unknown {
  let node = obj;
  for (const k of key.split(".")) {
    if (node === null) return null; // a key under a null section (model.init, data.eval)
    if (typeof node !== "object" || !(k in node)) return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

Deno.test("every key is present after resolving a config that sets only model.path", () => {
  const cfg = resolveConfig({ model: { path: "x" } });
  const keys = schemaKeys();
  assert.ok(keys.length > 60, `expected the whole schema, got ${keys.length} keys`);
  for (const key of keys) {
    assert.notEqual(valueAt(cfg, key), undefined, `"${key}" is missing from the resolved config`);
  }
});

Deno.test("the defaults are ORZ's", () => {
  const cfg = resolveConfig({ model: { path: "x" } });
  assert.equal(cfg.algorithm, "ppo");
  assert.equal(cfg.gae.gamma, 1);
  assert.equal(cfg.gae.lambda, 1);
  assert.equal(cfg.clip.low, 0.2);
  assert.equal(cfg.clip.high, 0.2);
  assert.equal(cfg.critic.value_clip, 0.2);
  assert.equal(cfg.kl.mode, "none");
  assert.equal(cfg.advantage.norm, "batch"); // auto → batch for ppo
  assert.equal(cfg.actor.lr, 1e-6);
  assert.equal(cfg.critic.lr, 5e-6);
  assert.equal(cfg.actor.update_steps, 1);
  assert.equal(cfg.critic.update_steps, 12);
  assert.deepEqual(cfg.optim.betas, [0.9, 0.95]);
  assert.equal(cfg.optim.weight_decay, 0);
  assert.equal(cfg.optim.grad_clip, 1);
  assert.equal(cfg.optim.warmup_steps, 50);
  assert.equal(cfg.train.prompts_per_step, 128);
  assert.equal(cfg.train.samples_per_prompt, 64);
  assert.equal(cfg.loss.aggregation, "token_mean");
  assert.equal(cfg.loss.entropy_coef, 0);
  assert.equal(cfg.reward.truncated_reward, 0);
  assert.equal(cfg.rollout.temperature, 1);
  assert.equal(cfg.rollout.top_p, 1);
  assert.deepEqual(cfg.rollout.stop, ["User:", "Human:", "Assistant:", "</answer>"]);
  // GRPO's auto advantage is the group-normalised one.
  assert.equal(
    resolveConfig({ algorithm: "grpo", model: { path: "x" } }).advantage.norm,
    "group_std",
  );
  // An explicit choice is kept.
  assert.equal(
    resolveConfig({ model: { path: "x" } }, ["advantage.norm=none"]).advantage.norm,
    "none",
  );
});

Deno.test("precedence: schema defaults < the YAML file < --set, applied in order", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/run.yaml`;
    await Deno.writeTextFile(
      file,
      "model:\n  path: ckpt\ngae:\n  lambda: 0.9\ntrain:\n  steps: 7\n",
    );
    const fromFile = resolveConfig(file);
    assert.equal(fromFile.gae.lambda, 0.9); // the file over the default
    assert.equal(fromFile.gae.gamma, 1); // the default where the file is silent
    assert.equal(fromFile.train.steps, 7);
    const overridden = resolveConfig(file, ["gae.lambda=0.95", "train.steps=3", "train.steps=4"]);
    assert.equal(overridden.gae.lambda, 0.95); // --set over the file
    assert.equal(overridden.train.steps, 4); // the last --set wins
    assert.equal(overridden.model.path, "ckpt"); // the file's other keys stay
    // --set can switch a section from the file's null to an object, and back.
    const init = resolveConfig(file, ["model.path=null", "model.init.layers=1"]);
    assert.equal(init.model.init?.layers, 1);
    assert.equal(init.model.init?.hidden_size, 96);
  });
});

Deno.test("--set values are read as YAML: numbers, booleans, lists, null, strings", () => {
  const cases: [string, string[], unknown][] = [
    ["train.steps=5", ["train", "steps"], 5],
    ["actor.lr=1e-5", ["actor", "lr"], 1e-5],
    ["gae.lambda=0.95", ["gae", "lambda"], 0.95],
    ["eval.greedy=true", ["eval", "greedy"], true],
    ["model.init.tie_embeddings=false", ["model", "init", "tie_embeddings"], false],
    ["data.train.difficulty=[4,8]", ["data", "train", "difficulty"], [4, 8]],
    ["rollout.stop=[]", ["rollout", "stop"], []],
    ['rollout.stop=["User:", "</answer>"]', ["rollout", "stop"], ["User:", "</answer>"]],
    ["critic.value_clip=null", ["critic", "value_clip"], null],
    ["optim.grad_clip=~", ["optim", "grad_clip"], null],
    ["run.dir=", ["run", "dir"], null],
    ["run.name=hello world", ["run", "name"], "hello world"],
    ['run.name="007"', ["run", "name"], "007"],
    ["run.name=a=b", ["run", "name"], "a=b"], // only the first = splits
    [" train.steps = 5", ["train", "steps"], 5],
  ];
  for (const [text, path, value] of cases) {
    assert.deepEqual(parseOverride(text), [path, value], text);
  }
  // A section given in part keeps its other keys' own defaults (data.train's task is then
  // null, not the section default's "parity"), so the task is set too.
  const cfg = resolveConfig({ model: { path: "x" } }, [
    "data.train.task=parity",
    "data.train.difficulty=[2,3]",
    "critic.value_clip=null",
    "eval.greedy=true",
    "run.name=my run",
    "optim.betas=[0.8, 0.99]",
  ]);
  assert.deepEqual(cfg.data.train.difficulty, [2, 3]);
  assert.equal(cfg.critic.value_clip, null);
  assert.equal(cfg.eval.greedy, true);
  assert.equal(cfg.run.name, "my run");
  assert.deepEqual(cfg.optim.betas, [0.8, 0.99]);
});

Deno.test("malformed --set is a one-line ConfigError", () => {
  const base = { model: { path: "x" } };
  assertConfigError(() => resolveConfig(base, ["gae.lambda"]), '"gae.lambda"', "key=value");
  assertConfigError(() => resolveConfig(base, ["=0.9"]), "key=value");
  assertConfigError(() => resolveConfig(base, ["a..b=1"]), 'malformed key "a..b"');
  assertConfigError(() => resolveConfig(base, [".a=1"]), "malformed key");
  const msg = assertConfigError(
    () => resolveConfig(base, ["rollout.stop=[1,"]),
    "--set rollout.stop",
    "cannot read the value",
  );
  assert.ok(msg.endsWith(")"), `the reason should be complete: ${msg}`);
  assertConfigError(
    () => resolveConfig({ model: { path: "x" }, train: { steps: 3 } }, ["train.steps.x=1"]),
    '"steps" is not a section',
  );
});

Deno.test("an unknown key is an error naming it and the nearest valid key", async () => {
  const base = { model: { path: "x" } };
  // In data.
  assertConfigError(
    () => resolveConfig({ ...base, gae: { lamda: 0.9 } }),
    'unknown key "gae.lamda"',
    'did you mean "gae.lambda"?',
  );
  assertConfigError(
    () => resolveConfig({ ...base, algoritm: "grpo" }),
    'unknown key "algoritm"',
    'did you mean "algorithm"?',
  );
  assertConfigError(
    () => resolveConfig({ ...base, data: { train: { pth: "a.jsonl" } } }),
    'unknown key "data.train.pth"',
    'did you mean "data.train.path"?',
  );
  // In --set, naming --set.
  assertConfigError(
    () => resolveConfig(base, ["gae.lamda=0.9"]),
    "--set",
    'unknown key "gae.lamda"',
    'did you mean "gae.lambda"?',
  );
  assertConfigError(
    () => resolveConfig(base, ["algoritm=grpo"]),
    "--set",
    'unknown key "algoritm"',
    'did you mean "algorithm"?',
  );
  assertConfigError(
    () => resolveConfig(base, ["critic.valu_clip=0.1"]),
    'did you mean "critic.value_clip"?',
  );
  // No hint when nothing is near.
  const far = assertConfigError(() => resolveConfig(base, ["gae.zzzzzzzzzz=1"]), "gae.zzzzzzzzzz");
  assert.ok(!far.includes("did you mean"), far);
  // In a YAML file, naming the file.
  await withTempDir(async (dir) => {
    const file = `${dir}/typo.yaml`;
    await Deno.writeTextFile(file, "model:\n  path: x\ngae:\n  lamda: 0.9\n");
    assertConfigError(() => resolveConfig(file), file, '"gae.lamda"', '"gae.lambda"');
    const top = `${dir}/top.yaml`;
    await Deno.writeTextFile(top, "algoritm: grpo\nmodel:\n  path: x\n");
    assertConfigError(() => resolveConfig(top), top, '"algoritm"', 'did you mean "algorithm"?');
  });
});

Deno.test("a wrong type names the key, the value and the file", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/types.yaml`;
    await Deno.writeTextFile(file, "model:\n  path: x\ntrain:\n  steps: ten\n");
    assertConfigError(() => resolveConfig(file), file, '"train.steps"', '"ten"');
    const enumFile = `${dir}/enum.yaml`;
    await Deno.writeTextFile(enumFile, "model:\n  path: x\nkl:\n  mode: always\n");
    assertConfigError(() => resolveConfig(enumFile), enumFile, '"kl.mode"', '"always"');
    const range = `${dir}/range.yaml`;
    await Deno.writeTextFile(range, "model:\n  path: x\nclip:\n  low: 1.5\n");
    assertConfigError(() => resolveConfig(range), range, '"clip.low"', "1.5");
    const tuple = `${dir}/tuple.yaml`;
    await Deno.writeTextFile(tuple, "model:\n  path: x\noptim:\n  betas: [0.9, 2]\n");
    assertConfigError(() => resolveConfig(tuple), tuple, '"optim.betas.1"', "2");
    const section = `${dir}/section.yaml`;
    await Deno.writeTextFile(section, "model: ckpt\n");
    assertConfigError(() => resolveConfig(section), section, '"model"', '"ckpt"');
    const list = `${dir}/list.yaml`;
    await Deno.writeTextFile(list, "- a\n- b\n");
    assertConfigError(() => resolveConfig(list), list, "mapping");
  });
  // And from --set: the key and the value.
  assertConfigError(
    () => resolveConfig({ model: { path: "x" } }, ["gae.lambda=abc"]),
    "--set",
    '"gae.lambda"',
    '"abc"',
  );
  assertConfigError(
    () => resolveConfig({ model: { path: "x" } }, ["train.prompts_per_step=0"]),
    '"train.prompts_per_step"',
    "0",
  );
});

Deno.test("invalid YAML and missing files name the file (and the line)", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, number][] = [
      ["model:\n  path: x\ngae: gamma: 1\n", 3],
      ["model:\n  path: x\n\tgae: 1\n", 3],
      ["model:\n  path: x\nmodel:\n  path: y\n", 3], // a duplicate key
      ["train:\n  steps: 5\n micro_batch: 3\n", 3],
    ];
    for (const [i, [text, line]] of cases.entries()) {
      const file = `${dir}/bad${i}.yaml`;
      await Deno.writeTextFile(file, text);
      const msg = assertConfigError(() => readConfigFile(file), `${file}:${line}:`, "invalid YAML");
      assert.ok(!msg.endsWith(":)"), msg);
      assertConfigError(() => resolveConfig(file), `${file}:${line}:`);
    }
    assertConfigError(() => resolveConfig(`${dir}/absent.yaml`), `${dir}/absent.yaml`, "no such");
    assertConfigError(() => resolveConfig(dir), dir, "cannot read");
  });
});

Deno.test("every preset in configs/ resolves, and a tiny one exists", () => {
  const presets = [...Deno.readDirSync(`${ROOT}configs`)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml")).map((e) => e.name).sort();
  assert.ok(presets.length > 0, "configs/ has no presets");
  assert.ok(
    presets.some((p) => p.includes("tiny")),
    `no preset named *tiny*: ${presets.join(", ")}`,
  );
  for (const p of presets) {
    if (p.startsWith("pretrain_")) {
      // Pretraining presets have their own schema (algorithms/pretrain.ts).
      assert.ok(resolvePretrainConfig(`${ROOT}configs/${p}`).train.steps > 0, p);
      continue;
    }
    const cfg = resolveConfig(`${ROOT}configs/${p}`);
    assert.notEqual(cfg.advantage.norm, "auto", p);
  }
});

Deno.test("rules across keys are one-line ConfigErrors naming the keys", () => {
  const ok = { model: { path: "x" } };
  assertConfigError(() => resolveConfig({}), '"model.path"', '"model.init"');
  assertConfigError(
    () => resolveConfig({ model: { path: "x", init: {} } }),
    '"model.path"',
    '"model.init"',
  );
  assertConfigError(
    () => resolveConfig({ ...ok, data: { train: { path: "a.jsonl", task: "parity" } } }),
    '"data.train.path"',
    '"data.train.task"',
  );
  assertConfigError(
    () => resolveConfig({ model: { init: {} }, data: { train: { path: "a.jsonl", task: null } } }),
    '"model.init"',
    '"data.train.task"',
  );
  assertConfigError(
    () => resolveConfig({ ...ok, algorithm: "grpo", train: { samples_per_prompt: 1 } }),
    "grpo",
    "train.samples_per_prompt",
  );
  assertConfigError(
    () => resolveConfig({ ...ok, algorithm: "grpo" }, ["advantage.norm=batch"]),
    "config with --set:",
    "grpo",
    "advantage.norm",
  );
  assertConfigError(
    () =>
      resolveConfig({ ...ok, train: { prompts_per_step: 2, samples_per_prompt: 2 } }, [
        "critic.update_steps=5",
      ]),
    '"critic.update_steps" = 5',
    "4 sequences",
  );
  assertConfigError(
    () =>
      resolveConfig({ ...ok, train: { prompts_per_step: 1, samples_per_prompt: 2 } }, [
        "critic.update_steps=2",
        "actor.update_steps=3",
      ]),
    '"actor.update_steps" = 3',
  );
  assertConfigError(
    () => resolveConfig({ ...ok, data: { train: { task: "parity", difficulty: [8, 4] } } }),
    '"data.train.difficulty"',
    "min is above max",
  );
  assertConfigError(
    () => resolveConfig({ ...ok, data: { eval: { task: "parity", difficulty: [5, 3] } } }),
    '"data.eval.difficulty"',
  );
  // The boundaries themselves are fine.
  resolveConfig({ ...ok, train: { prompts_per_step: 2, samples_per_prompt: 2 } }, [
    "critic.update_steps=4",
    "data.train.task=chain_mod3",
    "data.train.difficulty=[3,3]",
  ]);
  resolveConfig({ ...ok, algorithm: "grpo", train: { samples_per_prompt: 2 } });
});

Deno.test("README's config reference matches the schema", async () => {
  const readme = await Deno.readTextFile(README_PATH);
  const section = referenceIn(readme);
  assert.ok(section !== null, "README.md lacks the config-reference markers");
  assert.ok(
    section === configReference(),
    "README.md's config reference is out of date with config.ts: run `deno task config-doc`",
  );
  // Every key of the schema has its row.
  for (const key of schemaKeys()) {
    if (!key.includes(".")) continue; // top-level sections are headings
    assert.ok(section.includes(`| \`${key}\` |`), `no README row for "${key}"`);
  }
});
