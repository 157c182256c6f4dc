import assert from "node:assert/strict";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import {
  CharTokenizer,
  HfTokenizer,
  loadTokenizer,
  qwenTokenizer,
  verlCharTokenizer,
} from "../../models/tokenizer.ts";
import { FIXTURE_DIR, hasFixture } from "../fixtures.ts";

/**
 * Golden Qwen2.5 ids, computed by an independent byte-level BPE written in Python
 * (NFC, the tokenizer's split regex via the `regex` module, GPT-2 byte map, merge ranks).
 */
const QWEN_GOLDEN: [string, number[]][] = [
  ["Hello world", [9707, 1879]],
  [
    "<|im_start|>user\nWhat is $\\frac{1}{2}+\\sqrt{x^2}$?<|im_end|>\n<|im_start|>assistant\n",
    [151644, 872, 198, 3838, 374, 57960, 37018, 90, 16, 15170, 17, 92, 41715, 26888, 45340, 61, 17]
      .concat([31716, 30, 151645, 198, 151644, 77091, 198]),
  ],
  [
    "def f(x):\n    return x**2  # 平方 😀🎉 café naïve",
    [750, 282, 2075, 982, 262, 470, 856, 334, 17, 220, 671, 74577, 111, 23384, 90316, 144841]
      .concat([51950, 94880, 586]),
  ],
  ["The answer is \\boxed{42}.<|endoftext|>", [
    785,
    4226,
    374,
    1124,
    79075,
    90,
    19,
    17,
    7810,
    151643,
  ]],
  ["  multiple   spaces\n\n\ttabs  \n", [220, 5248, 256, 12621, 271, 3244, 3435, 2303]],
  [
    "日本語のテキスト、中文文本。한국어",
    [101059, 102819, 15767, 56833, 61803, 70534, 5373, 104811, 108704, 1773, 23573, 124785, 31079],
  ],
  // Qwen2.5 has no <think> token; <tool_call> is an added (non-special) token.
  ["<think>hi</think> <tool_call>", [13708, 766, 29, 6023, 522, 26865, 29, 220, 151657]],
  ["I'm you're they'll WE'VE don't", [40, 2776, 498, 2299, 807, 3278, 19677, 6, 4491, 1513, 944]],
];

const MIXED_TEXTS = [
  "Plain English, with punctuation: yes; no! (maybe?) -- 'quotes' \"double\".",
  "Let $f(x) = 3x^2 - 5x + 2$. Then $\\int_0^1 f(x)\\,dx = \\frac{3}{2}$ and \\boxed{\\dfrac{1}{2}}.",
  "```ts\nexport function add(a: number, b: number): number {\n\treturn a + b; // sum\n}\n```",
  "Unicode: naïve café Ωμέγα ж 😀🎉 👨‍👩‍👧‍👦 🇯🇵 ½ ² 𝔸 \u00a0nbsp \u3000ideographic",
  "中文：勾股定理 a²+b²=c²。日本語、한국어 텍스트.",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n<think>",
  " leading space, trailing spaces   \n\n\n",
  "Hello , world . Spaces before punctuation stay .",
];

Deno.test("qwen tokenizer matches an independent BPE on golden strings", async () => {
  const tok = await qwenTokenizer();
  for (const [text, ids] of QWEN_GOLDEN) {
    assert.deepEqual(tok.encode(text), ids, text);
    assert.equal(tok.decode(ids), text);
  }
});

Deno.test("qwen tokenizer: special tokens, ids, round trips", async () => {
  const tok = await qwenTokenizer();
  assert.equal(tok.tokenToId("<|endoftext|>"), 151643);
  assert.deepEqual(tok.encode("<|endoftext|>"), [151643]);
  assert.deepEqual(tok.encode("<|im_start|><|im_end|>"), [151644, 151645]);
  assert.equal(tok.eosTokenId, 151643);
  assert.equal(tok.padTokenId, 151643);
  assert.equal(tok.bosTokenId, undefined);
  assert.equal(tok.vocabSize, 151665);
  assert.equal(tok.idToToken(9707), "Hello");
  for (const text of MIXED_TEXTS) assert.equal(tok.decode(tok.encode(text)), text, text);
  // Qwen's normalizer is NFC: a decomposed é comes back composed.
  assert.equal(tok.decode(tok.encode("e\u0301")), "\u00e9");
  const chat = tok.encode("<|im_start|>user\nhi<|im_end|>");
  assert.equal(tok.decode(chat, { skipSpecialTokens: true }), "user\nhi");
  assert.equal(tok.decode([]), "");
  assert.throws(() => tok.decode([151665]), /token id 151665 is not in the vocabulary/);
  assert.throws(() => tok.decode([1.5]), /token id 1.5/);
});

