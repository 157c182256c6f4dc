/**
 * generate()'s edge cases: several compactions of the live batch in one run (tokens and
 * logprobs against full forwards), stop strings that complete in the middle of a readback
 * window (and in the middle of a token's text), and a rollout of a trainable model that
 * must leave nothing on the autograd tape across its awaits.
 */
import { noGrad, tapeLength } from "../../kernels/core/autograd.ts";
import { scope, tensor } from "../../kernels/core/tensor.ts";
import { cutAtStop, generate, type Generation } from "../../models/generate.ts";
import { parseHfConfig } from "../../models/hf_config.ts";
import { Transformer } from "../../models/transformer.ts";
import { assert, gpuReady } from "../helpers.ts";

await gpuReady;

const cfg = parseHfConfig({
  model_type: "qwen2",
  vocab_size: 40,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: false,
});
const V = cfg.vocabSize;
const model = Transformer.random(cfg, { seed: 33, std: 0.3 });

const PROMPTS = [
  [1, 2],
  [3, 4, 5],
  [6],
  [7, 8, 9, 10],
  [11, 12],
  [13, 14, 15],
  [16, 17],
  [18],
];

/** Logits [L, V] of one unpadded sequence from a single full forward. */
async function fullLogits(seq: number[]): Promise<Float32Array> {
  const out = noGrad(() =>
    scope(() =>
      model.forward({
        ids: tensor(Int32Array.from(seq), [1, seq.length]),
        positions: tensor(Int32Array.from(seq, (_, i) => i), [1, seq.length]),
      })
    )
  );
  const all = (await out.read()) as Float32Array;
  out.dispose();
  return all;
}

/** log softmax(row / T)[id] in float64 (T = 0 scores like T = 1, as the sampler does). */
function logSoftmax(row: ArrayLike<number>, id: number, T: number): number {
  const t = T > 0 ? T : 1;
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) max = Math.max(max, row[j] / t);
  let z = 0;
  for (let j = 0; j < row.length; j++) z += Math.exp(row[j] / t - max);
  return row[id] / t - max - Math.log(z);
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * How many times generate() compacts the live batch when row b ends after token `ends[b]`
 * (−1: never), per its documented rule: at each readback (every `checkEvery` steps) the
 * finished rows are dropped once at most 3/4 of the rows are still live.
 */
function compactions(ends: number[], maxNew: number, checkEvery: number): number {
  let rows = ends.length;
  let count = 0;
  for (let s = checkEvery; s < maxNew; s += checkEvery) {
    const live = ends.filter((e) => e < 0 || e >= s).length;
    if (live === 0) break;
    if (live <= rows * 0.75) (count++, rows = live);
  }
  return count;
}

/** First index at which each row's tokens hit one of `eos` (−1: never). */
function endsOf(free: Generation[], eos: number[]): number[] {
  return free.map((g) => g.tokens.findIndex((t) => eos.includes(t)));
}

/** The EOS pair (from the free run's tokens) that makes generate() compact most often. */
function pickEos(free: Generation[], maxNew: number, checkEvery: number): number[] {
  let best: number[] = [];
  let most = -1;
  for (let a = 0; a < V; a++) {
    for (let b = a; b < V; b++) {
      const n = compactions(endsOf(free, [a, b]), maxNew, checkEvery);
      if (n > most) (most = n, best = a === b ? [a] : [a, b]);
    }
  }
  return best;
}

for (const temperature of [0, 0.9]) {
  Deno.test(`several compactions in one run (T=${temperature}): tokens and logprobs equal full forwards`, async () => {
    const [maxNew, checkEvery] = [24, 2];
    const opts = { maxNewTokens: maxNew, temperature, seed: 7, checkEvery };
    const free = await generate(model, PROMPTS, opts);
    const eos = pickEos(free, maxNew, checkEvery);
    const ends = endsOf(free, eos);
    const n = compactions(ends, maxNew, checkEvery);
    assert.ok(n >= 3, `only ${n} compactions with EOS ${eos} (ends ${ends})`);
    const gens = await generate(model, PROMPTS, { ...opts, eosTokenIds: eos });
    let worst = 0;
    for (let b = 0; b < PROMPTS.length; b++) {
      const g = gens[b];
      // The row's own draws do not depend on the batch (counter-based sampler), so the run
      // without EOS, cut after the first EOS token, is the expected sequence.
      const want = ends[b] < 0 ? free[b].tokens : free[b].tokens.slice(0, ends[b] + 1);
      assert.deepEqual(g.tokens, want, `row ${b} tokens (EOS ${eos}, ends ${ends})`);
      assert.equal(g.finish, ends[b] < 0 ? "length" : "stop", `row ${b} finish`);
      assert.equal(g.logprobs.length, g.tokens.length, `row ${b}: one logprob per token`);
      // One full forward of prompt + tokens scores every generated token at once.
      const p = PROMPTS[b];
      const logits = await fullLogits([...p, ...g.tokens]);
      g.tokens.forEach((tok, s) => {
        const row = logits.subarray((p.length - 1 + s) * V, (p.length + s) * V);
        if (temperature === 0) assert.equal(tok, argmax(row), `row ${b} step ${s}: argmax`);
        const err = Math.abs(g.logprobs[s] - logSoftmax(row, tok, temperature));
        worst = Math.max(worst, err);
        assert.ok(err < 1e-4, `row ${b} step ${s}: logprob ${g.logprobs[s]}, error ${err}`);
      });
    }
    console.log(
      `compaction T=${temperature}: EOS ${eos}, ${n} compactions, ends ${ends}; ` +
        `max logprob error vs full forwards ${worst.toExponential(1)}`,
    );
  });
}

