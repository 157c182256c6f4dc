/**
 * Hugging Face `config.json` ⇄ zerokit's {@link ModelConfig}, for the one transformer
 * family we implement: Llama and Qwen2 (RMSNorm, RoPE, GQA, SwiGLU, optional q/k/v
 * bias, tied or untied embeddings).
 *
 * Parsing is strict about anything that would change the math we do not implement
 * (rope scaling, sliding windows, other activations, MLP bias, attention dropout): such
 * a config is an error naming the key and value, never silently approximated. Keys
 * that do not change the forward pass (`pretraining_tp`, `initializer_range`, ...) are
 * ignored.
 *
 * @example
 * ```ts
 * import { expectedTensorShapes, parseHfConfig, toHfConfig } from "./hf_config.ts";
 * const cfg = parseHfConfig({
 *   model_type: "qwen2", vocab_size: 151936, hidden_size: 896, intermediate_size: 4864,
 *   num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
 *   tie_word_embeddings: true, rope_theta: 1e6,
 * });
 * cfg.headDim; // 64
 * expectedTensorShapes(cfg)["model.layers.0.self_attn.k_proj.bias"]; // [128]
 * toHfConfig(cfg).architectures; // ["Qwen2ForCausalLM"]
 * ```
 * @module
 */

import { z } from "zod";

/** The `model_type` values we can run. */
export const MODEL_TYPES = ["llama", "qwen2"] as const;
/** A supported Hugging Face `model_type`. */
export type ModelType = typeof MODEL_TYPES[number];

const ARCHITECTURES: Record<ModelType, string> = {
  llama: "LlamaForCausalLM",
  qwen2: "Qwen2ForCausalLM",
};

/** Defaults of transformers' LlamaConfig / Qwen2Config for the keys we read. */
const DEFAULTS: Record<ModelType, { maxPositionEmbeddings: number }> = {
  llama: { maxPositionEmbeddings: 2048 },
  qwen2: { maxPositionEmbeddings: 32768 },
};

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative().nullable();

/** A model's architecture, camelCased from `config.json`, with defaults resolved. */
export const ModelConfigSchema = z.object({
  modelType: z.enum(MODEL_TYPES),
  vocabSize: positiveInt,
  hiddenSize: positiveInt,
  intermediateSize: positiveInt,
  numLayers: positiveInt,
  numHeads: positiveInt,
  /** Key/value heads (GQA); equals numHeads for plain multi-head attention. */
  numKvHeads: positiveInt,
  headDim: positiveInt,
  ropeTheta: z.number().positive(),
  rmsNormEps: z.number().positive(),
  maxPositionEmbeddings: positiveInt,
  /** lm_head shares model.embed_tokens.weight (no lm_head.weight tensor). */
  tieWordEmbeddings: z.boolean(),
  /** q/k/v projections carry a bias (always in Qwen2; `attention_bias` in Llama). */
  attentionBias: z.boolean(),
  /** o_proj carries a bias (Llama's `attention_bias` sets it with q/k/v; never in Qwen2). */
  attentionOutputBias: z.boolean(),
  mlpBias: z.literal(false),
  hiddenAct: z.literal("silu"),
  bosTokenId: tokenId,
  /** One id or several (generation stops at any of them). */
  eosTokenId: z.union([tokenId, z.array(z.number().int().nonnegative())]),
  padTokenId: tokenId,
  /** The dtype the checkpoint was saved in, e.g. "bfloat16" (informational). */
  torchDtype: z.string().nullable(),
});

/** A model's architecture, camelCased from `config.json`, with defaults resolved. */
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** The raw keys we read; everything else passes through unread. */
const RawSchema = z.object({
  model_type: z.string(),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  rope_theta: z.number().positive().nullish(),
  rms_norm_eps: z.number().positive().nullish(),
  max_position_embeddings: positiveInt.nullish(),
  tie_word_embeddings: z.boolean().nullish(),
  attention_bias: z.boolean().nullish(),
  mlp_bias: z.boolean().nullish(),
  hidden_act: z.string().nullish(),
  attention_dropout: z.number().nullish(),
  rope_scaling: z.unknown(),
  rope_parameters: z.unknown(),
  use_sliding_window: z.boolean().nullish(),
  layer_types: z.array(z.string()).nullish(),
  bos_token_id: tokenId.optional(),
  eos_token_id: z.union([tokenId, z.array(z.number().int().nonnegative())]).optional(),
  pad_token_id: tokenId.optional(),
  torch_dtype: z.string().nullish(),
  dtype: z.string().nullish(),
}).passthrough();