Deno.test("qwen3 variant keeps <think>; eos can be <|im_end|>", async () => {
  const qwen3 = await qwenTokenizer({ variant: "qwen3" });
  assert.deepEqual(qwen3.encode("<think>hi</think>"), [151667, 6023, 151668]);
  assert.equal(qwen3.vocabSize, 151669);
  const chat = await qwenTokenizer({ eosToken: "<|im_end|>" });
  assert.equal(chat.eosTokenId, 151645);
  assert.equal(await qwenTokenizer(), await qwenTokenizer(), "instances are cached");
});

Deno.test("qwen tokenizer saves a tokenizer.json that loads back identically", async () => {
  const tok = await qwenTokenizer();
  const dir = await Deno.makeTempDir();
  await tok.save(dir);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
  assert.equal(json.model.type, "BPE");
  assert.equal(json.model.merges[0], "Ġ Ġ"); // string form, readable by older transformers
  assert.equal(json.added_tokens.length, 22);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
  assert.equal(config.eos_token, "<|endoftext|>");
  const loaded = await loadTokenizer(dir);
  assert.ok(loaded instanceof HfTokenizer);
  assert.equal(loaded.eosTokenId, 151643);
  assert.equal(loaded.padTokenId, 151643);
  assert.equal(loaded.vocabSize, 151665);
  for (const text of [...MIXED_TEXTS, ...QWEN_GOLDEN.map(([t]) => t)]) {
    assert.deepEqual(loaded.encode(text), tok.encode(text), text);
  }
});

Deno.test("HfTokenizer requires an eos token and names the file", async () => {
  const dir = await Deno.makeTempDir();
  await (await qwenTokenizer()).save(dir);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
  assert.throws(
    () => HfTokenizer.fromJson(json, {}, { label: "x/tokenizer.json" }),
    /^Error: x\/tokenizer.json: no eos_token/,
  );
  assert.throws(
    () => HfTokenizer.fromJson(json, { eos_token: "<nope>" }),
    /eos_token "<nope>" is not a token/,
  );
  const tok = HfTokenizer.fromJson(json, { eos_token: { content: "<|im_end|>" } });
  assert.equal(tok.eosTokenId, 151645);
});

Deno.test("CharTokenizer: ids, specials in text, round trip, unknown characters", () => {
  const tok = CharTokenizer.fromAlphabet("0123456789+=\n😀", {
    specials: ["<pad>", "<eos>", "<unk>"],
  });
  assert.equal(tok.vocabSize, 17);
  assert.deepEqual([tok.padTokenId, tok.eosTokenId, tok.unkTokenId], [0, 1, 2]);
  assert.deepEqual(tok.encode("1+1=2"), [4, 13, 4, 14, 5]);
  assert.deepEqual(tok.encode("9<eos><pad>😀\n"), [12, 1, 0, 16, 15]);
  const text = "12+34=46\n😀<eos>";
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.equal(tok.decode(tok.encode(text), { skipSpecialTokens: true }), "12+34=46\n😀");
  assert.deepEqual(tok.encode("1x<"), [4, 2, 2], "unknown chars (and a lone '<') map to <unk>");
  assert.equal(tok.tokenToId("="), 14);
  assert.equal(tok.idToToken(1), "<eos>");
  assert.throws(() => tok.decode([17]), /token id 17 is not in the vocabulary/);

  const strict = CharTokenizer.fromAlphabet("ab");
  assert.deepEqual([strict.padTokenId, strict.eosTokenId, strict.unkTokenId], [0, 1, undefined]);
  assert.throws(
    () => strict.encode("abc"),
    /character "c" \(U\+0063\) at index 2 is not in the alphabet/,
  );
});

Deno.test("CharTokenizer rejects bad alphabets and roles", () => {
  assert.throws(
    () => CharTokenizer.fromAlphabet("aba"),
    /character "a" \(U\+0061\) is listed twice/,
  );
  assert.throws(
    () => CharTokenizer.fromAlphabet(["ab"]),
    /alphabet entry "ab" is not one character/,
  );
  assert.throws(
    () => CharTokenizer.fromAlphabet("a", { specials: ["<pad>"] }),
    /eos token "<eos>" is not among/,
  );
  assert.throws(
    () => CharTokenizer.fromAlphabet("a", { specials: ["<e>", "<e>"], eosToken: "<e>" }),
    /listed twice/,
  );
});

