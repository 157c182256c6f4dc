/**
 * Find and open the weights of a Hugging Face checkpoint directory: a single
 * `model.safetensors`, or shards listed by `model.safetensors.index.json`, whose
 * `weight_map` maps every tensor name to the shard file holding it. Both come back as
 * one {@link SafetensorsHandle}, so the loader never cares which it got.
 *
 * @example
 * ```ts ignore
 * import { openCheckpointWeights } from "./checkpoint_files.ts";
 * using weights = openCheckpointWeights("/path/to/Qwen2.5-0.5B");
 * const embed = weights.getF32("model.embed_tokens.weight");
 * ```
 * @module
 */

import { openSafetensors, type SafetensorsHandle } from "./safetensors.ts";

/** The file name of an unsharded checkpoint's weights. */
export const WEIGHTS_FILE = "model.safetensors";
/** The file name of a sharded checkpoint's index. */
export const WEIGHTS_INDEX_FILE = "model.safetensors.index.json";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Opens `dir`'s weights: the shard index when there is one, else `model.safetensors`. */
export function openCheckpointWeights(dir: string): SafetensorsHandle {
  const index = `${dir}/${WEIGHTS_INDEX_FILE}`;
  if (exists(index)) return openShardedSafetensors(index);
  const single = `${dir}/${WEIGHTS_FILE}`;
  if (exists(single)) return openSafetensors(single);
  throw new Error(`${dir}: no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE} found`);
}

/** Reads an index file into name → shard file name, checking its shape. */
function readWeightMap(
  indexPath: string,
): { weightMap: Map<string, string>; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(Deno.readTextFileSync(indexPath));
  } catch (e) {
    throw new Error(`${indexPath}: cannot read shard index (${(e as Error).message})`);
  }
  const { weight_map: weightMap, metadata } = (json ?? {}) as Record<string, unknown>;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${indexPath}: "weight_map" must be an object of tensor name → shard file`);
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    // Shards are siblings of the index; anything else is a broken or hostile index.
    if (typeof shard !== "string" || shard === "" || shard.includes("/") || shard === "..") {
      throw new Error(
        `${indexPath}: tensor "${name}" maps to ${JSON.stringify(shard)}, not a shard file name`,
      );
    }
  }
  // Index metadata holds numbers such as total_size; keep the handle's string contract.
  const meta: Record<string, string> = {};
  if (typeof metadata === "object" && metadata !== null) {
    for (const [k, v] of Object.entries(metadata)) meta[k] = String(v);
  }
  return {
    weightMap: new Map(Object.entries(weightMap as Record<string, string>)),
    metadata: meta,
  };
}

/**
 * Opens every shard named by a `model.safetensors.index.json` as one handle. Fails,
 * naming the index and the tensor or shard, when a shard is missing, a mapped tensor
 * is not in its shard, or a shard holds a tensor the index does not map there.
 */
export function openShardedSafetensors(indexPath: string): SafetensorsHandle {
  const { weightMap, metadata } = readWeightMap(indexPath);
  const slash = indexPath.lastIndexOf("/");
  const dir = slash >= 0 ? indexPath.slice(0, slash) : ".";
  const shards = new Map<string, SafetensorsHandle>();
  const closeAll = () => shards.forEach((s) => s.close());
  try {
    for (const file of new Set(weightMap.values())) {
      const path = `${dir}/${file}`;
      if (!exists(path)) throw new Error(`${indexPath}: shard "${file}" does not exist`);
      shards.set(file, openSafetensors(path));
    }
    for (const [name, file] of weightMap) {
      if (!shards.get(file)!.has(name)) {
        throw new Error(`${indexPath}: tensor "${name}" is mapped to "${file}" but not in it`);
      }
    }
    for (const [file, shard] of shards) {
      for (const name of shard.names()) {
        const mapped = weightMap.get(name);
        if (mapped !== file) {
          throw new Error(
            `${indexPath}: shard "${file}" holds tensor "${name}" that the index ` +
              (mapped === undefined ? "does not list" : `maps to "${mapped}"`),
          );
        }
      }
    }
  } catch (e) {
    closeAll();
    throw e;
  }

  const names = [...weightMap.keys()].sort();
  const shardOf = (name: string): SafetensorsHandle => {
    const file = weightMap.get(name);
    if (file === undefined) throw new Error(`${indexPath}: no tensor named "${name}"`);
    return shards.get(file)!;
  };
  return {
    metadata,
    names: () => [...names],
    has: (name) => weightMap.has(name),
    info: (name) => shardOf(name).info(name),
    getF32: (name) => shardOf(name).getF32(name),
    getTyped: (name) => shardOf(name).getTyped(name),
    getBytes: (name) => shardOf(name).getBytes(name),
    close: closeAll,
    [Symbol.dispose]: closeAll,
  };
}
