/**
 * The Llama / Qwen2 decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU MLP, optional
 * q/k/v bias, tied or untied embeddings), configured from a Hugging Face `config.json` and
 * holding its parameters under Hugging Face's tensor names, so checkpoints map one to one.
 *
 * `hidden()` runs the trunk; the policy adds the LM head (`logits()`), the critic a value
 * head (models/critic.ts). Training and prefill take whole sequences; decoding goes through
 * a KV cache (models/kv_cache.ts).
 *
 * @module
 */
import { attention, attentionDecode } from "../kernels/attention/attention.ts";
import { writeKV } from "../kernels/attention/kv_cache.ts";
import { add } from "../kernels/elementwise/elementwise.ts";
import { embedding } from "../kernels/layers/embedding.ts";
import { matmul } from "../kernels/matmul/matmul.ts";
import { matmulPacked, type PackedWeight, packWeight } from "../kernels/matmul/packed.ts";
import { addRmsNorm, rmsNorm } from "../kernels/layers/rmsnorm.ts";
import { ropeQK } from "../kernels/layers/rope.ts";
import { swiglu } from "../kernels/layers/activations.ts";
import { copyInto, empty, keep, type Tensor, tensor } from "../kernels/core/tensor.ts";
import { expectedTensorShapes, type ModelConfig } from "./hf_config.ts";
import { initialValues, seededUniform } from "./init.ts";
import type { KVCache } from "./kv_cache.ts";

/** Inputs of one forward over whole sequences. */
export interface SequenceBatch {
  /** Token ids, i32 [B, T]. */
  ids: Tensor;
  /** Position of each token, i32 [B, T] (0-based over the real tokens; any value on pads). */
  positions: Tensor;
  /** 1 for real tokens, 0 for padding, f32 [B, T]; omit when nothing is padded. */
  keyMask?: Tensor;
  /** The ids on the CPU, when known: the embedding's backward groups rows with them. */
  idsCpu?: Int32Array;
}

/** Where a cached forward writes and what it may attend to. */
export interface CachedStep {
  cache: KVCache;
  /** First cache slot written by this forward. */
  slot: number;
  /** 1 for valid cache slots, 0 for pads, f32 [B, maxT]. */
  cacheMask: Tensor;
}

export class Transformer {
  /** Parameters by Hugging Face name (tied models have no `lm_head.weight`). */
  readonly params: Map<string, Tensor>;
  /** Linear weights kept in texture form for small-batch decoding (see packWeights). */
  #packed: Map<string, PackedWeight> | null = null;

  constructor(readonly cfg: ModelConfig, params: Map<string, Tensor>) {
    const expected = expectedTensorShapes(cfg);
    for (const [name, shape] of Object.entries(expected)) {
      const t = params.get(name);
      if (!t) throw new Error(`model parameters: missing ${name}`);
      if (t.shape.join() !== shape.join()) {
        throw new Error(
          `model parameters: ${name} has shape [${t.shape}], config implies [${shape}]`,
        );
      }
    }
    this.params = params;
  }

  /** A new model with Hugging Face's random initialisation, from `seed`. */
  static random(cfg: ModelConfig, { seed = 0, std = 0.02 } = {}): Transformer {
    const next = seededUniform(seed);
    const params = new Map<string, Tensor>();
    for (const [name, shape] of Object.entries(expectedTensorShapes(cfg))) {
      params.set(name, keep(tensor(initialValues(name, shape, std, next), shape)));
    }
    return new Transformer(cfg, params);
  }

  /** Trainable parameters in a stable (name-sorted) order. */
  parameters(): Tensor[] {
    return [...this.params.keys()].sort().map((n) => this.params.get(n)!);
  }

  /** Turn gradients on or off for every parameter (off for frozen reference models). */
  setTrainable(on: boolean): this {
    for (const p of this.params.values()) p.requiresGrad = on;
    return this;
  }

  /** Free every parameter's GPU buffer. */
  dispose(): void {
    this.unpackWeights();
    for (const p of this.params.values()) p.dispose();
  }

