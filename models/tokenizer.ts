/**
 * Tokenizers: one interface over Hugging Face `tokenizer.json` files (Qwen's BPE and
 * the like), the built-in Qwen2.5 tokenizer, and a character-level tokenizer for
 * synthetic tasks. All of them save and load as a Hugging Face checkpoint directory's
 * `tokenizer.json` + `tokenizer_config.json`.
 *
 * @example
 * ```ts ignore
 * import { CharTokenizer, loadTokenizer, qwenTokenizer } from "./tokenizer.ts";
 * const qwen = await qwenTokenizer();
 * qwen.encode("<|im_start|>Hi"); // [151644, 13048]
 * const chars = CharTokenizer.fromAlphabet("0123456789+=", { specials: ["<pad>", "<eos>"] });
 * await chars.save("/tmp/tok");
 * (await loadTokenizer("/tmp/tok")).encode("1+1=2"); // [3, 12, 3, 13, 4]
 * ```
 * @module
 */

import { CharTokenizer } from "./tokenizers/char_tokenizer.ts";
import { HfTokenizer } from "./tokenizers/hf_tokenizer.ts";
import { isVerlCharConfig, verlCharTokenizer } from "./tokenizers/verl_char.ts";
import type { Tokenizer } from "./tokenizers/types.ts";

export { CharTokenizer, type CharTokenizerOptions } from "./tokenizers/char_tokenizer.ts";
export { HfTokenizer, type HfTokenizerOptions } from "./tokenizers/hf_tokenizer.ts";
export { qwenTokenizer, type QwenTokenizerOptions } from "./tokenizers/qwen.ts";
export { verlCharTokenizer } from "./tokenizers/verl_char.ts";
export type { DecodeOptions, Tokenizer } from "./tokenizers/types.ts";

/** Reads a JSON file, or undefined when it does not exist; bad JSON names the file. */
async function readJsonIfExists(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  try {
    const json = JSON.parse(text);
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new Error("not a JSON object");
    }
    return json;
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * Loads the tokenizer saved in a checkpoint directory. `tokenizer.json` wins: a
 * character-level WordLevel one (as {@link CharTokenizer} saves) loads as a
 * CharTokenizer, anything else through the Hugging Face tokenizers library, with eos /
 * pad / bos from `tokenizer_config.json`. Without `tokenizer.json`, a verl-style
 * `tokenizer_config.json` with `char_ords` loads as verl's character tokenizer.
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const jsonPath = `${dir}/tokenizer.json`;
  const configPath = `${dir}/tokenizer_config.json`;
  const [json, config] = await Promise.all([
    readJsonIfExists(jsonPath),
    readJsonIfExists(configPath),
  ]);
  if (json) {
    const model = json.model as Record<string, unknown> | undefined;
    if (model?.type === "WordLevel") return CharTokenizer.fromTokenizerJson(json, config, jsonPath);
    return HfTokenizer.fromJson(json, config ?? {}, { label: jsonPath });
  }
  if (config && isVerlCharConfig(config)) return verlCharTokenizer(config, configPath);
  throw new Error(`${dir}: no tokenizer.json, nor a tokenizer_config.json with char_ords`);
}