Deno.test("CharTokenizer saves a Hugging Face tokenizer.json that loads back (ours and HF's JS)", async () => {
  const tok = CharTokenizer.fromAlphabet("abc xyz\n\t😀é", {
    specials: ["<pad>", "<eos>", "<unk>", "<sep>"],
  });
  const dir = await Deno.makeTempDir();
  await tok.save(dir);
  const loaded = await loadTokenizer(dir);
  assert.ok(loaded instanceof CharTokenizer);
  assert.deepEqual(loaded.tokens, tok.tokens);
  assert.deepEqual(
    [loaded.eosTokenId, loaded.padTokenId, loaded.unkTokenId],
    [tok.eosTokenId, tok.padTokenId, tok.unkTokenId],
  );
  const text = "abc<sep>xyz\n\t😀é<eos><pad>";
  assert.deepEqual(loaded.encode(text), tok.encode(text));
  assert.equal(loaded.decode(loaded.encode(text)), text);
  // Hugging Face's own JS implementation reads the same file to the same ids and text.
  const json = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer.json`));
  const config = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
  const hf = new JsTokenizer(json, config);
  const hfIds = hf.encode(text, { add_special_tokens: false }).ids;
  assert.deepEqual(hfIds, tok.encode(text));
  assert.equal(hf.decode(hfIds, { clean_up_tokenization_spaces: false }), text);

  // An explicit "no unk" survives the round trip even with "<unk>" among the specials.
  const noUnk = CharTokenizer.fromAlphabet("ab", {
    specials: ["<pad>", "<eos>", "<unk>"],
    unkToken: null,
  });
  const dir2 = await Deno.makeTempDir();
  await noUnk.save(dir2);
  const reloaded = await loadTokenizer(dir2) as CharTokenizer;
  assert.equal(reloaded.unkTokenId, undefined);
  assert.throws(() => reloaded.encode("c"), /character "c"/);
});

Deno.test({
  name: "verl char tokenizer fixture (tokenizer_config.json with char_ords)",
  ignore: !hasFixture,
  async fn() {
    const tok = await loadTokenizer(FIXTURE_DIR);
    assert.ok(tok instanceof CharTokenizer);
    // verl: S=0 E=1 P=2 U=3, then '0'..'9' ',' ':' from 4; the model's vocab is 16.
    assert.equal(tok.vocabSize, 16);
    assert.equal(tok.eosTokenId, 1);
    assert.equal(tok.padTokenId, 2);
    assert.deepEqual(tok.encode("12,3:4"), [5, 6, 14, 7, 15, 8]);
    assert.deepEqual(tok.encode("0E9P"), [4, 1, 13, 2]);
    assert.deepEqual(tok.encode("7x"), [11, 3], "unknown characters become U");
    assert.equal(tok.decode([5, 6, 14, 7, 1, 2]), "12,3EP");
    assert.equal(tok.decode([5, 6, 1], { skipSpecialTokens: true }), "12");
    const dir = await Deno.makeTempDir();
    await tok.save(dir);
    const again = await loadTokenizer(dir);
    assert.deepEqual(again.encode("98,76:5E"), tok.encode("98,76:5E"));
    assert.equal(again.eosTokenId, 1);
  },
});

Deno.test("verl config errors and loadTokenizer with nothing to load", async () => {
  assert.throws(
    () => verlCharTokenizer({ char_ords: [48, "x"] }),
    /"char_ords" must be a list of code points/,
  );
  assert.throws(
    () => verlCharTokenizer({ char_ords: [48, 69] }),
    /contains "E", one of verl's special tokens/,
  );
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    loadTokenizer(empty),
    /no tokenizer.json, nor a tokenizer_config.json with char_ords/,
  );
  await Deno.writeTextFile(`${empty}/tokenizer.json`, "{oops");
  await assert.rejects(
    loadTokenizer(empty),
    (e: Error) => e.message.startsWith(`${empty}/tokenizer.json: invalid JSON`),
  );
  const wordLevel = CharTokenizer.fromAlphabet("ab").toTokenizerJson();
  wordLevel.pre_tokenizer = { type: "Whitespace" };
  await Deno.writeTextFile(`${empty}/tokenizer.json`, JSON.stringify(wordLevel));
  await assert.rejects(loadTokenizer(empty), /supported only character-level/);
});
