/**
 * Whole-model gradients. For a tied Qwen2 model (GQA, q/k/v bias) and an untied Llama model
 * (GQA, q/k/v/o bias), the GPU's backward of each training loss — cross-entropy, the PPO
 * clipped surrogate (temperature, KL-in-loss and entropy bonus included) and the critic's
 * clipped value loss — is compared with central finite differences of the same loss computed
 * in float64 by the independent CPU forward (reference_forward.ts), on a sampled set of
 * elements of every parameter tensor. A gradient that misses a path (a detached LM head on a
 * tied embedding, a bias without a backward, a branch of the clip) shows up here and nowhere
 * else in the suite.
 */
import { Packed } from "../../algorithms/batch.ts";
import { aggregationWeights, policyLoss, valueLoss } from "../../algorithms/losses.ts";
import { backward } from "../../kernels/core/autograd.ts";
import { crossEntropy, logprobsAndEntropy } from "../../kernels/reduce/logprobs.ts";
import { keep, readAll, scope, type Tensor, tensor } from "../../kernels/core/tensor.ts";
import { Critic } from "../../models/critic.ts";
import { expectedTensorShapes, type ModelConfig, parseHfConfig } from "../../models/hf_config.ts";
import { Transformer } from "../../models/transformer.ts";
import { assert, f32round, gpuReady, randn, rng } from "../helpers.ts";
import { referenceLogits, referenceLogprobs, referenceValues } from "./reference_forward.ts";

await gpuReady;

const TIED = parseHfConfig({
  model_type: "qwen2",
  vocab_size: 40,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rope_theta: 1e6,
  tie_word_embeddings: true,
});
const UNTIED = parseHfConfig({
  model_type: "llama",
  vocab_size: 40,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 1,
  attention_bias: true,
  tie_word_embeddings: false,
});

/** Three trajectories of different lengths, so the packed batch is right-padded. */
const TRAJS = [
  { prompt: [3, 17, 5], response: [9, 2, 30, 11] },
  { prompt: [1, 8, 22, 4, 6], response: [13] },
  { prompt: [25, 7], response: [19, 0, 36] },
];
const TOKENS = TRAJS.reduce((s, t) => s + t.response.length, 0);
const TEMPERATURE = 0.7;
const CLIP = { low: 0.2, high: 0.28 };
const KL_COEF = 0.3;
const ENTROPY_COEF = 0.1;
const VALUE_CLIP = 0.2;
/** Elements sampled per parameter tensor (all of them when a tensor is smaller). */
const SAMPLES = 6;
/** Finite-difference step: the float64 loss is smooth here, so h² truncation is ~1e-10. */
const H = 1e-5;

type Weights = Map<string, Float64Array>;
type LossKind = "cross-entropy" | "policy" | "value";

/** f32-representable random parameters: norms near 1, biases and weights O(0.25). */
function randomWeights(cfg: ModelConfig, seed: number, critic: boolean): Weights {
  const w: Weights = new Map();
  let k = 0;
  for (const [name, shape] of Object.entries(expectedTensorShapes(cfg))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const noise = randn(n, seed + 97 * k++);
    const values = name.endsWith("norm.weight")
      ? noise.map((x) => 1 + 0.2 * x)
      : noise.map((x) => 0.25 * x);
    w.set(name, f32round(values));
  }
  if (critic) w.set("score.weight", f32round(randn(cfg.hiddenSize, seed + 5, 0.5)));
  return w;
}

function uploadParams(cfg: ModelConfig, w: Weights): Map<string, Tensor> {
  const shapes = expectedTensorShapes(cfg);
  return new Map(
    Object.entries(shapes).map(([n, s]) => [n, keep(tensor(Float32Array.from(w.get(n)!), s))]),
  );
}

/** float64 per response token (in trajectory order): logprob and entropy at temperature `T`. */
function refScores(cfg: ModelConfig, w: Weights, T: number) {
  const lp: number[] = [];
  const ent: number[] = [];
  for (const { prompt, response } of TRAJS) {
    const all = [...prompt, ...response];
    const ids = all.slice(0, -1);
    const logits = referenceLogits(cfg, (n) => w.get(n)!, ids);
    const targets = ids.map((_, t) => (t >= prompt.length - 1 ? all[t + 1] : -1));
    const r = referenceLogprobs(logits, cfg.vocabSize, targets, T);
    for (let j = 0; j < response.length; j++) {
      lp.push(r.logprobs[prompt.length - 1 + j]);
      ent.push(r.entropy[prompt.length - 1 + j]);
    }
  }
  return { lp, ent };
}

