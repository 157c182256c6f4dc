/**
 * Models: the Llama/Qwen2 transformer, the critic, Hugging Face checkpoints and tokenizers,
 * and the batched generation engine.
 *
 * @example
 * ```ts
 * import { initGpu } from "../kernels/mod.ts";
 * import { generate, loadModel, loadTokenizer } from "./mod.ts";
 * await initGpu();
 * const dir = new URL("../bases/parity/", import.meta.url).pathname; // or any HF checkpoint
 * const [model, tok] = [await loadModel(dir), await loadTokenizer(dir)];
 * const [g] = await generate(model, [tok.encode("parity of 1011:")], {
 *   maxNewTokens: 16,
 *   temperature: 0,
 *   decode: (ids) => tok.decode(ids),
 * });
 * console.log(g.text, g.finish);
 * ```
 *
 * @module
 */
export { type CachedStep, type SequenceBatch, Transformer } from "./transformer.ts";
export { Critic, VALUE_HEAD } from "./critic.ts";
export { loadModel, loadParams, saveModel, type SaveOptions } from "./checkpoint.ts";
export { createKVCache, type KVCache } from "./kv_cache.ts";
export {
  cutAtStop,
  type FinishReason,
  generate,
  type GenerateOptions,
  type Generation,
} from "./generate.ts";
export {
  expectedTensorShapes,
  loadHfConfigFile,
  type ModelConfig,
  parseHfConfig,
  toHfConfig,
} from "./hf_config.ts";
export { openSafetensors, writeSafetensors } from "./safetensors.ts";
export { openCheckpointWeights } from "./checkpoint_files.ts";
export {
  CharTokenizer,
  HfTokenizer,
  loadTokenizer,
  qwenTokenizer,
  type Tokenizer,
} from "./tokenizer.ts";