/**
 * Parses a `config.json` object. `label` (usually the file path) starts every error
 * message; an unsupported setting names its key and value.
 */
export function parseHfConfig(json: unknown, label = "config.json"): ModelConfig {
  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  const parsed = RawSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join(".") || "(root)";
    const value = issue.path.reduce<unknown>(
      (o, k) => (o as Record<string | number, unknown>)?.[k],
      json,
    );
    fail(`key "${key}" has value ${JSON.stringify(value)}: ${issue.message}`);
  }
  const raw = parsed.data!;
  const modelType = raw.model_type as ModelType;
  if (!MODEL_TYPES.includes(modelType)) {
    fail(`"model_type" is "${raw.model_type}"; supported: ${MODEL_TYPES.join(", ")}`);
  }
  const unsupported = (key: string, value: unknown, why: string) =>
    fail(`unsupported "${key}": ${JSON.stringify(value)} (${why})`);

  const hiddenAct = raw.hidden_act ?? "silu";
  if (hiddenAct !== "silu") unsupported("hidden_act", hiddenAct, "only silu is implemented");
  if (raw.mlp_bias) unsupported("mlp_bias", raw.mlp_bias, "MLP biases are not implemented");
  if (raw.rope_scaling != null) {
    unsupported("rope_scaling", raw.rope_scaling, "only plain RoPE is implemented");
  }
  // transformers v5 moves rope_theta into rope_parameters; accept its plain form.
  let ropeTheta = raw.rope_theta ?? 10000;
  if (raw.rope_parameters != null) {
    const rp = raw.rope_parameters as Record<string, unknown>;
    const plain = typeof rp === "object" && (rp.rope_type ?? "default") === "default" &&
      Object.keys(rp).every((k) => k === "rope_type" || k === "rope_theta");
    if (!plain) unsupported("rope_parameters", rp, "only plain RoPE is implemented");
    if (typeof rp.rope_theta === "number") ropeTheta = rp.rope_theta;
  }
  if (raw.use_sliding_window) {
    unsupported("use_sliding_window", true, "sliding-window attention is not implemented");
  }
  const otherLayer = raw.layer_types?.find((t) => t !== "full_attention");
  if (otherLayer) unsupported("layer_types", otherLayer, "only full attention is implemented");
  if (raw.attention_dropout) {
    unsupported("attention_dropout", raw.attention_dropout, "dropout is not implemented");
  }

  const numHeads = raw.num_attention_heads;
  const numKvHeads = raw.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    fail(
      `"num_attention_heads" ${numHeads} is not a multiple of "num_key_value_heads" ${numKvHeads}`,
    );
  }
  if (raw.head_dim == null && raw.hidden_size % numHeads !== 0) {
    fail(`"hidden_size" ${raw.hidden_size} is not divisible by "num_attention_heads" ${numHeads}`);
  }
  // Qwen2 hard-codes bias on q/k/v and none on o_proj; Llama's one flag covers all four.
  const llamaBias = raw.attention_bias ?? false;
  return {
    modelType,
    vocabSize: raw.vocab_size,
    hiddenSize: raw.hidden_size,
    intermediateSize: raw.intermediate_size,
    numLayers: raw.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim: raw.head_dim ?? raw.hidden_size / numHeads,
    ropeTheta,
    rmsNormEps: raw.rms_norm_eps ?? 1e-6,
    maxPositionEmbeddings: raw.max_position_embeddings ??
      DEFAULTS[modelType].maxPositionEmbeddings,
    tieWordEmbeddings: raw.tie_word_embeddings ?? false,
    attentionBias: modelType === "qwen2" ? true : llamaBias,
    attentionOutputBias: modelType === "qwen2" ? false : llamaBias,
    mlpBias: false,
    hiddenAct: "silu",
    bosTokenId: raw.bos_token_id ?? null,
    eosTokenId: raw.eos_token_id ?? null,
    padTokenId: raw.pad_token_id ?? null,
    torchDtype: raw.torch_dtype ?? raw.dtype ?? null,
  };
}

