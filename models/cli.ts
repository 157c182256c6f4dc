/**
 * `deno task logits` and `deno task generate`: parity and smoke tools over a Hugging Face
 * checkpoint directory.
 *
 *   deno task logits --model DIR --ids 3,4,5
 *   deno task generate --model DIR (--prompt "..." | --ids 3,4,5) [--greedy]
 *       [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--json]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { noGrad } from "../kernels/core/autograd.ts";
import { initGpu } from "../kernels/core/device.ts";
import { scope, tensor } from "../kernels/core/tensor.ts";
import { loadModel } from "./checkpoint.ts";
import { generate } from "./generate.ts";
import { loadTokenizer, type Tokenizer } from "./tokenizer.ts";

function parseIds(text: string, vocab: number): number[] {
  const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const bad = ids.find((v) => !Number.isInteger(v) || v < 0 || v >= vocab);
  if (ids.length === 0 || bad !== undefined) {
    throw new Error(`--ids: expected comma-separated token ids in [0, ${vocab}), got "${text}"`);
  }
  return ids;
}

/** The checkpoint's tokenizer, or undefined when it has none (a broken one is an error). */
async function tryTokenizer(dir: string): Promise<Tokenizer | undefined> {
  const has = async (f: string) => await Deno.stat(`${dir}/${f}`).then(() => true, () => false);
  if (!(await has("tokenizer.json")) && !(await has("tokenizer_config.json"))) return undefined;
  return await loadTokenizer(dir);
}

/** `logits`: JSON `{"logits": [[...V], ...]}`, one row per position. */
export async function logitsMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { model: { type: "string" }, ids: { type: "string" } },
  });
  if (!values.model || !values.ids) {
    console.error("usage: deno task logits --model DIR --ids 3,4,5");
    return 2;
  }
  await initGpu();
  const model = await loadModel(values.model);
  const ids = parseIds(values.ids, model.cfg.vocabSize);
  const out = noGrad(() =>
    scope(() =>
      model.forward({
        ids: tensor(Int32Array.from(ids), [1, ids.length]),
        positions: tensor(Int32Array.from(ids, (_, i) => i), [1, ids.length]),
        idsCpu: Int32Array.from(ids),
      })
    )
  );
  const data = await out.read();
  const V = model.cfg.vocabSize;
  const rows = ids.map((_, t) => Array.from(data.subarray(t * V, (t + 1) * V)));
  console.log(JSON.stringify({ logits: rows }));
  return 0;
}

/** `generate`: print the continuation (text, or JSON with ids and finish reason). */
export async function generateMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      prompt: { type: "string" },
      ids: { type: "string" },
      greedy: { type: "boolean", default: false },
      "max-new-tokens": { type: "string", default: "32" },
      temperature: { type: "string", default: "1" },
      "top-k": { type: "string", default: "0" },
      "top-p": { type: "string", default: "1" },
      seed: { type: "string", default: "0" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.model || (values.prompt === undefined) === (values.ids === undefined)) {
    console.error(
      'usage: deno task generate --model DIR (--prompt "..." | --ids 3,4,5) [--greedy] [--max-new-tokens N] [--json]',
    );
    return 2;
  }
  const num = (key: keyof typeof values, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${key}: not a number: "${v}"`);
    return n;
  };
  // Flags first, so a typo fails before the GPU starts.
  const sampling = {
    maxNewTokens: num("max-new-tokens", values["max-new-tokens"]),
    temperature: values.greedy ? 0 : num("temperature", values.temperature),
    topK: num("top-k", values["top-k"]),
    topP: num("top-p", values["top-p"]),
    seed: num("seed", values.seed),
  };
  const tokenizer = await tryTokenizer(values.model);
  await initGpu();
  const model = await loadModel(values.model);
  let prompt: number[];
  if (values.ids !== undefined) prompt = parseIds(values.ids, model.cfg.vocabSize);
  else if (tokenizer) prompt = tokenizer.encode(values.prompt!);
  else {throw new Error(
      `--prompt needs a tokenizer in ${values.model} (tokenizer.json); pass --ids instead`,
    );}
  const eos = model.cfg.eosTokenId;
  const eosIds = [
    ...(Array.isArray(eos) ? eos : eos === null ? [] : [eos]),
    ...(tokenizer ? [tokenizer.eosTokenId] : []),
  ];
  const [gen] = await generate(model, [prompt], {
    ...sampling,
    eosTokenIds: [...new Set(eosIds)],
    decode: tokenizer ? (ids) => tokenizer.decode(ids) : undefined,
  });
  if (values.json) {
    console.log(
      JSON.stringify({
        text: gen.text,
        ids: gen.tokens,
        logprobs: gen.logprobs,
        finish: gen.finish,
      }),
    );
  } else {
    console.log(tokenizer ? gen.text : gen.tokens.join(","));
  }
  return 0;
}
