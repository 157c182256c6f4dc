/**
 * From a resolved config to the things a run trains: the tokenizer, the policy, the critic
 * (PPO only) and the reference (only when `kl.mode` ≠ none), the train and eval problems,
 * and the prompt encoder. A resume loads the policy and critic from its checkpoint instead
 * of the base.
 *
 * @module
 */
import { clone } from "../kernels/core/autograd.ts";
import { keep, type Tensor } from "../kernels/core/tensor.ts";
import { loadModel } from "../models/checkpoint.ts";
import { Critic } from "../models/critic.ts";
import { type ModelConfig, parseHfConfig } from "../models/hf_config.ts";
import type { z } from "zod";
import { CharTokenizer, loadTokenizer, type Tokenizer } from "../models/tokenizer.ts";
import { Transformer } from "../models/transformer.ts";
import { loadProblems } from "../data/loaders.ts";
import { syntheticAlphabet, syntheticProblems } from "../data/synthetic.ts";
import { orzPrompt } from "../data/template.ts";
import type { Problem } from "../data/types.ts";
import type { RunConfig } from "../config.ts";
import { ConfigError, type ModelShapeSchema } from "../config.ts";
import { STREAM, streamSeed } from "./seeds.ts";
import { algorithms } from "./registry.ts";

export interface RunModels {
  tokenizer: Tokenizer;
  policy: Transformer;
  critic: Critic | null;
  ref: Transformer | null;
}

/** A copy of a model in fresh buffers (the critic's trunk and the reference start as the base). */
export function cloneModel(m: Transformer): Transformer {
  const params = new Map<string, Tensor>();
  for (const [n, t] of m.params) params.set(n, keep(clone(t)));
  return new Transformer(m.cfg, params);
}

/** The character tokenizer of a synthetic task (specials: pad 0, eos 1). */
export function taskTokenizer(
  task: NonNullable<RunConfig["data"]["train"]["task"]>,
): CharTokenizer {
  return CharTokenizer.fromAlphabet(syntheticAlphabet(task), { specials: ["<pad>", "<eos>"] });
}

/** The Hugging Face config of a new Llama of `shape` over `tokenizer`'s vocabulary. */
export function llamaConfig(
  shape: z.infer<typeof ModelShapeSchema>,
  tokenizer: Tokenizer,
  label: string,
): ModelConfig {
  return parseHfConfig({
    model_type: "llama",
    vocab_size: tokenizer.vocabSize,
    hidden_size: shape.hidden_size,
    intermediate_size: shape.intermediate_size,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kv_heads,
    rms_norm_eps: 1e-6,
    rope_theta: shape.rope_theta,
    tie_word_embeddings: shape.tie_embeddings,
    eos_token_id: tokenizer.eosTokenId,
    pad_token_id: tokenizer.padTokenId,
  }, label);
}

/** Build (or, with `checkpoint`, reload) the run's models. */
export async function buildModels(cfg: RunConfig, checkpoint: string | null): Promise<RunModels> {
  const usesCritic = algorithms[cfg.algorithm].usesCritic;
  const klOn = cfg.kl.mode !== "none";
  const headStd = (h: number) => 1 / (h + 1); // ORZ: orz/ppo/models.py:569-577
  const headSeed = streamSeed(cfg.run.seed, STREAM.critic_head);
  if (cfg.model.path) {
    const path = cfg.model.path;
    const tokenizer = await loadTokenizer(path);
    const policy = await loadModel(checkpoint ? `${checkpoint}/policy` : path);
    const critic = !usesCritic
      ? null
      : checkpoint
      ? await Critic.load(`${checkpoint}/critic`)
      : await Critic.fromBase(path, { seed: headSeed, std: headStd(policy.cfg.hiddenSize) });
    const ref = klOn ? await loadModel(path) : null;
    return { tokenizer, policy, critic, ref };
  }
  const init = cfg.model.init!;
  const tokenizer = taskTokenizer(cfg.data.train.task!);
  const modelCfg = llamaConfig(init, tokenizer, "model.init");
  const base = Transformer.random(modelCfg, { seed: streamSeed(cfg.run.seed, STREAM.init) });
  const policy = checkpoint ? await loadModel(`${checkpoint}/policy`) : cloneModel(base);
  const critic = !usesCritic
    ? null
    : checkpoint
    ? await Critic.load(`${checkpoint}/critic`)
    : Critic.fromTrunk(cloneModel(base), { seed: headSeed, std: headStd(init.hidden_size) });
  const ref = klOn ? base : null;
  if (!ref) base.dispose();
  return { tokenizer, policy, critic, ref };
}

type Dataset = NonNullable<RunConfig["data"]["eval"]>;

/** The problems of a dataset config (`split` picks the synthetic side). */
export async function loadDataset(
  d: Dataset,
  split: "train" | "heldout",
  seed: number,
): Promise<Problem[]> {
  if (d.task) {
    return syntheticProblems(d.task, { split, difficulty: d.difficulty, count: d.count, seed });
  }
  return await loadProblems(d.path!, {
    format: d.format,
    question: d.question ?? undefined,
    answer: d.answer ?? undefined,
    limit: d.limit ?? undefined,
  });
}

/** Prompt ids of each problem (cached), with the configured template; too long is an error. */
export function promptEncoder(cfg: RunConfig, tokenizer: Tokenizer): (p: Problem) => number[] {
  const cache = new Map<string, number[]>();
  return (p) => {
    let ids = cache.get(p.id);
    if (!ids) {
      try {
        ids = tokenizer.encode(orzPrompt(p.question, { style: cfg.rollout.template }));
      } catch (e) {
        throw new ConfigError(
          `problem ${p.id}: cannot tokenize its prompt (${(e as Error).message})`,
        );
      }
      if (ids.length > cfg.rollout.max_prompt_tokens) {
        throw new ConfigError(
          `problem ${p.id}: prompt is ${ids.length} tokens, over rollout.max_prompt_tokens = ` +
            `${cfg.rollout.max_prompt_tokens}`,
        );
      }
      cache.set(p.id, ids);
    }
    return ids;
  };
}