/** float64 critic values per response token (the state before each token). */
function refValues(cfg: ModelConfig, w: Weights): number[] {
  return TRAJS.flatMap(({ prompt, response }) => {
    const ids = [...prompt, ...response].slice(0, -1);
    const v = referenceValues(cfg, (n) => w.get(n)!, w.get("score.weight")!, ids);
    return Array.from(v.subarray(prompt.length - 1, prompt.length - 1 + response.length));
  });
}

/**
 * The constants of the RL losses, placed at the base weights so that every token sits well
 * inside one branch of each clip and max (FD never straddles a kink): ratios 0.6 / 0.93 /
 * 1.12 / 1.5 with advantages of both signs (clipped and unclipped tokens), value moves of
 * ±0.35 (clipped) and ±0.05 (inside) with returns on both sides.
 */
interface Constants {
  oldLogprobs: number[];
  refLogprobs: number[];
  advantages: number[];
  oldValues: number[];
  returns: number[];
  /** Aggregation weight per response token. */
  policyWeights: number[];
}

function constants(cfg: ModelConfig, w: Weights): Constants {
  const { lp } = refScores(cfg, w, TEMPERATURE);
  const ratios = [0.6, 0.93, 1.12, 1.5, 0.7];
  const adv = [1.3, -0.8, 0.6, -1.1, -0.5, 0.9, 1.7];
  const values = w.has("score.weight") ? refValues(cfg, w) : lp.map(() => 0);
  const moves = [0.35, -0.05, -0.35, 0.05, 0.35, -0.35];
  const rets = [0.5, -0.5, 0.6, 0.4, -0.5, 0.5, -0.7];
  const perSeq = aggregationWeights(
    TRAJS.map((t) => t.response.length),
    "seq_mean_token_mean",
    8,
  );
  return {
    oldLogprobs: lp.map((v, i) => v - Math.log(ratios[i % ratios.length])),
    refLogprobs: lp.map((v, i) => v + (i % 2 ? 0.4 : -0.3)),
    advantages: lp.map((_, i) => adv[i % adv.length]),
    oldValues: values.map((v, i) => v - moves[i % moves.length]),
    returns: values.map((v, i) => v + rets[i % rets.length]),
    policyWeights: TRAJS.flatMap((t, b) => t.response.map(() => perSeq[b])),
  };
}

/** The whole loss in float64, from the weights alone (the FD target). */
function refLoss(kind: LossKind, cfg: ModelConfig, w: Weights, c: Constants): number {
  if (kind === "cross-entropy") {
    const { lp } = refScores(cfg, w, 1);
    return -lp.reduce((a, b) => a + b, 0) / lp.length;
  }
  if (kind === "policy") {
    const { lp, ent } = refScores(cfg, w, TEMPERATURE);
    let loss = 0;
    lp.forEach((l, i) => {
      const rho = Math.exp(l - c.oldLogprobs[i]);
      const a = c.advantages[i];
      const clipped = Math.min(Math.max(rho, 1 - CLIP.low), 1 + CLIP.high);
      const r = l - c.refLogprobs[i];
      const k3 = Math.expm1(-r) + r;
      const perToken = -Math.min(rho * a, clipped * a) + KL_COEF * k3 - ENTROPY_COEF * ent[i];
      loss += c.policyWeights[i] * perToken;
    });
    return loss;
  }
  let loss = 0;
  refValues(cfg, w).forEach((v, i) => {
    const old = c.oldValues[i];
    const vc = old + Math.min(Math.max(v - old, -VALUE_CLIP), VALUE_CLIP);
    const ret = c.returns[i];
    loss += 0.5 * Math.max((vc - ret) ** 2, (v - ret) ** 2) / TOKENS;
  });
  return loss;
}

/** The same loss on the GPU, as the learner builds it; returns the loss after backward. */
async function gpuLoss(
  kind: LossKind,
  model: Transformer,
  critic: Critic | null,
  c: Constants,
): Promise<number> {
  const p = new Packed(TRAJS);
  const N = p.B * p.T;
  const spread = (x: number[]) => {
    let k = 0;
    return tensor(p.spread(TRAJS.map((t) => t.response.map(() => x[k++]))), [N]);
  };
  const loss = scope(() => {
    let l: Tensor;
    if (kind === "value") {
      const values = critic!.values(p.batch()).reshape([N]);
      l = valueLoss({
        values,
        oldValues: spread(c.oldValues),
        returns: spread(c.returns),
        weights: tensor(p.spreadScalar(TRAJS.map(() => 1 / TOKENS)), [N]),
        clip: VALUE_CLIP,
      });
    } else {
      const logits = model.forward(p.batch()).reshape([N, model.cfg.vocabSize]);
      if (kind === "cross-entropy") l = crossEntropy(logits, p.targetTensor());
      else {
        const { logprobs, entropy } = logprobsAndEntropy(logits, p.targetTensor(), {
          temperature: TEMPERATURE,
        });
        l = policyLoss({
          logprobs,
          oldLogprobs: spread(c.oldLogprobs),
          advantages: spread(c.advantages),
          weights: spread(c.policyWeights),
          clipLow: CLIP.low,
          clipHigh: CLIP.high,
          entropy: { values: entropy, coef: ENTROPY_COEF },
          kl: { refLogprobs: spread(c.refLogprobs), estimator: "k3", coef: KL_COEF },
        }).loss;
      }
    }
    backward(l);
    return l;
  });
  const [v] = await loss.read();
  loss.dispose();
  return v;
}

