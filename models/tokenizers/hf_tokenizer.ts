/**
 * A Hugging Face `tokenizer.json` run by npm's `@huggingface/tokenizers` (pure JS:
 * BPE incl. byte-level as Qwen2 and Llama 3 use, WordPiece, Unigram; added/special
 * tokens matched in the text before the model sees it).
 *
 * The library's own defaults differ from what RL needs, so this wrapper pins them:
 * encode adds no BOS/EOS (`add_special_tokens: false`), decode keeps special tokens
 * unless asked and does not "clean up" spaces before punctuation unless the
 * tokenizer_config explicitly says so (the library's default would turn "a ." into
 * "a." and break decode(encode(x)) === x). decode([]) is "" (the library throws), and
 * unknown ids are errors (the library would decode them as undefined).
 *
 * @module
 */

import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import type { DecodeOptions, Tokenizer } from "./types.ts";

/** Options of {@link HfTokenizer.fromJson}. */
export interface HfTokenizerOptions {
  /** Names the source in errors. */
  label?: string;
  /** Overrides tokenizer_config's `eos_token` (e.g. "<|endoftext|>" for a base model). */
  eosToken?: string;
  /** Overrides tokenizer_config's `pad_token`. */
  padToken?: string;
}

type Json = Record<string, unknown>;

/** tokenizer_config writes tokens as "x" or as an AddedToken object {content: "x"}. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && "content" in value) {
    const content = (value as { content: unknown }).content;
    if (typeof content === "string") return content;
  }
  return undefined;
}

/** A tokenizer.json-backed {@link Tokenizer}. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly padTokenId?: number;
  readonly bosTokenId?: number;
  readonly #tok: JsTokenizer;
  readonly #json: Json;
  readonly #config: Json;
  readonly #cleanUpSpaces: boolean;
  readonly #label: string;

  private constructor(json: Json, config: Json, options: HfTokenizerOptions) {
    this.#label = options.label ?? "tokenizer.json";
    this.#json = json;
    try {
      this.#tok = new JsTokenizer(json, config);
    } catch (e) {
      throw new Error(`${this.#label}: cannot build tokenizer (${(e as Error).message})`);
    }
    let maxId = -1;
    for (const id of this.#tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const idOf = (key: string, token: string | undefined): number | undefined => {
      if (token === undefined) return undefined;
      const id = this.#tok.token_to_id(token);
      if (id === undefined) throw new Error(`${this.#label}: ${key} "${token}" is not a token`);
      return id;
    };
    const eosToken = options.eosToken ?? tokenText(config.eos_token);
    const eos = idOf("eos_token", eosToken);
    if (eos === undefined) {
      throw new Error(`${this.#label}: no eos_token (set it in tokenizer_config.json)`);
    }
    this.eosTokenId = eos;
    const padToken = options.padToken ?? tokenText(config.pad_token);
    this.padTokenId = idOf("pad_token", padToken);
    this.bosTokenId = idOf("bos_token", tokenText(config.bos_token));
    this.#config = { ...config, eos_token: eosToken, pad_token: padToken ?? null };
    this.#cleanUpSpaces = config.clean_up_tokenization_spaces === true;
  }

  /**
   * Builds from a parsed `tokenizer.json` and `tokenizer_config.json` (eos is required:
   * from the config's `eos_token` or `options.eosToken`).
   */
  static fromJson(
    tokenizerJson: Json,
    tokenizerConfig: Json = {},
    options: HfTokenizerOptions = {},
  ): HfTokenizer {
    return new HfTokenizer(tokenizerJson, tokenizerConfig, options);
  }

  encode(text: string): number[] {
    const { ids, tokens } = this.#tok.encode(text, { add_special_tokens: false });
    const missing = ids.findIndex((id) => id === undefined);
    if (missing >= 0) {
      throw new Error(`${this.#label}: piece ${JSON.stringify(tokens[missing])} has no id`);
    }
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return "";
    for (const id of ids) {
      if (!Number.isInteger(id) || this.#tok.id_to_token(id) === undefined) {
        throw new Error(`${this.#label}: token id ${id} is not in the vocabulary`);
      }
    }
    return this.#tok.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.#cleanUpSpaces,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.#tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.#tok.id_to_token(id);
  }

  /** Writes the tokenizer.json it was built from and its config with eos/pad resolved. */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(this.#json));
    await Deno.writeTextFile(
      `${dir}/tokenizer_config.json`,
      JSON.stringify(this.#config, null, 2) + "\n",
    );
  }
}
