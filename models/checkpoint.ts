/**
 * Model checkpoints in Hugging Face layout: `config.json`, `model.safetensors` (or shards
 * with `model.safetensors.index.json`), `generation_config.json` when present, and the
 * tokenizer files. Loading validates every tensor against the shapes the config implies
 * before anything is uploaded, so a mismatched file fails naming the file and tensor.
 *
 * @module
 */
import { readAll, type Tensor } from "../kernels/core/tensor.ts";
import { keep, tensor } from "../kernels/core/tensor.ts";
import { openCheckpointWeights } from "./checkpoint_files.ts";
import {
  expectedTensorShapes,
  loadHfConfigFile,
  type ModelConfig,
  toHfConfig,
} from "./hf_config.ts";
import { type FloatDtype, writeSafetensors } from "./safetensors.ts";
import { Transformer } from "./transformer.ts";

/** Load a Llama/Qwen2 model from a Hugging Face checkpoint directory. */
export async function loadModel(dir: string): Promise<Transformer> {
  const cfg = await loadHfConfigFile(`${dir}/config.json`);
  return new Transformer(cfg, loadParams(dir, cfg));
}

/**
 * Read and validate the tensors the config implies; extra tensors are an error too, except
 * those named in `extra` (with their shapes), which are loaded as well (a critic's head).
 */
export function loadParams(
  dir: string,
  cfg: ModelConfig,
  extra: Record<string, number[]> = {},
): Map<string, Tensor> {
  const expected = { ...expectedTensorShapes(cfg), ...extra };
  const st = openCheckpointWeights(dir);
  try {
    const names = new Set(st.names());
    // Some exporters keep lm_head.weight in tied checkpoints; it must then equal the embedding.
    if (cfg.tieWordEmbeddings) names.delete("lm_head.weight");
    for (const name of names) {
      if (!(name in expected) && !name.endsWith("rotary_emb.inv_freq")) {
        throw new Error(`${dir}: unexpected tensor ${name} for a ${cfg.modelType} config`);
      }
    }
    for (const [name, shape] of Object.entries(expected)) {
      if (!st.has(name)) throw new Error(`${dir}: tensor ${name} is missing`);
      const info = st.info(name);
      if (info.shape.join() !== shape.join()) {
        throw new Error(
          `${dir}: tensor ${name} has shape [${info.shape}], config.json implies [${shape}]`,
        );
      }
    }
    const params = new Map<string, Tensor>();
    for (const [name, shape] of Object.entries(expected)) {
      params.set(name, keep(tensor(st.getF32(name), shape)));
    }
    return params;
  } finally {
    st.close();
  }
}

export interface SaveOptions {
  /** Storage dtype of `model.safetensors` (default F32). */
  dtype?: FloatDtype;
  /** Extra files to write verbatim (e.g. generation_config.json). */
  extraFiles?: Record<string, string>;
  /** Something with `save(dir)`, such as a Tokenizer. */
  tokenizer?: { save(dir: string): Promise<void> | void };
}

/** Write `model` as a Hugging Face checkpoint directory (files written atomically). */
export async function saveModel(
  model: Transformer,
  dir: string,
  opts: SaveOptions = {},
): Promise<void> {
  await saveParams(model.cfg, model.params, dir, opts);
}

/** Write `params` (by Hugging Face name) and the config as a checkpoint directory. */
export async function saveParams(
  cfg: ModelConfig,
  params: ReadonlyMap<string, Tensor>,
  dir: string,
  opts: SaveOptions = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const names = [...params.keys()].sort();
  const tensors = names.map((n) => params.get(n)!);
  const data = await readAll(tensors);
  const out: Record<string, { data: Float32Array; shape: number[] }> = {};
  names.forEach((
    n,
    i,
  ) => (out[n] = { data: data[i] as Float32Array, shape: [...tensors[i].shape] }));
  const dtype = opts.dtype ?? "F32";
  await writeSafetensors(`${dir}/model.safetensors`, out, { dtype, metadata: { format: "pt" } });
  const hf = toHfConfig({ ...cfg, torchDtype: TORCH_DTYPE[dtype] });
  await writeTextAtomic(`${dir}/config.json`, JSON.stringify(hf, null, 2) + "\n");
  for (const [file, text] of Object.entries(opts.extraFiles ?? {})) {
    await writeTextAtomic(`${dir}/${file}`, text);
  }
  if (opts.tokenizer) await opts.tokenizer.save(dir);
}

const TORCH_DTYPE: Record<FloatDtype, string> = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
};

async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}
