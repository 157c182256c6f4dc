import assert from "node:assert/strict";
import { openCheckpointWeights, openShardedSafetensors } from "../../models/checkpoint_files.ts";
import { writeSafetensors } from "../../models/safetensors.ts";

const t = (values: number[]) => ({ data: new Float32Array(values), shape: [values.length] });

/** Two shards plus an index, as transformers' save_pretrained lays them out. */
async function shardedDir(index?: unknown): Promise<string> {
  const dir = await Deno.makeTempDir();
  await writeSafetensors(`${dir}/model-00001-of-00002.safetensors`, { a: t([1, 2]), b: t([3]) }, {
    dtype: "F32",
  });
  await writeSafetensors(`${dir}/model-00002-of-00002.safetensors`, { c: t([4, 5, 6]) }, {
    dtype: "BF16",
  });
  const json = index ?? {
    metadata: { total_size: 18 },
    weight_map: {
      a: "model-00001-of-00002.safetensors",
      b: "model-00001-of-00002.safetensors",
      c: "model-00002-of-00002.safetensors",
    },
  };
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(json));
  return dir;
}

Deno.test("sharded checkpoint opens as one handle", async () => {
  const dir = await shardedDir();
  using w = openCheckpointWeights(dir);
  assert.deepEqual(w.names(), ["a", "b", "c"]);
  assert.deepEqual(w.metadata, { total_size: "18" });
  assert.deepEqual(Array.from(w.getF32("a")), [1, 2]);
  assert.deepEqual(w.info("c"), { dtype: "BF16", shape: [3] });
  assert.deepEqual(Array.from(w.getF32("c")), [4, 5, 6]);
  assert.ok(w.has("b") && !w.has("constructor"));
  assert.throws(() => w.getF32("constructor"), /no tensor named "constructor"/);
});

Deno.test("single-file checkpoint is found when there is no index", async () => {
  const dir = await Deno.makeTempDir();
  await writeSafetensors(`${dir}/model.safetensors`, { x: t([7]) }, { dtype: "F16" });
  using w = openCheckpointWeights(dir);
  assert.deepEqual(Array.from(w.getF32("x")), [7]);
  const empty = await Deno.makeTempDir();
  assert.throws(
    () => openCheckpointWeights(empty),
    /no model.safetensors or model.safetensors.index.json/,
  );
});

Deno.test("inconsistent shard indexes fail naming the index and the tensor or shard", async () => {
  const one = "model-00001-of-00002.safetensors";
  const two = "model-00002-of-00002.safetensors";
  const cases: [unknown, RegExp][] = [
    [
      { weight_map: { a: one, b: one, c: "missing.safetensors" } },
      /shard "missing.safetensors" does not exist/,
    ],
    [
      { weight_map: { a: one, b: one, c: two, d: two } },
      /tensor "d" is mapped to "model-00002-of-00002.safetensors" but not in it/,
    ],
    [
      { weight_map: { a: one, c: two } },
      /shard "model-00001-of-00002.safetensors" holds tensor "b" that the index does not list/,
    ],
    [
      { weight_map: { a: one, b: one, c: "../etc/passwd" } },
      /tensor "c" maps to "..\/etc\/passwd", not a shard file name/,
    ],
    [{ weights: {} }, /"weight_map" must be an object/],
    ["not json{", /cannot read shard index/],
  ];
  for (const [index, pattern] of cases) {
    const dir = await shardedDir(index);
    if (typeof index === "string") {
      await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, index);
    }
    const path = `${dir}/model.safetensors.index.json`;
    assert.throws(() => openShardedSafetensors(path), (e: Error) => {
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }
});
