/**
 * The shipped base model is provably ours: rerunning the first steps of its recorded
 * pretraining reproduces the recorded losses (bit for bit on the adapter that made it, to
 * float32 tolerance elsewhere), and the shipped checkpoint loads with the config it records.
 */
import { describeGpu, gpu } from "../../kernels/core/device.ts";
import { loadModel } from "../../models/checkpoint.ts";
import { loadTokenizer } from "../../models/tokenizer.ts";
import {
  baseModelConfig,
  pretrain,
  PretrainConfigSchema,
  pretrainLr,
} from "../../algorithms/pretrain.ts";
import { taskTokenizer } from "../../algorithms/setup.ts";
import { assert, gpuReady } from "../helpers.ts";

await gpuReady;

const BASE = new URL("../../bases/parity/", import.meta.url).pathname;

interface Recorded {
  config: unknown;
  losses: number[];
  adapter?: string;
}

const recorded: Recorded = JSON.parse(await Deno.readTextFile(`${BASE}pretrain_losses.json`));
const cfg = PretrainConfigSchema.parse(recorded.config);

Deno.test("the shipped base's first pretraining steps reproduce its recorded losses", async () => {
  const steps = 6;
  const r = await pretrain(cfg, { quiet: true, maxSteps: steps });
  r.model.dispose();
  const want = recorded.losses.slice(0, steps);
  const sameAdapter = recorded.adapter === describeGpu(gpu()).split("\n")[0];
  const worst = Math.max(...want.map((w, i) => Math.abs(r.losses[i] - w) / Math.abs(w)));
  console.log(
    `first ${steps} losses: ${r.losses.map((l) => l.toFixed(6)).join(" ")}; ` +
      `max relative difference ${worst.toExponential(2)} (${
        sameAdapter ? "same" : "another"
      } adapter)`,
  );
  if (sameAdapter) {
    // The file stores 9 significant digits: equal at that precision means bit-identical f32.
    r.losses.forEach((l, i) => assert.equal(Number(l.toPrecision(9)), want[i], `step ${i}`));
  } else {
    assert.ok(worst < 1e-4, `losses differ by ${worst} relative`);
  }
  assert.ok(recorded.losses.at(-1)! < 0.5 * recorded.losses[0], "the recorded loss fell");
  assert.equal(recorded.losses.length, cfg.train.steps, "every step's loss is recorded");
});

Deno.test("the shipped base loads with the config and tokenizer its pretraining implies", async () => {
  const model = await loadModel(BASE);
  const tok = await loadTokenizer(BASE);
  const want = baseModelConfig(cfg, taskTokenizer(cfg.task));
  assert.equal(model.cfg.hiddenSize, want.hiddenSize);
  assert.equal(model.cfg.numLayers, want.numLayers);
  assert.equal(model.cfg.vocabSize, want.vocabSize);
  assert.equal(tok.vocabSize, taskTokenizer(cfg.task).vocabSize);
  assert.equal(tok.decode(tok.encode("parity 1 0")), "parity 1 0");
  model.dispose();
});

Deno.test("pretraining lr: linear warm-up then cosine to the final fraction", () => {
  const t = { ...cfg.train, lr: 1, warmup_steps: 10, steps: 110, final_lr_fraction: 0.1 };
  assert.ok(Math.abs(pretrainLr(t, 0) - 0.1) < 1e-12);
  assert.ok(Math.abs(pretrainLr(t, 9) - 1) < 1e-12);
  assert.ok(Math.abs(pretrainLr(t, 10) - 1) < 1e-12);
  assert.ok(Math.abs(pretrainLr(t, 60) - 0.55) < 1e-12);
  assert.ok(Math.abs(pretrainLr(t, 110) - 0.1) < 1e-12);
});
