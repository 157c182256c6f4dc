/**
 * The rollout engine: batched sampling from a {@link Transformer} with a KV cache on the GPU.
 *
 * 1. Prompts are left-padded to one length P, so every sequence decodes at the same cache
 *    slot; pads are masked out of attention and positions count real tokens only.
 * 2. Prefill runs the whole prompt batch once, filling the cache, and samples token 0.
 * 3. Each decode step feeds the previous step's sampled ids (still on the GPU) back in,
 *    samples on the GPU and appends ids and logprobs to GPU buffers. Nothing is read back
 *    per token: every `checkEvery` steps one readback brings the new ids to the CPU, where
 *    EOS and stop strings are checked; generation ends when every sequence has finished.
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
  const P = Math.max(...prompts.map((p) => p.length));
  const maxT = P + maxNew;
  const checkEvery = Math.max(1, opts.checkEvery ?? 16);
  const eos = new Set(opts.eosTokenIds ?? []);
  const stops = opts.stopStrings ?? [];
  if (stops.length > 0 && !opts.decode) {
    throw new Error("generate: stopStrings need a decode function");
  }

  // 1. Left-pad; positions count real tokens; the cache mask marks pad slots 0.
  const ids = new Int32Array(B * P);
  const positions = new Int32Array(B * P);
  const cacheMask = new Float32Array(B * maxT).fill(1);
  prompts.forEach((p, b) => {
    const pad = P - p.length;
    for (let j = 0; j < P; j++) {
      ids[b * P + j] = j < pad ? 0 : p[j - pad];
      positions[b * P + j] = j < pad ? 0 : j - pad;
      if (j < pad) cacheMask[b * maxT + j] = 0;
    }
  });
  const promptMask = Float32Array.from(
    { length: B * P },
    (_, i) => cacheMask[Math.floor(i / P) * maxT + (i % P)],
  );
  const sampling = {
    temperature: opts.temperature ?? 1,
    topK: opts.topK,
    topP: opts.topP,
    seed: opts.seed ?? 0,
  };

  const results: Generation[] = prompts.map(() => ({
    tokens: [],
    logprobs: [],
    text: "",
    finish: "length",
  }));
  const done = new Array<boolean>(B).fill(false);
  const seqIds = opts.seqIds ?? prompts.map((_, b) => b);

  await noGradAsync(async () => {
    // The live batch: `rows[r]` is the prompt index decoded in row r. Finished rows are
    // dropped from every GPU buffer at check points (see `compact`), so they stop costing.
    let rows = prompts.map((_, b) => b);
    let cache: KVCache = createKVCache(model.cfg, B, maxT);
    let maskT = keep(tensor(cacheMask, [B, maxT]));
    let outIds = keep(empty([maxNew, B], "i32"));
    let outLogprobs = keep(empty([maxNew, B]));
    const sampleOpts = () => ({ ...sampling, seqIds: rows.map((b) => seqIds[b]) });
    let last: Tensor | undefined;
    const packedHere = model.packWeights();
    try {
      // 2. Prefill: the prompt's last position gives token 0.
      last = scope(() => {
        const logits = model.prefill(cache, {
          ids: tensor(ids, [B, P]),
          positions: tensor(positions, [B, P]),
          keyMask: tensor(promptMask, [B, P]),
          idsCpu: ids,
        }, maskT);
        return keep(pick(logits, sampleOpts(), 0, outIds, outLogprobs));
      });
      let checked = 0;
      for (let s = 1; s <= maxNew; s++) {
        // 4. Every `checkEvery` steps (and at the end), read the new ids and check stops.
        if (s - checked >= checkEvery || s === maxNew) {
          await collect(checked, s);
          checked = s;
          if (done.every(Boolean) || s === maxNew) break;
          const live = rows.filter((b) => !done[b]);
          if (live.length <= rows.length * 0.75) compact(live);
        }
        // 3. One decode step at cache slot P + s − 1.
        const prev: Tensor = last;
        const n = rows.length;
        last = scope(() => {
          const pos = Int32Array.from(rows, (b) => prompts[b].length + s - 1);
          const logits = model.decodeStep(
            cache,
            prev.reshape([n, 1]),
            tensor(pos, [n, 1]),
            maskT,
            P + s - 1,
          );
          return keep(pick(logits, sampleOpts(), s, outIds, outLogprobs));
        });
        prev.dispose();
      }
    } finally {
      if (packedHere) model.unpackWeights();
      last?.dispose();
      cache.dispose();
      maskT.dispose();
      outIds.dispose();
      outLogprobs.dispose();
    }

    async function collect(from: number, to: number) {
      const [idsRead, lpRead] = await readAll([outIds, outLogprobs]);
      const n = rows.length;
      rows.forEach((b, r) => {
        const res = results[b];
        for (let s = from; s < to && !done[b]; s++) {
          const id = idsRead[s * n + r];
          res.tokens.push(id);
          res.logprobs.push(lpRead[s * n + r]);
          if (eos.has(id)) finish(b);
          else if (stops.length > 0 && hasStop(opts.decode!(res.tokens.slice(-64)), stops)) {
            finish(b);
          }
        }
      });
    }

    /** Keep only the `live` rows in the cache, mask, last tokens and output buffers. */
    function compact(live: number[]) {
      const keepRows = live.map((b) => rows.indexOf(b));
      const n = live.length;
      const next = createKVCache(model.cfg, n, maxT);
      cache.layers.forEach((layer, l) => {
        const rowSize = layer.k.size / rows.length;
        keepRows.forEach((r, i) => {
          copyInto(layer.k, next.layers[l].k, r * rowSize, i * rowSize, rowSize);
          copyInto(layer.v, next.layers[l].v, r * rowSize, i * rowSize, rowSize);
        });
      });
      const lastKept = keep(empty([n], "i32"));
      keepRows.forEach((r, i) => copyInto(last!, lastKept, r, i, 1));
      const mask = new Float32Array(n * maxT);
      live.forEach((b, i) => mask.set(cacheMask.subarray(b * maxT, (b + 1) * maxT), i * maxT));
      for (const t of [maskT, outIds, outLogprobs, last!]) t.dispose();
      cache.dispose();
      cache = next;
      maskT = keep(tensor(mask, [n, maxT]));
      outIds = keep(empty([maxNew, n], "i32"));
      outLogprobs = keep(empty([maxNew, n]));
      last = lastKept;
      rows = live;
    }
    function finish(b: number) {
      done[b] = true;
      results[b].finish = "stop";
    }
  });
  for (const r of results) r.text = opts.decode ? cutAtStop(opts.decode(r.tokens), stops) : "";
  return results;
}

/** Sample from logits [B, V] and store ids/logprobs at row `s` of the output buffers. */
function pick(
  logits: Tensor,
  sampling: { temperature: number; topK?: number; topP?: number; seed: number; seqIds: number[] },
  s: number,
  outIds: Tensor,
  outLogprobs: Tensor,
): Tensor {
  const B = logits.shape[0];
  const r = sample(logits, { ...sampling, step: s });
  copyInto(r.tokens, outIds, 0, s * B, B);
  copyInto(r.logprobs, outLogprobs, 0, s * B, B);
  return r.tokens;
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
