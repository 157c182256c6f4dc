/**
 * The critic: its own transformer trunk (initialised from a base checkpoint, as ORZ does)
 * plus a bias-free scalar value head, giving one value per token.
 *
 * The head is stored as `score.weight` [1, H] (Hugging Face's name for
 * `*ForTokenClassification`/reward-model heads), so a saved critic is a normal checkpoint
 * plus one tensor.
 *
 * @module
 */
import { mul } from "../kernels/elementwise/elementwise.ts";
import { sum } from "../kernels/reduce/reduce.ts";
import { keep, scope, type Tensor, tensor } from "../kernels/core/tensor.ts";
import { loadParams, type SaveOptions, saveParams } from "./checkpoint.ts";
import { loadHfConfigFile, type ModelConfig } from "./hf_config.ts";
import { normalSamples, seededUniform } from "./init.ts";
import { type SequenceBatch, Transformer } from "./transformer.ts";

export const VALUE_HEAD = "score.weight";

export class Critic {
  constructor(readonly trunk: Transformer, readonly head: Tensor) {
    if (head.shape.join() !== `1,${trunk.cfg.hiddenSize}`) {
      throw new Error(
        `critic: ${VALUE_HEAD} has shape [${head.shape}], want [1, ${trunk.cfg.hiddenSize}]`,
      );
    }
  }

  /** A critic on `trunk` with a randomly initialised head (N(0, std²), seeded). */
  static fromTrunk(trunk: Transformer, { seed = 0, std = 0.02 } = {}): Critic {
    const h = trunk.cfg.hiddenSize;
    return new Critic(trunk, keep(tensor(normalSamples(h, std, seededUniform(seed)), [1, h])));
  }

  /** A critic whose trunk is loaded from a base checkpoint directory (head random). */
  static async fromBase(dir: string, opts: { seed?: number; std?: number } = {}): Promise<Critic> {
    const cfg = await loadHfConfigFile(`${dir}/config.json`);
    return Critic.fromTrunk(new Transformer(cfg, loadParams(dir, cfg)), opts);
  }

  /** Load a critic saved by {@link Critic.save} (trunk tensors plus `score.weight`). */
  static async load(dir: string): Promise<Critic> {
    const cfg = await loadHfConfigFile(`${dir}/config.json`);
    const params = loadParams(dir, cfg, { [VALUE_HEAD]: [1, cfg.hiddenSize] });
    const head = params.get(VALUE_HEAD)!;
    params.delete(VALUE_HEAD);
    return new Critic(new Transformer(cfg, params), head);
  }

  /** Save as a Hugging Face checkpoint directory: the trunk's tensors plus `score.weight`. */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    const params = new Map(this.trunk.params);
    params.set(VALUE_HEAD, this.head);
    await saveParams(this.cfg, params, dir, opts);
  }

  get cfg(): ModelConfig {
    return this.trunk.cfg;
  }

  /** Per-token values [B, T]. */
  values(batch: SequenceBatch): Tensor {
    const [B, T] = batch.ids.shape;
    const h = this.trunk.hidden(batch);
    // h · headᵀ as a broadcast product summed over H: a one-column matmul would keep 15 of
    // its 16 tile columns (and most lanes) idle; this is two memory-bound passes.
    return scope(() => sum(mul(h, this.head), { axis: -1 })).reshape([B, T]);
  }

  /** Trainable tensors: the trunk's (minus its unused LM head) and the value head. */
  parameters(): Tensor[] {
    const skip = this.trunk.cfg.tieWordEmbeddings ? "" : "lm_head.weight";
    return [
      ...[...this.trunk.params.entries()].filter(([n]) => n !== skip).sort(([a], [b]) =>
        a < b ? -1 : 1
      ).map(([, t]) => t),
      this.head,
    ];
  }

  setTrainable(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  dispose(): void {
    this.trunk.dispose();
    this.head.dispose();
  }
}
