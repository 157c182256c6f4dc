/**
 * Weights versions on shared storage ("disk" weight sync, as slime and AReaL do it): each
 * version the learner publishes is an immutable folder
 *
 *   <store>/<run>/weights/v<N>-<hash>/   model.safetensors, config.json, tokenizer files,
 *                                        manifest.json (size and SHA-256 of every file)
 *
 * written under a temporary name and renamed, so a reader never sees half a version. The
 * name carries a hash of the contents, so a learner that restarts and republishes version
 * N with other weights can never be confused with the first N. A worker checks the
 * manifest before it loads, so a partial copy on a network filesystem is an error, not a
 * silently different policy.
 *
 * @module
 */
import { loadModel, saveModel } from "../../models/checkpoint.ts";
import { loadTokenizer, type Tokenizer } from "../../models/tokenizer.ts";
import type { Transformer } from "../../models/transformer.ts";

const MANIFEST = "manifest.json";

interface Manifest {
  version: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

async function sha256(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Publish `model` (F32, so workers sample with exactly the learner's weights) as version
 * `version` under `<store>/<run>/weights/`; returns the folder relative to `store`.
 */
export async function publishWeights(
  store: string,
  run: string,
  version: number,
  model: Transformer,
  tokenizer: Tokenizer,
): Promise<string> {
  const root = `${store}/${run}/weights`;
  await Deno.mkdir(root, { recursive: true });
  const tmp = `${root}/.tmp-v${version}-${crypto.randomUUID()}`;
  try {
    await saveModel(model, tmp, { dtype: "F32", tokenizer });
    const files: Manifest["files"] = {};
    const names: string[] = [];
    for await (const e of Deno.readDir(tmp)) if (e.isFile) names.push(e.name);
    for (const name of names.sort()) {
      const info = await Deno.stat(`${tmp}/${name}`);
      files[name] = { bytes: info.size, sha256: await sha256(`${tmp}/${name}`) };
    }
    await Deno.writeTextFile(`${tmp}/${MANIFEST}`, JSON.stringify({ version, files }, null, 1));
    const hash = (await sha256(`${tmp}/${MANIFEST}`)).slice(0, 12);
    const name = `v${version}-${hash}`;
    try {
      await Deno.rename(tmp, `${root}/${name}`);
    } catch (e) {
      // The same contents were published before (a restarted learner): keep that folder.
      if (!(await exists(`${root}/${name}/${MANIFEST}`))) throw e;
      await Deno.remove(tmp, { recursive: true });
    }
    return `${run}/weights/${name}`;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Check a version folder against its manifest; throws one line naming what is wrong. */
export async function verifyWeights(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${dir}/${MANIFEST}`));
  } catch (e) {
    throw new Error(`${dir}: no readable ${MANIFEST} (${(e as Error).message.split("\n")[0]})`);
  }
  for (const [name, want] of Object.entries(manifest.files ?? {})) {
    const path = `${dir}/${name}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      throw new Error(`${path}: missing (the manifest lists it)`);
    }
    if (info.size !== want.bytes) {
      throw new Error(`${path}: ${info.size} bytes, the manifest says ${want.bytes}`);
    }
    if ((await sha256(path)) !== want.sha256) throw new Error(`${path}: checksum mismatch`);
  }
  return manifest;
}

/** Load a published version (after checking its manifest). */
export async function loadWeights(
  dir: string,
): Promise<{ model: Transformer; tokenizer: Tokenizer }> {
  await verifyWeights(dir);
  const [model, tokenizer] = [await loadModel(dir), await loadTokenizer(dir)];
  return { model, tokenizer };
}

/** Remove published versions of `run` older than `keepFrom` (ones this store holds). */
export async function pruneWeights(store: string, run: string, keepFrom: number): Promise<void> {
  const root = `${store}/${run}/weights`;
  try {
    for await (const e of Deno.readDir(root)) {
      const m = /^v(\d+)-/.exec(e.name);
      if (m && Number(m[1]) < keepFrom) {
        await Deno.remove(`${root}/${e.name}`, { recursive: true }).catch(() => {});
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
