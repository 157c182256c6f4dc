/**
 * A character-level tokenizer for synthetic tasks: special tokens take ids 0..k-1, then
 * one id per character (Unicode code point) in alphabet order.
 *
 * It saves as a valid Hugging Face `tokenizer.json` — a WordLevel model over the single
 * characters, a Split pre-tokenizer that isolates every character, the specials as
 * added tokens and a Fuse decoder (so decoding concatenates without spaces) — plus a
 * `tokenizer_config.json` naming eos/pad/unk, so Hugging Face's own libraries load the
 * same tokenizer.
 *
 * Encoding matches special tokens written in the text first (leftmost, then longest,
 * as Hugging Face matches added tokens), then maps each character. A character outside
 * the alphabet maps to the unk token when there is one, and is an error naming the
 * character otherwise.
 *
 * @module
 */

import type { DecodeOptions, Tokenizer } from "./types.ts";

/** Options of {@link CharTokenizer.fromAlphabet}. */
export interface CharTokenizerOptions {
  /** Special tokens, given ids 0..k-1 in this order. Default ["<pad>", "<eos>"]. */
  specials?: string[];
  /** Default "<eos>"; must be one of the specials. */
  eosToken?: string;
  /** Default "<pad>" when it is a special, else none. */
  padToken?: string | null;
  /** Default "<unk>" when it is a special, else none (unknown characters then throw). */
  unkToken?: string | null;
}

type Json = Record<string, unknown>;

/** Isolates every code point; `[\s\S]` (unlike `.`) also matches newlines. */
const SPLIT_EVERY_CHAR = {
  type: "Split",
  pattern: { Regex: "[\\s\\S]" },
  behavior: "Isolated",
  invert: false,
};

function isOneCodePoint(s: string): boolean {
  const cp = s.codePointAt(0);
  return cp !== undefined && String.fromCodePoint(cp) === s;
}

function describeChar(ch: string): string {
  const hex = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `${JSON.stringify(ch)} (U+${hex})`;
}

/** Character-level {@link Tokenizer}. */
export class CharTokenizer implements Tokenizer {
  /** Token text by id: the specials, then the characters. */
  readonly tokens: readonly string[];
  readonly specials: readonly string[];
  readonly eosTokenId: number;
  readonly padTokenId?: number;
  readonly unkTokenId?: number;
  readonly #ids: Map<string, number>;
  /** Specials longest first, for leftmost-longest matching. */
  readonly #specialsByLength: string[];
  readonly #specialStarts: Set<string>;

