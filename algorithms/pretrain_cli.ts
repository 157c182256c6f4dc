/**
 * `deno task pretrain`: train the tiny base model from scratch and report, by difficulty,
 * its accuracy with each mode forced (direct vs worked) and in its natural mix.
 *
 *   deno task pretrain [--config configs/pretrain_parity.yaml] [--set key=value …] [--quiet]
 *
 * Writes `runs/<name>/base/` (Hugging Face layout with tokenizer.json, pretrain_losses.json,
 * probe.json, probe.md) and prints the probe table.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initGpu } from "../kernels/core/device.ts";
import { pretrain, probeBase, probeTable, resolvePretrainConfig, saveBase } from "./pretrain.ts";

export async function pretrainMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", default: "configs/pretrain_parity.yaml" },
      set: { type: "string", multiple: true, default: [] },
      quiet: { type: "boolean", default: false },
    },
  });
  const cfg = resolvePretrainConfig(values.config!, values.set ?? []);
  const dir = `${cfg.run.dir ?? `runs/${cfg.run.name}`}/base`;
  await initGpu();
  const t0 = performance.now();
  const result = await pretrain(cfg, { quiet: values.quiet });
  const seconds = (performance.now() - t0) / 1000;
  const [lo, hi] = cfg.difficulty;
  const probe = await probeBase(
    result.model,
    result.tokenizer,
    cfg,
    Array.from({ length: hi - lo + 1 }, (_, i) => lo + i),
  );
  await saveBase(dir, result, cfg, probe);
  const last = result.losses.at(-1);
  console.log(
    `pretrained ${cfg.train.steps} steps in ${seconds.toFixed(0)} s; final loss ` +
      `${last?.toFixed(4) ?? "-"}; base saved to ${dir}\n\n${probeTable(probe)}`,
  );
  result.model.dispose();
  return 0;
}
