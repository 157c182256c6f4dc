/**
 * Packing trajectories into the tensors of one forward: prompt + response, right-padded.
 *
 * Sequence b is `prompt ++ response` (length L_b); the forward reads its first L_b − 1
 * tokens, so T = max_b(L_b) − 1. Position t's logits predict token t + 1: response token j
 * (sequence index p + j, p = prompt length) is scored at position p + j − 1, and the critic's
 * value there is V(s_j), the state before token j (ORZ reads `values[:, :-1]` the same way).
 * Right padding needs no attention mask: causal attention never looks ahead, and padded
 * positions carry target −1 (log-prob 0, no gradient) and weight 0.
 *
 * @module
 */
import { tensor } from "../kernels/core/tensor.ts";
import type { Tensor } from "../kernels/core/tensor.ts";
import type { SequenceBatch } from "../models/transformer.ts";

/** The token ids of one trajectory, as packing needs them. */
export interface TokenPair {
  prompt: readonly number[];
  response: readonly number[];
}

export class Packed {
  readonly B: number;
  readonly T: number;
  readonly ids: Int32Array;
  readonly positions: Int32Array;
  readonly targets: Int32Array;
  /** Flat offset (b·T + p_b − 1) of each sequence's first response token. */
  readonly offsets: number[];
  readonly lengths: number[];

  constructor(seqs: readonly TokenPair[]) {
    if (seqs.length === 0) throw new Error("pack: no sequences");
    this.B = seqs.length;
    this.T = Math.max(...seqs.map((s) => s.prompt.length + s.response.length)) - 1;
    const { B, T } = this;
    this.ids = new Int32Array(B * T);
    this.positions = new Int32Array(B * T);
    this.targets = new Int32Array(B * T).fill(-1);
    this.offsets = [];
    this.lengths = seqs.map((s) => s.response.length);
    seqs.forEach((s, b) => {
      if (s.prompt.length === 0) throw new Error("pack: empty prompt");
      const all = [...s.prompt, ...s.response];
      for (let t = 0; t < T; t++) {
        this.ids[b * T + t] = t < all.length - 1 ? all[t] : 0;
        this.positions[b * T + t] = t;
      }
      const first = b * T + s.prompt.length - 1;
      this.offsets.push(first);
      s.response.forEach((tok, j) => (this.targets[first + j] = tok));
    });
  }

  /** Response tokens in the batch. */
  get tokens(): number {
    return this.lengths.reduce((a, b) => a + b, 0);
  }

  /** The forward's inputs (uploads; call inside a scope). */
  batch(): SequenceBatch {
    return {
      ids: tensor(this.ids, [this.B, this.T]),
      positions: tensor(this.positions, [this.B, this.T]),
      idsCpu: this.ids,
    };
  }

  /** Targets i32 [B·T] (−1 off the response). */
  targetTensor(): Tensor {
    return tensor(this.targets, [this.B * this.T]);
  }

  /** Per-token values of each sequence's response, scattered to [B·T] (0 elsewhere). */
  spread(perSeq: readonly ArrayLike<number>[]): Float32Array {
    if (perSeq.length !== this.B) {
      throw new Error(`pack.spread: ${perSeq.length} sequences for a batch of ${this.B}`);
    }
    const out = new Float32Array(this.B * this.T);
    perSeq.forEach((v, b) => {
      if (v.length !== this.lengths[b]) {
        throw new Error(
          `pack.spread: sequence ${b} has ${v.length} values for ${this.lengths[b]} tokens`,
        );
      }
      for (let j = 0; j < v.length; j++) out[this.offsets[b] + j] = v[j];
    });
    return out;
  }

  /** One number per sequence, repeated over its response tokens, as [B·T]. */
  spreadScalar(perSeq: readonly number[]): Float32Array {
    return this.spread(perSeq.map((w, b) => new Float64Array(this.lengths[b]).fill(w)));
  }

  /** Gather [B·T] back into each sequence's response (float64 copies). */
  gather(flat: ArrayLike<number>): Float64Array[] {
    if (flat.length !== this.B * this.T) {
      throw new Error(`pack.gather: ${flat.length} values for [${this.B}, ${this.T}]`);
    }
    return this.offsets.map((o, b) => {
      const out = new Float64Array(this.lengths[b]);
      for (let j = 0; j < out.length; j++) out[j] = flat[o + j];
      return out;
    });
  }
}

/** Split indices 0 … n−1 into `parts` contiguous chunks of near-equal size. */
export function chunks<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  const n = items.length;
  for (let k = 0; k < parts; k++) {
    const a = Math.floor((k * n) / parts);
    const b = Math.floor(((k + 1) * n) / parts);
    if (b > a) out.push(items.slice(a, b));
  }
  return out;
}

/** Consecutive slices of at most `size` items. */
export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
