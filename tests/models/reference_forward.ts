/**
 * A float64 CPU forward of the Llama/Qwen2 family, written straight from the Hugging Face
 * modelling code's equations, for tests only: the WebGPU model must match it.
 *
 * @module
 */
import type { ModelConfig } from "../../models/hf_config.ts";

export type Weights = (name: string) => ArrayLike<number>;

function linear(
  x: Float64Array,
  rows: number,
  w: ArrayLike<number>,
  out: number,
  inn: number,
  bias?: ArrayLike<number>,
) {
  // y[r, o] = Σ_i x[r, i] · W[o, i] (+ b[o]) — nn.Linear stores W as [out, in]
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o] : 0;
      const xo = r * inn;
      const wo = o * inn;
      for (let i = 0; i < inn; i++) s += x[xo + i] * w[wo + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, rows: number, h: number, w: ArrayLike<number>, eps: number) {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < h; i++) ss += x[r * h + i] ** 2;
    const inv = 1 / Math.sqrt(ss / h + eps);
    for (let i = 0; i < h; i++) y[r * h + i] = x[r * h + i] * inv * w[i];
  }
  return y;
}

/** Rotate-half RoPE in place on [T, heads, D] with the given positions. */
function rope(
  x: Float64Array,
  t: number,
  heads: number,
  d: number,
  positions: number[],
  theta: number,
) {
  const half = d / 2;
  for (let s = 0; s < t; s++) {
    for (let hd = 0; hd < heads; hd++) {
      const base = (s * heads + hd) * d;
      for (let i = 0; i < half; i++) {
        const angle = positions[s] * theta ** (-(2 * i) / d);
        const c = Math.cos(angle);
        const sn = Math.sin(angle);
        const a = x[base + i];
        const b = x[base + i + half];
        x[base + i] = a * c - b * sn;
        x[base + i + half] = b * c + a * sn;
      }
    }
  }
}

/** Logits [T, V] (row-major) of one unpadded sequence. `positions` defaults to 0..T−1. */
export function referenceLogits(
  cfg: ModelConfig,
  w: Weights,
  ids: number[],
  positions?: number[],
): Float64Array {
  const final = referenceHidden(cfg, w, ids, positions);
  const head = cfg.tieWordEmbeddings ? w("model.embed_tokens.weight") : w("lm_head.weight");
  return linear(final, ids.length, head, cfg.vocabSize, cfg.hiddenSize);
}

/** Final-normed hidden states [T, H] of one unpadded sequence. */
export function referenceHidden(
  cfg: ModelConfig,
  w: Weights,
  ids: number[],
  positions?: number[],
): Float64Array {
  const T = ids.length;
  const H = cfg.hiddenSize;
  const D = cfg.headDim;
  const hq = cfg.numHeads;
  const hkv = cfg.numKvHeads;
  const I = cfg.intermediateSize;
  const pos = positions ?? ids.map((_, i) => i);
  const emb = w("model.embed_tokens.weight");
  let h = new Float64Array(T * H);
  ids.forEach((id, s) => {
    for (let i = 0; i < H; i++) h[s * H + i] = emb[id * H + i];
  });
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const x = rmsNorm(h, T, H, w(p + "input_layernorm.weight"), cfg.rmsNormEps);
    const bias = (n: string) => (cfg.attentionBias ? w(p + `self_attn.${n}_proj.bias`) : undefined);
    const q = linear(x, T, w(p + "self_attn.q_proj.weight"), hq * D, H, bias("q"));
    const k = linear(x, T, w(p + "self_attn.k_proj.weight"), hkv * D, H, bias("k"));
    const v = linear(x, T, w(p + "self_attn.v_proj.weight"), hkv * D, H, bias("v"));
    rope(q, T, hq, D, pos, cfg.ropeTheta);
    rope(k, T, hkv, D, pos, cfg.ropeTheta);
    const att = new Float64Array(T * hq * D);
    const group = hq / hkv;
    const scale = 1 / Math.sqrt(D);
    for (let head = 0; head < hq; head++) {
      const kh = Math.floor(head / group);
      for (let t = 0; t < T; t++) {
        const scores = new Float64Array(t + 1);
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < D; i++) dot += q[(t * hq + head) * D + i] * k[(s * hkv + kh) * D + i];
          scores[s] = dot * scale;
          max = Math.max(max, scores[s]);
        }
        let z = 0;
        for (let s = 0; s <= t; s++) z += scores[s] = Math.exp(scores[s] - max);
        for (let s = 0; s <= t; s++) {
          const pr = scores[s] / z;
          for (let i = 0; i < D; i++) {
            att[(t * hq + head) * D + i] += pr * v[(s * hkv + kh) * D + i];
          }
        }
      }
    }
    const oBias = cfg.attentionOutputBias ? w(p + "self_attn.o_proj.bias") : undefined;
    const o = linear(att, T, w(p + "self_attn.o_proj.weight"), H, hq * D, oBias);
    h = h.map((val, i) => val + o[i]);
    const x2 = rmsNorm(h, T, H, w(p + "post_attention_layernorm.weight"), cfg.rmsNormEps);
    const g = linear(x2, T, w(p + "mlp.gate_proj.weight"), I, H);
    const u = linear(x2, T, w(p + "mlp.up_proj.weight"), I, H);
    const a = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
    const m = linear(a, T, w(p + "mlp.down_proj.weight"), H, I);
    h = h.map((val, i) => val + m[i]);
  }
  return rmsNorm(h, T, H, w("model.norm.weight"), cfg.rmsNormEps);
}

/**
 * Per-row log-probability of `targets[r]` (0 where the target is outside [0, V)) and entropy
 * of softmax(logits[r] / temperature), for row-major logits [rows, V].
 */
export function referenceLogprobs(
  logits: ArrayLike<number>,
  V: number,
  targets: ArrayLike<number>,
  temperature = 1,
): { logprobs: Float64Array; entropy: Float64Array } {
  const rows = logits.length / V;
  const logprobs = new Float64Array(rows);
  const entropy = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[r * V + j] / temperature);
    let z = 0;
    for (let j = 0; j < V; j++) z += Math.exp(logits[r * V + j] / temperature - max);
    const lse = max + Math.log(z);
    let meanZ = 0;
    for (let j = 0; j < V; j++) {
      const zj = logits[r * V + j] / temperature;
      meanZ += Math.exp(zj - lse) * zj;
    }
    entropy[r] = lse - meanZ;
    const t = targets[r];
    logprobs[r] = t >= 0 && t < V ? logits[r * V + t] / temperature - lse : 0;
  }
  return { logprobs, entropy };
}

/** A critic's per-token values [T] of one unpadded sequence: final hidden states · head [H]. */
export function referenceValues(
  cfg: ModelConfig,
  w: Weights,
  head: ArrayLike<number>,
  ids: number[],
): Float64Array {
  const h = referenceHidden(cfg, w, ids);
  const H = cfg.hiddenSize;
  return Float64Array.from({ length: ids.length }, (_, t) => {
    let s = 0;
    for (let i = 0; i < H; i++) s += h[t * H + i] * head[i];
    return s;
  });
}