Deno.test("stop strings completing mid-window and mid-token cut tokens, logprobs and text there", async () => {
  const [maxNew, checkEvery] = [24, 8];
  const prompts = PROMPTS.slice(0, 3);
  // Two characters per token, so a stop string can end inside a token's text.
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
  const decode = (ids: number[]) =>
    ids.map((i) => `${alphabet[i]}${alphabet[(i * 7) % V]}`).join("");
  const opts = { maxNewTokens: maxNew, temperature: 0.9, seed: 11, checkEvery };
  const free = await generate(model, prompts, opts);
  const texts = free.map((g) => decode(g.tokens));
  /** The token at which `stops` first completes in row b's free text (−1: never). */
  const completion = (b: number, stops: string[]) =>
    free[b].tokens.findIndex((_, s) =>
      stops.some((st) => decode(free[b].tokens.slice(0, s + 1)).includes(st))
    );
  // Row 0: a stop string from token 6's text to the first character of token 9 (it starts in
  // the first window and completes inside the second, mid-token); row 1: one ending inside
  // the third window. Candidates are shifted until both complete strictly inside a window.
  let stops: string[] = [];
  let at: number[] = [];
  for (let shift = 0; shift < 6 && !(at[0] % checkEvery > 0 && at[1] % checkEvery > 0); shift++) {
    stops = [texts[0].slice(12 + 2 * shift, 19 + 2 * shift), texts[1].slice(34, 39)];
    at = prompts.map((_, b) => completion(b, stops));
  }
  for (const b of [0, 1]) {
    assert.ok(
      at[b] >= 0 && at[b] % checkEvery !== checkEvery - 1,
      `row ${b}: stop completes at ${at[b]}, not strictly inside a readback window`,
    );
  }
  const gens = await generate(model, prompts, { ...opts, stopStrings: stops, decode });
  gens.forEach((g, b) => {
    const n = at[b] < 0 ? maxNew : at[b] + 1;
    assert.deepEqual(g.tokens, free[b].tokens.slice(0, n), `row ${b} tokens`);
    assert.equal(g.logprobs.length, n, `row ${b} logprobs length`);
    g.logprobs.forEach((lp, s) =>
      assert.ok(Math.abs(lp - free[b].logprobs[s]) < 1e-5, `row ${b} logprob ${s}`)
    );
    assert.equal(g.finish, at[b] < 0 ? "length" : "stop");
    assert.equal(g.text, cutAtStop(texts[b], stops), `row ${b} text`);
    if (at[b] >= 0) {
      assert.ok(stops.some((st) => g.text.endsWith(st)), `row ${b}: text ends with its stop`);
    }
  });
  console.log(
    `stop strings ${JSON.stringify(stops)}: rows end at tokens ${at} (checkEvery ${checkEvery})`,
  );
});

Deno.test("a rollout of a trainable model records nothing on the tape across its readbacks", async () => {
  const trainable = Transformer.random(cfg, { seed: 5, std: 0.3 }).setTrainable(true);
  assert.equal(tapeLength(), 0);
  const gens = await generate(trainable, PROMPTS.slice(0, 3), {
    maxNewTokens: 12,
    temperature: 1,
    seed: 2,
    checkEvery: 4, // three readbacks, so most of the decode steps run after an await
  });
  assert.ok(gens.every((g) => g.tokens.length === 12));
  assert.equal(tapeLength(), 0, "generate() recorded ops on the autograd tape");
  assert.ok(trainable.parameters().every((p) => p.requiresGrad && !p.grad));
  trainable.dispose();
});