/** Reads and parses a `config.json`; errors name the file. */
export async function loadHfConfigFile(path: string): Promise<ModelConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot read config (${(e as Error).message})`);
  }
  return parseHfConfig(json, path);
}

/**
 * A `config.json` object that transformers loads as the same model. `modelType`
 * defaults to the config's own; converting is an error when the target family cannot
 * express the config's biases.
 */
export function toHfConfig(
  config: ModelConfig,
  modelType: ModelType = config.modelType,
): Record<string, unknown> {
  const cfg = ModelConfigSchema.parse(config);
  if (modelType === "qwen2" && (!cfg.attentionBias || cfg.attentionOutputBias)) {
    throw new Error(
      `qwen2 needs q/k/v bias and no o_proj bias; this config has ` +
        `attentionBias=${cfg.attentionBias}, attentionOutputBias=${cfg.attentionOutputBias}`,
    );
  }
  if (modelType === "llama" && cfg.attentionBias !== cfg.attentionOutputBias) {
    throw new Error(
      `llama's attention_bias sets q/k/v and o_proj bias together; this ` +
        `config has attentionBias=${cfg.attentionBias}, attentionOutputBias=${cfg.attentionOutputBias}`,
    );
  }
  const out: Record<string, unknown> = {
    architectures: [ARCHITECTURES[modelType]],
    model_type: modelType,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    num_key_value_heads: cfg.numKvHeads,
    hidden_act: cfg.hiddenAct,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    rms_norm_eps: cfg.rmsNormEps,
    rope_theta: cfg.ropeTheta,
    rope_scaling: null,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
  };
  // Older transformers ignore head_dim and derive it, so only write it when it differs.
  if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) out.head_dim = cfg.headDim;
  if (cfg.padTokenId !== null) out.pad_token_id = cfg.padTokenId;
  if (cfg.torchDtype !== null) out.torch_dtype = cfg.torchDtype;
  if (modelType === "llama") {
    Object.assign(out, { attention_bias: cfg.attentionBias, mlp_bias: false, pretraining_tp: 1 });
  } else {
    // As released Qwen2.5 configs do: window disabled, set to the full context.
    Object.assign(out, {
      use_sliding_window: false,
      sliding_window: cfg.maxPositionEmbeddings,
      max_window_layers: cfg.numLayers,
    });
  }
  return out;
}

/**
 * Every tensor a Hugging Face checkpoint of this model holds, with its shape. Linear
 * weights are `[out, in]` as torch stores them. `lm_head.weight` is absent when tied
 * (some exporters still save it; the loader may accept and ignore it).
 */
export function expectedTensorShapes(cfg: ModelConfig): Record<string, number[]> {
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const h = cfg.hiddenSize;
  const shapes: Record<string, number[]> = { "model.embed_tokens.weight": [cfg.vocabSize, h] };
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    shapes[`${p}input_layernorm.weight`] = [h];
    shapes[`${p}self_attn.q_proj.weight`] = [q, h];
    shapes[`${p}self_attn.k_proj.weight`] = [kv, h];
    shapes[`${p}self_attn.v_proj.weight`] = [kv, h];
    shapes[`${p}self_attn.o_proj.weight`] = [h, q];
    if (cfg.attentionBias) {
      shapes[`${p}self_attn.q_proj.bias`] = [q];
      shapes[`${p}self_attn.k_proj.bias`] = [kv];
      shapes[`${p}self_attn.v_proj.bias`] = [kv];
    }
    if (cfg.attentionOutputBias) shapes[`${p}self_attn.o_proj.bias`] = [h];
    shapes[`${p}post_attention_layernorm.weight`] = [h];
    shapes[`${p}mlp.gate_proj.weight`] = [cfg.intermediateSize, h];
    shapes[`${p}mlp.up_proj.weight`] = [cfg.intermediateSize, h];
    shapes[`${p}mlp.down_proj.weight`] = [h, cfg.intermediateSize];
  }
  shapes["model.norm.weight"] = [h];
  if (!cfg.tieWordEmbeddings) shapes["lm_head.weight"] = [cfg.vocabSize, h];
  return shapes;
}