/**
 * Check every parameter tensor of the model (or critic) against float64 central differences
 * of `kind`'s loss on `SAMPLES` random elements each. Per element the GPU gradient must be
 * within 1e-3 relative plus 1e-3 of the largest sampled derivative of its tensor (f32
 * backward through two layers is ~1e-5 of that; a missing or doubled path is O(1)).
 */
async function checkWholeModel(cfg: ModelConfig, kind: LossKind, seed: number) {
  const withCritic = kind === "value";
  const w = randomWeights(cfg, seed, withCritic);
  const model = new Transformer(cfg, uploadParams(cfg, w));
  const critic = withCritic
    ? new Critic(
      model,
      keep(tensor(Float32Array.from(w.get("score.weight")!), [1, cfg.hiddenSize])),
    )
    : null;
  (critic ?? model).setTrainable(true);
  const params = critic
    ? [...model.params.entries()].filter(([, t]) => critic.parameters().includes(t))
      .concat([["score.weight", critic.head]])
    : [...model.params.entries()];
  const c = constants(cfg, w);
  const got = await gpuLoss(kind, model, critic, c);
  const want = refLoss(kind, cfg, w, c);
  const lossErr = Math.abs(got - want) / Math.max(Math.abs(want), 1e-6);
  assert.ok(lossErr < 1e-4, `${kind} loss ${got} vs float64 ${want}`);
  const grads = await readAll(params.map(([n, t]) => {
    assert.ok(t.grad, `${kind}: ${n} received no gradient`);
    return t.grad!;
  }));
  const r = rng(seed + 1);
  let worst = { err: 0, what: "" };
  params.forEach(([name], i) => {
    const x = w.get(name)!;
    const picks = new Set<number>();
    while (picks.size < Math.min(SAMPLES, x.length)) picks.add(Math.floor(r() * x.length));
    const fd = [...picks].map((k) => {
      const keepValue = x[k];
      x[k] = keepValue + H;
      const plus = refLoss(kind, cfg, w, c);
      x[k] = keepValue - H;
      const minus = refLoss(kind, cfg, w, c);
      x[k] = keepValue;
      return { k, want: (plus - minus) / (2 * H) };
    });
    const scale = Math.max(...fd.map((f) => Math.abs(f.want)), 1e-9);
    for (const { k, want } of fd) {
      const g = grads[i][k];
      const err = Math.abs(g - want);
      if (!(err <= 1e-3 * Math.abs(want) + 1e-3 * scale)) {
        assert.fail(
          `${kind} (${cfg.modelType}, ${cfg.tieWordEmbeddings ? "tied" : "untied"}): ` +
            `d loss / d ${name}[${k}] = ${g} on the GPU, ${want} by float64 finite ` +
            `differences (largest sampled derivative of this tensor ${scale.toExponential(2)})`,
        );
      }
      if (err / scale > worst.err) worst = { err: err / scale, what: `${name}[${k}]` };
    }
  });
  console.log(
    `${kind}, ${cfg.modelType} ${cfg.tieWordEmbeddings ? "tied" : "untied"}: ${params.length} ` +
      `tensors × ≤${SAMPLES} elements; loss err ${lossErr.toExponential(1)}, worst grad err ` +
      `${worst.err.toExponential(1)} of its tensor's scale (${worst.what})`,
  );
  if (critic) critic.dispose();
  else model.dispose();
}

for (
  const [label, cfg, seed] of [["tied qwen2", TIED, 101], ["untied llama", UNTIED, 202]] as const
) {
  for (const kind of ["cross-entropy", "policy", "value"] as const) {
    Deno.test(`whole-model gradient of the ${kind} loss, ${label}: every tensor vs float64 FD`, () =>
      checkWholeModel(cfg, kind, seed));
  }
}
