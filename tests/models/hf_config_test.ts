import { FIXTURE_DIR, hasFixture } from "../fixtures.ts";
import assert from "node:assert/strict";
import {
  expectedTensorShapes,
  loadHfConfigFile,
  type ModelConfig,
  parseHfConfig,
  toHfConfig,
} from "../../models/hf_config.ts";
import { openSafetensors } from "../../models/safetensors.ts";

/** Qwen2.5-0.5B's config.json, as released (trimmed of keys we do not read). */
const QWEN25_05B = {
  architectures: ["Qwen2ForCausalLM"],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: "silu",
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  transformers_version: "4.40.1",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

Deno.test({
  name: "tiny-llama fixture config parses and matches its checkpoint's tensors",
  ignore: !hasFixture,
  async fn() {
    const cfg = await loadHfConfigFile(`${FIXTURE_DIR}/config.json`);
    assert.deepEqual(
      cfg,
      {
        modelType: "llama",
        vocabSize: 16,
        hiddenSize: 128,
        intermediateSize: 344,
        numLayers: 4,
        numHeads: 4,
        numKvHeads: 4,
        headDim: 32,
        ropeTheta: 10000,
        rmsNormEps: 1e-6,
        maxPositionEmbeddings: 2048,
        tieWordEmbeddings: false,
        attentionBias: false,
        attentionOutputBias: false,
        mlpBias: false,
        hiddenAct: "silu",
        bosTokenId: null,
        eosTokenId: 1,
        padTokenId: 2,
        torchDtype: "bfloat16",
      } satisfies ModelConfig,
    );
    const shapes = expectedTensorShapes(cfg);
    using st = openSafetensors(`${FIXTURE_DIR}/model.safetensors`);
    assert.deepEqual(Object.keys(shapes).sort(), st.names());
    for (const [name, shape] of Object.entries(shapes)) {
      assert.deepEqual(st.info(name).shape, shape, name);
    }
  },
});

Deno.test("Qwen2.5-0.5B config: GQA, tied embeddings, q/k/v bias", () => {
  const cfg = parseHfConfig(QWEN25_05B);
  assert.equal(cfg.modelType, "qwen2");
  assert.equal(cfg.headDim, 64);
  assert.equal(cfg.numKvHeads, 2);
  assert.equal(cfg.ropeTheta, 1e6);
  assert.equal(cfg.rmsNormEps, 1e-6);
  assert.equal(cfg.tieWordEmbeddings, true);
  assert.equal(cfg.attentionBias, true);
  assert.equal(cfg.attentionOutputBias, false);
  assert.equal(cfg.eosTokenId, 151643);
  assert.equal(cfg.padTokenId, null);
  const shapes = expectedTensorShapes(cfg);
  // 24 layers × (4 weights + 3 biases + 3 mlp + 2 norms) + embed + final norm, no lm_head.
  assert.equal(Object.keys(shapes).length, 24 * 12 + 2);
  assert.equal(shapes["lm_head.weight"], undefined);
  assert.deepEqual(shapes["model.embed_tokens.weight"], [151936, 896]);
  assert.deepEqual(shapes["model.layers.23.self_attn.q_proj.weight"], [896, 896]);
  assert.deepEqual(shapes["model.layers.0.self_attn.k_proj.weight"], [128, 896]);
  assert.deepEqual(shapes["model.layers.0.self_attn.v_proj.bias"], [128]);
  assert.deepEqual(shapes["model.layers.0.self_attn.q_proj.bias"], [896]);
  assert.equal(shapes["model.layers.0.self_attn.o_proj.bias"], undefined);
  assert.deepEqual(shapes["model.layers.5.mlp.down_proj.weight"], [896, 4864]);
  const params = Object.values(shapes).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  assert.equal(params, 494_032_768); // Qwen2.5-0.5B's published parameter count
});

Deno.test("defaults: kv heads = heads, head_dim honored, eos list, v5 rope_parameters", () => {
  const base = {
    model_type: "llama",
    vocab_size: 100,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
  };
  const cfg = parseHfConfig(base);
  assert.equal(cfg.numKvHeads, 4);
  assert.equal(cfg.headDim, 16);
  assert.equal(cfg.maxPositionEmbeddings, 2048);
  assert.equal(cfg.ropeTheta, 10000);
  assert.equal(cfg.torchDtype, null);
  const wide = parseHfConfig({ ...base, head_dim: 32, eos_token_id: [1, 2], dtype: "float32" });
  assert.equal(wide.headDim, 32);
  assert.deepEqual(wide.eosTokenId, [1, 2]);
  assert.equal(wide.torchDtype, "float32");
  assert.deepEqual(expectedTensorShapes(wide)["model.layers.0.self_attn.o_proj.weight"], [64, 128]);
  const v5 = parseHfConfig({ ...base, rope_parameters: { rope_type: "default", rope_theta: 5e5 } });
  assert.equal(v5.ropeTheta, 5e5);
  const biased = parseHfConfig({ ...base, attention_bias: true });
  assert.ok(biased.attentionBias && biased.attentionOutputBias);
  assert.deepEqual(expectedTensorShapes(biased)["model.layers.1.self_attn.o_proj.bias"], [64]);
  assert.equal(parseHfConfig({ ...base, model_type: "qwen2" }).maxPositionEmbeddings, 32768);
});

Deno.test("toHfConfig round trips and names the architecture", () => {
  const qwen = parseHfConfig(QWEN25_05B);
  const out = toHfConfig(qwen);
  assert.deepEqual(out.architectures, ["Qwen2ForCausalLM"]);
  assert.equal(out.use_sliding_window, false);
  assert.equal(out.head_dim, undefined);
  assert.deepEqual(parseHfConfig(JSON.parse(JSON.stringify(out))), qwen);
  for (const key of Object.keys(QWEN25_05B)) {
    if (key !== "transformers_version") assert.ok(key in out, `missing ${key}`);
  }

  const llama = parseHfConfig({
    model_type: "llama",
    vocab_size: 16,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 48,
    pad_token_id: 2,
    eos_token_id: [1, 3],
  });
  const llamaOut = toHfConfig(llama);
  assert.deepEqual(llamaOut.architectures, ["LlamaForCausalLM"]);
  assert.equal(llamaOut.head_dim, 48);
  assert.equal(llamaOut.attention_bias, false);
  assert.deepEqual(parseHfConfig(llamaOut), llama);

  // A bias-free llama cannot be written as qwen2 (which always has q/k/v bias).
  assert.throws(() => toHfConfig(llama, "qwen2"), /qwen2 needs q\/k\/v bias/);
  assert.throws(() => toHfConfig(qwen, "llama"), /llama's attention_bias sets q\/k\/v and o_proj/);
});

Deno.test("unsupported settings fail naming the key and value", () => {
  const ok = { ...QWEN25_05B };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ model_type: "mistral" }, /"model_type" is "mistral"; supported: llama, qwen2/],
    [{ hidden_act: "gelu" }, /unsupported "hidden_act": "gelu"/],
    [
      { rope_scaling: { type: "linear", factor: 2 } },
      /unsupported "rope_scaling": \{"type":"linear","factor":2\}/,
    ],
    [{ rope_parameters: { rope_type: "yarn", factor: 4 } }, /unsupported "rope_parameters"/],
    [{ use_sliding_window: true }, /unsupported "use_sliding_window": true/],
    [
      { layer_types: ["full_attention", "sliding_attention"] },
      /unsupported "layer_types": "sliding_attention"/,
    ],
    [{ model_type: "llama", mlp_bias: true }, /unsupported "mlp_bias": true/],
    [{ attention_dropout: 0.1 }, /unsupported "attention_dropout": 0.1/],
    [
      { num_key_value_heads: 3 },
      /"num_attention_heads" 14 is not a multiple of "num_key_value_heads" 3/,
    ],
    [{ num_attention_heads: 5, num_key_value_heads: 5 }, /"hidden_size" 896 is not divisible/],
    [{ hidden_size: "896" }, /key "hidden_size" has value "896"/],
    [{ vocab_size: undefined }, /key "vocab_size" has value undefined/],
    [{ eos_token_id: "x" }, /key "eos_token_id" has value "x"/],
  ];
  for (const [patch, pattern] of cases) {
    assert.throws(() => parseHfConfig({ ...ok, ...patch }, "cfg/config.json"), (e: Error) => {
      assert.ok(e.message.startsWith("cfg/config.json: "), e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }
  assert.throws(() => parseHfConfig([1]), /config.json: key "\(root\)"/);
});

Deno.test("loadHfConfigFile errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/config.json`, "{ not json");
  await assert.rejects(loadHfConfigFile(`${dir}/config.json`), (e: Error) => {
    assert.ok(e.message.startsWith(`${dir}/config.json: cannot read config`), e.message);
    return true;
  });
  await assert.rejects(loadHfConfigFile(`${dir}/missing.json`), /missing.json: cannot read config/);
});
