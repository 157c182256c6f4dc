/**
 * The tokenizer contract every implementation in this folder satisfies (character-level,
 * Hugging Face `tokenizer.json`, Qwen's, verl's), kept apart from the loader
 * (models/tokenizer.ts) so that implementations and loader import it, not each other.
 * @module
 */

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (eos, pad, `<|im_start|>`, ...) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Text ⇄ token ids. */
export interface Tokenizer {
  /** One past the largest token id (a model's embedding may be padded beyond it). */
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly padTokenId?: number;
  /** Present when the tokenizer defines one; {@link encode} never adds it. */
  readonly bosTokenId?: number;
  /**
   * Token ids of `text`. Special tokens written in the text (`<|im_end|>`) become their
   * single ids; nothing is added around the text (no BOS/EOS), so prompts compose.
   */
  encode(text: string): number[];
  /** Text of `ids`; an id outside the vocabulary is an error. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Writes `tokenizer.json` and `tokenizer_config.json` into `dir` (created if needed). */
  save(dir: string): Promise<void>;
}
