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
import { attention } from "../kernels/attention.ts";
import { add } from "../kernels/elementwise.ts";
import { embedding } from "../kernels/embedding.ts";
import { matmul } from "../kernels/matmul.ts";
import { rmsNorm } from "../kernels/rmsnorm.ts";
import { ropeQK } from "../kernels/rope.ts";
import { swiglu } from "../kernels/activations.ts";
import { keep, type Tensor, tensor } from "../kernels/tensor.ts";
import { expectedTensorShapes, type ModelConfig } from "./hf_config.ts";
import { initialValues, seededUniform } from "./init.ts";

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

export class Transformer {
  /** Parameters by Hugging Face name (tied models have no `lm_head.weight`). */
  readonly params: Map<string, Tensor>;

  constructor(readonly cfg: ModelConfig, params: Map<string, Tensor>) {
    const expected = expectedTensorShapes(cfg);
    for (const [name, shape] of Object.entries(expected)) {
      const t = params.get(name);
      if (!t) throw new Error(`model parameters: missing ${name}`);
      if (t.shape.join() !== shape.join()) {
        throw new Error(`model parameters: ${name} has shape [${t.shape}], config implies [${shape}]`);
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
    for (const p of this.params.values()) p.dispose();
  }

  #p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return t;
  }

  #linear(x: Tensor, name: string, withBias: boolean): Tensor {
    const y = matmul(x, this.#p(`${name}.weight`), { transB: true });
    return withBias ? add(y, this.#p(`${name}.bias`)) : y;
  }

  /** One decoder layer over whole sequences: x [B, T, H] → [B, T, H]. */
  layer(l: number, h: Tensor, batch: SequenceBatch): Tensor {
    const { cfg } = this;
    const [B, T] = [h.shape[0], h.shape[1]];
    const p = `model.layers.${l}`;
    const x = rmsNorm(h, this.#p(`${p}.input_layernorm.weight`), cfg.rmsNormEps);
    const q = this.#linear(x, `${p}.self_attn.q_proj`, cfg.attentionBias).reshape([B, T, cfg.numHeads, cfg.headDim]);
    const k = this.#linear(x, `${p}.self_attn.k_proj`, cfg.attentionBias).reshape([B, T, cfg.numKvHeads, cfg.headDim]);
    const v = this.#linear(x, `${p}.self_attn.v_proj`, cfg.attentionBias).reshape([B, T, cfg.numKvHeads, cfg.headDim]);
    const [qr, kr] = ropeQK(q, k, batch.positions, { theta: cfg.ropeTheta, headDim: cfg.headDim });
    const a = attention(qr, kr, v, { keyMask: batch.keyMask }).reshape([B, T, cfg.numHeads * cfg.headDim]);
    const o = this.#linear(a, `${p}.self_attn.o_proj`, cfg.attentionOutputBias);
    const h2 = add(h, o);
    const x2 = rmsNorm(h2, this.#p(`${p}.post_attention_layernorm.weight`), cfg.rmsNormEps);
    const gate = this.#linear(x2, `${p}.mlp.gate_proj`, false);
    const up = this.#linear(x2, `${p}.mlp.up_proj`, false);
    const m = this.#linear(swiglu(gate, up), `${p}.mlp.down_proj`, false);
    return add(h2, m);
  }

  /** The trunk: final-normed hidden states [B, T, H]. */
  hidden(batch: SequenceBatch): Tensor {
    let h = embedding(this.#p("model.embed_tokens.weight"), batch.ids, { cpuIds: batch.idsCpu });
    for (let l = 0; l < this.cfg.numLayers; l++) h = this.layer(l, h, batch);
    return rmsNorm(h, this.#p("model.norm.weight"), this.cfg.rmsNormEps);
  }

  /** The LM head's weight [V, H] (the embedding when tied). */
  get lmHead(): Tensor {
    return this.#p(this.cfg.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  }

  /** Logits [..., V] of hidden states [..., H]. */
  logits(hidden: Tensor): Tensor {
    return matmul(hidden, this.lmHead, { transB: true });
  }

  /** Logits [B, T, V] of a batch of whole sequences. */
  forward(batch: SequenceBatch): Tensor {
    return this.logits(this.hidden(batch));
  }
}
