/**
 * verl's character tokenizer (its digit-completion test env), which saves only a
 * `tokenizer_config.json` holding `char_ords` (the alphabet as code points). Its ids:
 * four single-letter specials — "S" (sep) 0, "E" (eos) 1, "P" (pad) 2, "U" (unk) 3 —
 * then the characters from 4 in `char_ords` order. Being added tokens in transformers,
 * the letters S/E/P/U in text encode to those ids, an unknown character encodes to
 * "U", and decoding joins token texts with nothing between them. Encoding here adds
 * no special tokens (as verl's callers pass `add_special_tokens=False`; its own
 * template would prepend a cls token it never defines).
 *
 * The result is a {@link CharTokenizer}, so `save(dir)` writes it in the standard
 * tokenizer.json form.
 *
 * @module
 */

import { CharTokenizer } from "./char_tokenizer.ts";

const VERL_SPECIALS = ["S", "E", "P", "U"];

/** Whether a tokenizer_config.json object is verl's char tokenizer config. */
export function isVerlCharConfig(config: Record<string, unknown>): boolean {
  return Array.isArray(config.char_ords);
}

/** Builds verl's char tokenizer from its tokenizer_config.json object. */
export function verlCharTokenizer(
  config: Record<string, unknown>,
  label = "tokenizer_config.json",
): CharTokenizer {
  const ords = config.char_ords;
  if (!Array.isArray(ords) || !ords.every((o) => Number.isInteger(o) && o >= 0 && o <= 0x10ffff)) {
    throw new Error(`${label}: "char_ords" must be a list of code points`);
  }
  const chars = ords.map((o) => String.fromCodePoint(o));
  const clash = chars.find((c) => VERL_SPECIALS.includes(c));
  if (clash) {
    // verl would silently give the letter two meanings; refuse instead.
    throw new Error(`${label}: "char_ords" contains "${clash}", one of verl's special tokens`);
  }
  return CharTokenizer.fromAlphabet(chars, {
    specials: VERL_SPECIALS,
    eosToken: "E",
    padToken: "P",
    unkToken: "U",
  });
}
