/**
 * The rollout engine: batched sampling from a {@link Transformer} with a KV cache on the GPU.
 *
 * 1. Prompts are left-padded to one length P, so every sequence decodes at the same cache
 *    slot; pads are masked out of attention and positions count real tokens only. The live
 *    batch (`LiveBatch`) owns the cache and the output buffers.
 * 2. Prefill runs the whole prompt batch once, filling the cache, and samples token 0.
 * 3. Nothing is read back per token: every `checkEvery` tokens one readback brings the new
 *    ids to the CPU, where EOS and stop strings are checked; generation ends when every
 *    sequence has finished, and finished rows leave the batch once a quarter has.
 * 4. Each decode step feeds the previous step's sampled ids (still on the GPU) back in,
 *    samples on the GPU and appends ids and logprobs to the batch's GPU buffers.
 *
 * The sampler is counter-based (seed, step, sequence id), so a run is reproducible and a
 * sequence's tokens do not depend on what else is in the batch.
 *
 * @module
 */
import { noGradAsync } from "../kernels/core/autograd.ts";
import { sample } from "../kernels/sampling/sampler.ts";
import {
  copyInto,
  empty,
  keep,
  readAll,
  scope,
  type Tensor,
  tensor,
} from "../kernels/core/tensor.ts";
import { createKVCache, type KVCache } from "./kv_cache.ts";
import { copyKVRows } from "../kernels/attention/kv_cache.ts";
import type { Transformer } from "./transformer.ts";

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Token ids that end a sequence (kept in the output). */
  eosTokenIds?: number[];
  /** Strings that end a sequence; the text is cut just after the first one (kept, as ORZ does). */
  stopStrings?: string[];
  /** Needed for stop strings and for `text` in the result. */
  decode?: (ids: number[]) => string;
  /**
   * Per-sequence sampler stream ids (default 0 … B−1): a sequence's draws depend on its id,
   * the seed and the step, not on its row in the batch.
   */
  seqIds?: number[];
  /** Decode steps between readbacks that check for EOS / stop strings. Default 16. */
  checkEvery?: number;
}

/** Why a sequence ended: EOS or a stop string (`stop`), or the length cap (`length`). */
export type FinishReason = "stop" | "length";

export interface Generation {
  /** New token ids (through the EOS token or the token that completed a stop string). */
  tokens: number[];
  /** Behaviour-policy logprob of each new token (temperature-scaled softmax). */
  logprobs: number[];
  text: string;
  finish: FinishReason;
}