  #p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return t;
  }

  /**
   * Keep every Linear weight and the LM head packed (kernels/matmul/packed.ts) until
   * {@link unpackWeights}: on a CPU adapter this makes decode-sized products ~2× faster. Only
   * valid while the weights do not change (a rollout). Returns false if already packed.
   */
  packWeights(): boolean {
    if (this.#packed) return false;
    this.#packed = new Map();
    for (const [name, t] of this.params) {
      if (name.endsWith("_proj.weight") || t === this.lmHead) this.#packed.set(name, packWeight(t));
    }
    return true;
  }

  /** Release the packed copies made by {@link packWeights}. */
  unpackWeights(): void {
    for (const pw of this.#packed?.values() ?? []) pw.dispose();
    this.#packed = null;
  }

  #matmulWeight(x: Tensor, name: string): Tensor {
    const pw = this.#packed?.get(name);
    return pw ? matmulPacked(x, pw) : matmul(x, this.#p(name), { transB: true });
  }

  #linear(x: Tensor, name: string, withBias: boolean): Tensor {
    const y = this.#matmulWeight(x, `${name}.weight`);
    return withBias ? add(y, this.#p(`${name}.bias`)) : y;
  }

  /**
   * Self-attention of normed inputs x [B, T, H] → the output projection [B, T, H]. With a
   * cache, k and v are also written at slots `slot … slot+T−1`; a one-token step (T = 1,
   * slot > 0) attends over the cache through `cacheMask` [B, maxT].
   */
  attentionBlock(l: number, x: Tensor, batch: SequenceBatch, cached?: CachedStep): Tensor {
    const { cfg } = this;
    const [B, T] = [x.shape[0], x.shape[1]];
    const p = `model.layers.${l}.self_attn`;
    const q = this.#linear(x, `${p}.q_proj`, cfg.attentionBias).reshape([
      B,
      T,
      cfg.numHeads,
      cfg.headDim,
    ]);
    const k = this.#linear(x, `${p}.k_proj`, cfg.attentionBias).reshape([
      B,
      T,
      cfg.numKvHeads,
      cfg.headDim,
    ]);
    const v = this.#linear(x, `${p}.v_proj`, cfg.attentionBias).reshape([
      B,
      T,
      cfg.numKvHeads,
      cfg.headDim,
    ]);
    const [qr, kr] = ropeQK(q, k, batch.positions, { theta: cfg.ropeTheta, headDim: cfg.headDim });
    let a: Tensor;
    if (cached) {
      const layer = cached.cache.layers[l];
      writeKV(layer, kr, v, cached.slot);
      a = cached.slot === 0
        ? attention(qr, kr, v, { keyMask: batch.keyMask })
        : attentionDecode(qr, layer.k, layer.v, {
          length: cached.slot + T,
          keyMask: cached.cacheMask,
        });
    } else {
      a = attention(qr, kr, v, { keyMask: batch.keyMask });
    }
    a = a.reshape([B, T, cfg.numHeads * cfg.headDim]);
    return this.#linear(a, `${p}.o_proj`, cfg.attentionOutputBias);
  }

  /** SwiGLU MLP of normed inputs [B, T, H] → [B, T, H]. */
  mlp(l: number, x: Tensor): Tensor {
    const p = `model.layers.${l}.mlp`;
    const gate = this.#linear(x, `${p}.gate_proj`, false);
    const up = this.#linear(x, `${p}.up_proj`, false);
    return this.#linear(swiglu(gate, up), `${p}.down_proj`, false);
  }

  /**
   * The trunk: final-normed hidden states [B, T, H]. Every residual add is fused with the
   * RMSNorm that follows it (the next sublayer's, or the final norm).
   */
  hidden(batch: SequenceBatch, cached?: CachedStep): Tensor {
    const { cfg } = this;
    let h = embedding(this.#p("model.embed_tokens.weight"), batch.ids, { cpuIds: batch.idsCpu });
    let x = rmsNorm(h, this.#p("model.layers.0.input_layernorm.weight"), cfg.rmsNormEps);
    for (let l = 0; l < cfg.numLayers; l++) {
      const o = this.attentionBlock(l, x, batch, cached);
      const post = this.#p(`model.layers.${l}.post_attention_layernorm.weight`);
      [h, x] = addRmsNorm(h, o, post, cfg.rmsNormEps);
      const m = this.mlp(l, x);
      const next = l + 1 < cfg.numLayers
        ? `model.layers.${l + 1}.input_layernorm.weight`
        : "model.norm.weight";
      [h, x] = addRmsNorm(h, m, this.#p(next), cfg.rmsNormEps);
    }
    return x;
  }

  /** The LM head's weight [V, H] (the embedding when tied). */
  get lmHead(): Tensor {
    return this.#p(this.cfg.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  }

  /** Logits [..., V] of hidden states [..., H]. */
  logits(hidden: Tensor): Tensor {
    return this.#matmulWeight(
      hidden,
      this.cfg.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight",
    );
  }

  /** Logits [B, T, V] of a batch of whole sequences. */
  forward(batch: SequenceBatch): Tensor {
    return this.logits(this.hidden(batch));
  }

  /**
   * Prefill: run left-padded prompts [B, P], writing cache slots 0 … P−1, and return the
   * logits of each prompt's last position [B, V].
   */
  prefill(cache: KVCache, batch: SequenceBatch, cacheMask: Tensor): Tensor {
    const [B, P] = batch.ids.shape;
    const h = this.hidden(batch, { cache, slot: 0, cacheMask });
    const H = this.cfg.hiddenSize;
    const last = empty([B, H]);
    for (let b = 0; b < B; b++) copyInto(h, last, (b * P + P - 1) * H, b * H, H);
    return this.logits(last);
  }

  /**
   * One decode step: ids and positions [B, 1] at cache slot `slot` (the same for every
   * sequence) → logits [B, V].
   */
  decodeStep(
    cache: KVCache,
    ids: Tensor,
    positions: Tensor,
    cacheMask: Tensor,
    slot: number,
  ): Tensor {
    const B = ids.shape[0];
    const h = this.hidden({ ids, positions }, { cache, slot, cacheMask });
    return this.logits(h.reshape([B, this.cfg.hiddenSize]));
  }
}