  private constructor(
    specials: string[],
    chars: string[],
    roles: { eos: string; pad: string | null; unk: string | null },
    label: string,
  ) {
    const fail = (msg: string): never => {
      throw new Error(`${label}: ${msg}`);
    };
    this.specials = specials;
    this.tokens = [...specials, ...chars];
    this.#ids = new Map();
    for (const [i, s] of specials.entries()) {
      if (s === "") fail("special tokens must not be empty");
      if (this.#ids.has(s)) fail(`special token ${JSON.stringify(s)} is listed twice`);
      this.#ids.set(s, i);
    }
    for (const ch of chars) {
      if (!isOneCodePoint(ch)) fail(`alphabet entry ${JSON.stringify(ch)} is not one character`);
      if (this.#ids.has(ch)) fail(`character ${describeChar(ch)} is listed twice or is a special`);
      this.#ids.set(ch, this.#ids.size);
    }
    const roleId = (role: string, token: string | null): number | undefined => {
      if (token === null) return undefined;
      if (!specials.includes(token)) {
        fail(`${role} token ${JSON.stringify(token)} is not among the specials [${specials}]`);
      }
      return this.#ids.get(token);
    };
    this.eosTokenId = roleId("eos", roles.eos)!;
    this.padTokenId = roleId("pad", roles.pad);
    this.unkTokenId = roleId("unk", roles.unk);
    this.#specialsByLength = [...specials].sort((a, b) => b.length - a.length);
    this.#specialStarts = new Set(specials.map((s) => s[0]));
  }

  /** A tokenizer over `alphabet`'s characters (a string or a list of single characters). */
  static fromAlphabet(
    alphabet: string | Iterable<string>,
    options: CharTokenizerOptions = {},
  ): CharTokenizer {
    const specials = options.specials ?? ["<pad>", "<eos>"];
    const chars = typeof alphabet === "string" ? Array.from(alphabet) : [...alphabet];
    const pick = (given: string | null | undefined, fallback: string) =>
      given !== undefined ? given : specials.includes(fallback) ? fallback : null;
    return new CharTokenizer(specials, chars, {
      eos: options.eosToken ?? "<eos>",
      pad: pick(options.padToken, "<pad>"),
      unk: pick(options.unkToken, "<unk>"),
    }, "CharTokenizer");
  }

  /**
   * Rebuilds from a `tokenizer.json` in the form {@link toTokenizerJson} writes, with
   * eos/pad/unk from `tokenizer_config.json` (unk falls back to the model's unk_token).
   */
  static fromTokenizerJson(json: Json, config: Json = {}, label = "tokenizer.json"): CharTokenizer {
    const fail = (msg: string): never => {
      throw new Error(`${label}: ${msg}`);
    };
    const model = (json.model ?? {}) as Json;
    const vocab = model.vocab as Record<string, number> | undefined;
    if (model.type !== "WordLevel" || typeof vocab !== "object" || vocab === null) {
      fail("not a WordLevel tokenizer");
    }
    if (JSON.stringify(json.pre_tokenizer) !== JSON.stringify(SPLIT_EVERY_CHAR)) {
      fail("WordLevel tokenizers are supported only character-level (Split on every char)");
    }
    const byId: string[] = [];
    for (const [token, id] of Object.entries(vocab!)) {
      if (!Number.isInteger(id) || id < 0 || byId[id] !== undefined) {
        fail(`vocab id ${id} of ${JSON.stringify(token)} is invalid or repeated`);
      }
      byId[id] = token;
    }
    const added = new Set(
      ((json.added_tokens ?? []) as { content: string; special?: boolean }[])
        .filter((t) => t.special).map((t) => t.content),
    );
    const k = byId.findIndex((t) => !added.has(t));
    const specials = byId.slice(0, k < 0 ? byId.length : k);
    const chars = byId.slice(specials.length);
    if (chars.some((c) => c === undefined || added.has(c))) {
      fail("ids must be the special tokens first, then characters, with no gaps");
    }
    const role = (key: string): string | null => {
      const v = config[key];
      const text = typeof v === "object" && v !== null ? (v as Json).content : v;
      return typeof text === "string" ? text : null;
    };
    // The config's unk_token (even null) wins; the model's is only a fallback.
    const modelUnk = specials.includes(model.unk_token as string)
      ? model.unk_token as string
      : null;
    const unk = "unk_token" in config ? role("unk_token") : modelUnk;
    const eos = role("eos_token") ?? fail("tokenizer_config.json has no eos_token");
    return new CharTokenizer(specials, chars, { eos, pad: role("pad_token"), unk }, label);
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (let i = 0; i < text.length;) {
      if (this.#specialStarts.has(text[i])) {
        const special = this.#specialsByLength.find((s) => text.startsWith(s, i));
        if (special !== undefined) {
          ids.push(this.#ids.get(special)!);
          i += special.length;
          continue;
        }
      }
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      const id = this.#ids.get(ch) ?? this.unkTokenId;
      if (id === undefined) {
        throw new Error(
          `CharTokenizer: character ${describeChar(ch)} at index ${i} is not in the ` +
            `alphabet and there is no unk token`,
        );
      }
      ids.push(id);
      i += ch.length;
    }
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let text = "";
    for (const id of ids) {
      const token = this.tokens[id];
      if (token === undefined || !Number.isInteger(id)) {
        throw new Error(`CharTokenizer: token id ${id} is not in the vocabulary`);
      }
      if (!(options.skipSpecialTokens && id < this.specials.length)) text += token;
    }
    return text;
  }

  tokenToId(token: string): number | undefined {
    return this.#ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** The Hugging Face `tokenizer.json` object. */
  toTokenizerJson(): Json {
    const unk = this.unkTokenId === undefined ? "<unk>" : this.tokens[this.unkTokenId];
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.specials.map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: SPLIT_EVERY_CHAR,
      post_processor: null,
      decoder: { type: "Fuse" },
      // With no unk special, "<unk>" is absent from the vocab, so Hugging Face too
      // fails on an unknown character instead of inventing an id.
      model: { type: "WordLevel", vocab: Object.fromEntries(this.#ids), unk_token: unk },
    };
  }

  /** The `tokenizer_config.json` object naming the special tokens' roles. */
  toTokenizerConfig(): Json {
    const name = (id: number | undefined) => (id === undefined ? null : this.tokens[id]);
    return {
      tokenizer_class: "PreTrainedTokenizerFast",
      eos_token: name(this.eosTokenId),
      pad_token: name(this.padTokenId),
      unk_token: name(this.unkTokenId),
      clean_up_tokenization_spaces: false,
    };
  }

  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/tokenizer.json`,
      JSON.stringify(this.toTokenizerJson(), null, 2) + "\n",
    );
    await Deno.writeTextFile(
      `${dir}/tokenizer_config.json`,
      JSON.stringify(this.toTokenizerConfig(), null, 2) + "\n",
    );
  }
}