/** Sample continuations of `prompts` (token ids). */
export async function generate(
  model: Transformer,
  prompts: number[][],
  opts: GenerateOptions,
): Promise<Generation[]> {
  const B = prompts.length;
  if (B === 0) return [];
  if (prompts.some((p) => p.length === 0)) throw new Error("generate: empty prompt");
  const maxNew = opts.maxNewTokens;
  if (!Number.isInteger(maxNew) || maxNew < 0) {
    throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${maxNew}`);
  }
  if (maxNew === 0) {
    return prompts.map(() => ({ tokens: [], logprobs: [], text: "", finish: "length" }));
  }
  const checkEvery = Math.max(1, opts.checkEvery ?? 16);
  const eos = new Set(opts.eosTokenIds ?? []);
  const stops = opts.stopStrings ?? [];
  if (stops.length > 0 && !opts.decode) {
    throw new Error("generate: stopStrings need a decode function");
  }
  const results: Generation[] = prompts.map(() => ({
    tokens: [],
    logprobs: [],
    text: "",
    finish: "length",
  }));
  const done = new Array<boolean>(B).fill(false);
  /** Append tokens [from, to) of the live rows to their results; finish at EOS or a stop. */
  const collect = (
    rows: number[],
    ids: Int32Array,
    logprobs: Float32Array,
    from: number,
    to: number,
  ) => {
    const n = rows.length;
    rows.forEach((b, r) => {
      const res = results[b];
      for (let s = from; s < to && !done[b]; s++) {
        const id = ids[s * n + r];
        res.tokens.push(id);
        res.logprobs.push(logprobs[s * n + r]);
        const stopped = eos.has(id) ||
          (stops.length > 0 && hasStop(opts.decode!(res.tokens.slice(-64)), stops));
        if (stopped) {
          done[b] = true;
          res.finish = "stop";
        }
      }
    });
  };

  await noGradAsync(async () => {
    // 1. Left-pad the prompts into a batch that owns its GPU buffers.
    const batch = new LiveBatch(model, prompts, maxNew, {
      temperature: opts.temperature ?? 1,
      topK: opts.topK,
      topP: opts.topP,
      seed: opts.seed ?? 0,
      seqIds: opts.seqIds ?? prompts.map((_, b) => b),
    });
    const packedHere = model.packWeights();
    try {
      // 2. Prefill: the prompts' last positions give token 0.
      batch.prefill();
      let checked = 0;
      for (let n = 1;; n++) { // n tokens sampled so far
        // 3. Every `checkEvery` tokens, and after the last, read the new ones back, end
        //    sequences at EOS or a stop string, and drop finished rows once they are many.
        if (n - checked >= checkEvery || n === maxNew) {
          const [ids, logprobs] = await batch.read();
          collect(batch.rows, ids, logprobs, checked, n);
          checked = n;
          if (done.every(Boolean) || n === maxNew) break;
          const live = batch.rows.filter((b) => !done[b]);
          if (live.length <= batch.rows.length * 0.75) batch.compact(live);
        }
        // 4. One decode step: feed token n − 1, sample token n.
        batch.decode(n);
      }
    } finally {
      if (packedHere) model.unpackWeights();
      batch.dispose();
    }
  });
  for (const r of results) r.text = opts.decode ? cutAtStop(opts.decode(r.tokens), stops) : "";
  return results;
}

/** Sampler settings of a generation, with each prompt's sampler stream id. */
interface Sampling {
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  seqIds: number[];
}

/**
 * The sequences still decoding and the GPU buffers they own: the KV cache, the attention
 * mask over cache slots (pads are 0), the last sampled ids, and every step's sampled ids and
 * logprobs ([maxNew, rows]). Row r decodes prompt `rows[r]`; {@link compact} drops finished
 * rows from every buffer, so they stop costing.
 *
 * Prompts are left-padded to one length P, so every row writes the same cache slot at each
 * step (token s is fed at slot P + s − 1); positions count real tokens only.
 */
class LiveBatch {
  /** The prompt index decoded in each row. */
  rows: number[];
  readonly #P: number;
  readonly #maxT: number;
  /** [prompts, maxT] 1 for real slots, 0 for pads: each row's mask, for compacting. */
  readonly #cacheMask: Float32Array;
  #cache: KVCache;
  #mask: Tensor;
  #outIds: Tensor;
  #outLogprobs: Tensor;
  #last: Tensor | undefined;

  constructor(
    readonly model: Transformer,
    readonly prompts: number[][],
    readonly maxNew: number,
    readonly sampling: Sampling,
  ) {
    const B = prompts.length;
    this.rows = prompts.map((_, b) => b);
    this.#P = Math.max(...prompts.map((p) => p.length));
    this.#maxT = this.#P + maxNew;
    this.#cacheMask = new Float32Array(B * this.#maxT).fill(1);
    prompts.forEach((p, b) =>
      this.#cacheMask.fill(0, b * this.#maxT, b * this.#maxT + this.#P - p.length)
    );
    this.#cache = createKVCache(model.cfg, B, this.#maxT);
    this.#mask = keep(tensor(this.#cacheMask, [B, this.#maxT]));
    this.#outIds = keep(empty([maxNew, B], "i32"));
    this.#outLogprobs = keep(empty([maxNew, B]));
  }

  /** Run the whole padded prompt batch once, filling the cache, and sample token 0. */
  prefill(): void {
    const B = this.rows.length, P = this.#P;
    const ids = new Int32Array(B * P);
    const positions = new Int32Array(B * P);
    const promptMask = new Float32Array(B * P);
    this.prompts.forEach((p, b) => {
      const pad = P - p.length;
      for (let j = pad; j < P; j++) {
        ids[b * P + j] = p[j - pad];
        positions[b * P + j] = j - pad;
        promptMask[b * P + j] = 1;
      }
    });
    this.#last = scope(() => {
      const logits = this.model.prefill(this.#cache, {
        ids: tensor(ids, [B, P]),
        positions: tensor(positions, [B, P]),
        keyMask: tensor(promptMask, [B, P]),
        idsCpu: ids,
      }, this.#mask);
      return keep(this.#pick(logits, 0));
    });
  }

  /** Decode step s: feed each row's token s − 1 at cache slot P + s − 1, sample token s. */
  decode(s: number): void {
    const prev = this.#last!;
    const n = this.rows.length;
    this.#last = scope(() => {
      const pos = Int32Array.from(this.rows, (b) => this.prompts[b].length + s - 1);
      const logits = this.model.decodeStep(
        this.#cache,
        prev.reshape([n, 1]),
        tensor(pos, [n, 1]),
        this.#mask,
        this.#P + s - 1,
      );
      return keep(this.#pick(logits, s));
    });
    prev.dispose();
  }

  /** Read back every step's ids and logprobs so far: [maxNew, rows] each (one queue wait). */
  async read(): Promise<[Int32Array, Float32Array]> {
    const [ids, logprobs] = await readAll([this.#outIds, this.#outLogprobs]);
    return [ids as Int32Array, logprobs as Float32Array];
  }

  /**
   * Keep only the `live` rows (prompt indices, in row order) in the cache, the mask, the last
   * ids and fresh output buffers (steps already read need not be kept).
   */
  compact(live: number[]): void {
    const keepRows = live.map((b) => this.rows.indexOf(b));
    const n = live.length, maxT = this.#maxT;
    const next = createKVCache(this.model.cfg, n, maxT);
    this.#cache.layers.forEach((layer, l) => copyKVRows(layer, next.layers[l], keepRows));
    const last = keep(empty([n], "i32"));
    keepRows.forEach((r, i) => copyInto(this.#last!, last, r, i, 1));
    const mask = new Float32Array(n * maxT);
    live.forEach((b, i) => mask.set(this.#cacheMask.subarray(b * maxT, (b + 1) * maxT), i * maxT));
    this.dispose();
    this.#cache = next;
    this.#mask = keep(tensor(mask, [n, maxT]));
    this.#outIds = keep(empty([this.maxNew, n], "i32"));
    this.#outLogprobs = keep(empty([this.maxNew, n]));
    this.#last = last;
    this.rows = live;
  }

  /** Release every GPU buffer the batch holds. */
  dispose(): void {
    this.#last?.dispose();
    this.#last = undefined;
    this.#cache.dispose();
    for (const t of [this.#mask, this.#outIds, this.#outLogprobs]) t.dispose();
  }

  /** Sample from logits [rows, V]; store ids and logprobs at step s of the output buffers. */
  #pick(logits: Tensor, s: number): Tensor {
    const n = logits.shape[0];
    const seqIds = this.rows.map((b) => this.sampling.seqIds[b]);
    const r = sample(logits, { ...this.sampling, seqIds, step: s });
    copyInto(r.tokens, this.#outIds, 0, s * n, n);
    copyInto(r.logprobs, this.#outLogprobs, 0, s * n, n);
    return r.tokens;
  }
}

function hasStop(tail: string, stops: string[]): boolean {
  return stops.some((st) => tail.includes(st));
}

/** Cut `text` just after the earliest stop string (kept, as ORZ keeps `</answer>`). */
export function cutAtStop(text: string, stops: string[]): string {
  let cut = -1;
  for (const st of stops) {
    const i = text.indexOf(st);
    if (i >= 0 && (cut < 0 || i + st.length < cut)) cut = i + st.length;
  }
  return cut < 0 ? text : text.slice(0, cut);
}
