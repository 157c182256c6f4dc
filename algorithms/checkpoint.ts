/**
 * Run checkpoints: `runs/<name>/checkpoints/step-N/` holds everything a resume needs —
 *
 *   policy/              the policy, Hugging Face layout (loadModel reads it), + tokenizer
 *   critic/              the critic: trunk tensors + `score.weight` (Critic.load reads it)
 *   optimizer/policy.safetensors, optimizer/critic.safetensors   AdamW moments + step counts
 *   state.json           step, data-stream cursor, seed, counters (written last)
 *
 * Atomicity: everything is written into `checkpoints/.tmp-step-N-<uuid>/` and renamed to
 * `step-N` in one `rename`, so a `step-N` folder is always complete; a kill mid-write
 * leaves only a `.tmp-*` folder, which {@link latestCheckpoint} ignores and the next save
 * removes. Random draws are functions of (seed, step), so the step counter and the data
 * cursor are the whole RNG state.
 *
 * @module
 */
import type { AdamW, AdamWState } from "../kernels/optim/adamw.ts";
import type { Critic } from "../models/critic.ts";
import type { Transformer } from "../models/transformer.ts";
import type { Tokenizer } from "../models/tokenizer.ts";
import { saveModel } from "../models/checkpoint.ts";
import { openSafetensors, writeSafetensors } from "../models/safetensors.ts";
import type { FloatDtype } from "../models/safetensors.ts";

/** The small JSON part of a checkpoint. */
export interface RunState {
  /** Steps completed. */
  step: number;
  seed: number;
  /** The prompt stream's position. */
  stream: { epoch: number; cursor: number };
  /** Updates skipped for non-finite values so far. */
  skippedUpdates: number;
  /** Wall seconds spent by the run so far (for the summary; not part of exactness). */
  seconds: number;
}

export interface CheckpointParts {
  policy: Transformer;
  critic: Critic | null;
  policyOpt: AdamW;
  criticOpt: AdamW | null;
  tokenizer: Tokenizer;
  state: RunState;
  dtype: FloatDtype;
}

async function saveOptimizer(opt: AdamW, path: string): Promise<void> {
  const s = await opt.stateDict();
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  s.m.forEach((m, i) => {
    if (m) {
      tensors[`m.${i}`] = { data: m, shape: [m.length] };
      tensors[`v.${i}`] = { data: s.v[i]!, shape: [m.length] };
    }
  });
  await writeSafetensors(path, tensors, {
    dtype: "F32",
    metadata: { step: String(s.step), param_steps: JSON.stringify(s.paramSteps) },
  });
}

function loadOptimizer(opt: AdamW, path: string): void {
  const st = openSafetensors(path);
  try {
    const n = opt.params.length;
    const paramSteps = JSON.parse(st.metadata.param_steps ?? "null");
    if (!Array.isArray(paramSteps) || paramSteps.length !== n) {
      throw new Error(`${path}: optimizer state is for ${paramSteps?.length} parameters, not ${n}`);
    }
    const state: AdamWState = {
      step: Number(st.metadata.step),
      paramSteps,
      m: opt.params.map((_, i) => (st.has(`m.${i}`) ? st.getF32(`m.${i}`) : null)),
      v: opt.params.map((_, i) => (st.has(`v.${i}`) ? st.getF32(`v.${i}`) : null)),
    };
    opt.loadStateDict(state);
  } finally {
    st.close();
  }
}

/** Write `step-N` atomically under `dir` (the run's checkpoints folder); keep the newest `keep`. */
export async function saveCheckpoint(
  dir: string,
  parts: CheckpointParts,
  keep: number,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".tmp-")) await Deno.remove(`${dir}/${e.name}`, { recursive: true });
  }
  const name = `step-${parts.state.step}`;
  const tmp = `${dir}/.tmp-${name}-${crypto.randomUUID()}`;
  await Deno.mkdir(`${tmp}/optimizer`, { recursive: true });
  await saveModel(parts.policy, `${tmp}/policy`, {
    dtype: parts.dtype,
    tokenizer: parts.tokenizer,
  });
  await saveOptimizer(parts.policyOpt, `${tmp}/optimizer/policy.safetensors`);
  if (parts.critic) {
    await parts.critic.save(`${tmp}/critic`, { dtype: parts.dtype });
    await saveOptimizer(parts.criticOpt!, `${tmp}/optimizer/critic.safetensors`);
  }
  await Deno.writeTextFile(`${tmp}/state.json`, JSON.stringify(parts.state, null, 2) + "\n");
  const final = `${dir}/${name}`;
  await Deno.remove(final, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, final);
  const all = await listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    await Deno.remove(`${dir}/step-${old}`, { recursive: true });
  }
  return final;
}

/** Completed checkpoint steps under `dir`, ascending. */
export async function listCheckpoints(dir: string): Promise<number[]> {
  const steps: number[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = /^step-(\d+)$/.exec(e.name);
      if (!m || !e.isDirectory) continue;
      try {
        await Deno.stat(`${dir}/${e.name}/state.json`);
        steps.push(Number(m[1]));
      } catch { /* not a complete checkpoint */ }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return steps.sort((a, b) => a - b);
}

/** The newest complete checkpoint folder under `dir`, or null. */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  const steps = await listCheckpoints(dir);
  return steps.length ? `${dir}/step-${steps.at(-1)}` : null;
}

/** Read a checkpoint's state.json. */
export async function readRunState(ckpt: string): Promise<RunState> {
  const path = `${ckpt}/state.json`;
  try {
    return JSON.parse(await Deno.readTextFile(path)) as RunState;
  } catch (e) {
    throw new Error(`${path}: cannot read the run state (${(e as Error).message})`);
  }
}

/** Load both optimizers' states from a checkpoint (the models are loaded by the caller). */
export function loadOptimizers(ckpt: string, policyOpt: AdamW, criticOpt: AdamW | null): void {
  loadOptimizer(policyOpt, `${ckpt}/optimizer/policy.safetensors`);
  if (criticOpt) loadOptimizer(criticOpt, `${ckpt}/optimizer/critic.safetensors`);
}
