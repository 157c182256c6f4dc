/**
 * Synthetic problem sets with a difficulty knob and train / held-out splits that can
 * never overlap, for RL prompts and for pretraining a tiny base model.
 *
 * The split of an instance is a hash of its question text alone (about 20% held out), not
 * of the seed or of the draw order, so no held-out question can appear in any train set
 * drawn with any seed: held-out accuracy measures generalisation, not recall.
 *
 * @module
 */

import { seededUniform } from "../models/init.ts";
import { mixSeed, shuffle } from "./shuffle.ts";
import {
  type SyntheticInstance,
  type SyntheticTask,
  type SyntheticTaskName,
  tasks,
} from "./synthetic_tasks.ts";
import { orzPrompt } from "./template.ts";
import type { Problem } from "./types.ts";

/** Which side of the split an instance is on. */
export type Split = "train" | "heldout";

/** The share of each task's questions held out. */
export const HELDOUT_FRACTION = 0.2;

/** Options of {@link syntheticProblems}. */
export interface SyntheticOptions {
  split: Split;
  /** Inclusive integer range; each problem's difficulty is drawn from it. */
  difficulty: [min: number, max: number];
  count: number;
  seed: number;
}

/** What a synthetic problem's `meta` holds. */
export type SyntheticMeta = {
  task: SyntheticTaskName;
  split: Split;
  difficulty: number;
  worked: string;
  direct: string;
};

/** A {@link Problem} from {@link syntheticProblems}. */
export interface SyntheticProblem extends Problem {
  meta: SyntheticMeta;
}

/** The split of a question: a hash of its text (FNV-1a, then a finaliser to mix it). */
export function splitOf(question: string): Split {
  let h = 0x811c9dc5;
  for (let i = 0; i < question.length; i++) h = Math.imul(h ^ question.charCodeAt(i), 0x01000193);
  return mixSeed(h, 0) / 2 ** 32 < HELDOUT_FRACTION ? "heldout" : "train";
}

/** A difficulty with at most this many instances is listed whole, so "distinct" is exact. */
const ENUMERATE_LIMIT = 1 << 16;
/** Random draws in a row that find nothing new before a large difficulty counts as spent. */
const MAX_MISSES = 1000;

/** The `index`-th combination of choices (mixed radix, last choice fastest). */
function choicesAt(radices: number[], index: number): number[] {
  const out = new Array<number>(radices.length);
  for (let i = radices.length - 1; i >= 0; i--) {
    out[i] = index % radices[i];
    index = Math.floor(index / radices[i]);
  }
  return out;
}

/** Listed splits by task, then `difficulty:split`: listing is the slow part of a draw. */
const listed = new WeakMap<SyntheticTask, Map<string, SyntheticInstance[]>>();

/** Every instance of one split at one (small) difficulty, in enumeration order. */
function listSplit(task: SyntheticTask, difficulty: number, split: Split): SyntheticInstance[] {
  const byKey = listed.get(task) ?? new Map<string, SyntheticInstance[]>();
  listed.set(task, byKey);
  const key = `${difficulty}:${split}`;
  let list = byKey.get(key);
  if (!list) {
    const radices = task.radices(difficulty);
    const size = radices.reduce((a, r) => a * r, 1);
    list = [];
    for (let i = 0; i < size; i++) {
      const inst = task.build(choicesAt(radices, i));
      if (splitOf(inst.question) === split) list.push(inst);
    }
    byKey.set(key, list);
  }
  return list;
}

/** Distinct instances of one split at one difficulty, in a seeded random order. */
class DifficultyPool {
  /** Every instance handed out so far (what train repeats are drawn from). */
  readonly drawn: SyntheticInstance[] = [];
  #radices: number[];
  #size: number;
  #listed?: SyntheticInstance[];
  #seen = new Set<string>();

  constructor(
    readonly task: SyntheticTask,
    readonly difficulty: number,
    readonly split: Split,
    readonly rand: () => number,
  ) {
    this.#radices = task.radices(difficulty);
    this.#size = this.#radices.reduce((a, r) => a * r, 1);
  }

  /** The next unseen instance, or undefined when there is none left. */
  next(): SyntheticInstance | undefined {
    const inst = this.#size <= ENUMERATE_LIMIT ? this.#nextListed() : this.#nextSampled();
    if (inst) this.drawn.push(inst);
    return inst;
  }

  #nextListed(): SyntheticInstance | undefined {
    if (!this.#listed) {
      const mine = listSplit(this.task, this.difficulty, this.split);
      // Reversed so pop() hands them out in shuffled order.
      this.#listed = shuffle(mine, Math.floor(this.rand() * 2 ** 32)).reverse();
    }
    return this.#listed.pop();
  }

  #nextSampled(): SyntheticInstance | undefined {
    for (let miss = 0; miss < MAX_MISSES; miss++) {
      const inst = this.task.build(this.#radices.map((r) => Math.floor(this.rand() * r)));
      if (splitOf(inst.question) !== this.split || this.#seen.has(inst.question)) continue;
      this.#seen.add(inst.question);
      return inst;
    }
    return undefined;
  }
}

function checkOptions(name: string, task: SyntheticTask | undefined, opts: SyntheticOptions) {
  const fail = (msg: string): never => {
    throw new RangeError(`syntheticProblems(${JSON.stringify(name)}): ${msg}`);
  };
  if (!task) fail(`unknown task (known: ${Object.keys(tasks).join(", ")})`);
  if (opts.split !== "train" && opts.split !== "heldout") fail(`bad split ${opts.split}`);
  const [lo, hi] = opts.difficulty;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo > hi || lo < task!.minDifficulty) {
    fail(`difficulty must be integers ${task!.minDifficulty} <= min <= max, got [${lo}, ${hi}]`);
  }
  if (!Number.isInteger(opts.count) || opts.count < 0) fail(`bad count ${opts.count}`);
  if (!Number.isFinite(opts.seed)) fail(`bad seed ${opts.seed}`);
}

/**
 * `count` problems of one task and split. Each draw picks a difficulty uniformly among
 * those in range that still have unused instances, then an unused instance there, so
 * problems are distinct while the space allows. When the split holds fewer than `count`
 * instances, `train` repeats already-drawn ones to fill `count` (small spaces are meant
 * to be memorised), while `heldout` returns only the distinct ones it has, fewer than
 * `count`. Ids are `${task}:${split}:${i}`; the same options give the same problems.
 */
export function syntheticProblems(
  task: SyntheticTaskName,
  opts: SyntheticOptions,
): SyntheticProblem[] {
  const spec = tasks[task];
  checkOptions(task, spec, opts);
  const rand = seededUniform(mixSeed(opts.seed, 0x5e7));
  const [lo, hi] = opts.difficulty;
  const pools = Array.from({ length: hi - lo + 1 }, (_, i) => {
    return new DifficultyPool(spec, lo + i, opts.split, rand);
  });

  const picked: SyntheticInstance[] = [];
  const open = pools.slice();
  while (picked.length < opts.count && open.length > 0) {
    const k = Math.floor(rand() * open.length);
    const inst = open[k].next();
    if (inst) picked.push(inst);
    else open.splice(k, 1);
  }
  if (opts.split === "train" && picked.length < opts.count) {
    const filled = pools.filter((p) => p.drawn.length > 0);
    if (filled.length === 0) {
      throw new RangeError(`syntheticProblems("${task}"): no train instances in difficulty range`);
    }
    while (picked.length < opts.count) {
      const pool = filled[Math.floor(rand() * filled.length)];
      picked.push(pool.drawn[Math.floor(rand() * pool.drawn.length)]);
    }
  }
  return picked.map((inst, i) => ({
    id: `${task}:${opts.split}:${i}`,
    question: inst.question,
    gold: inst.gold,
    meta: {
      task,
      split: opts.split,
      difficulty: inst.difficulty,
      worked: inst.worked,
      direct: inst.direct,
    },
  }));
}

/** What follows the prompt's `<think>` up to the answer, and what closes the answer. */
const THINK_END = " </think> <answer>";
const ANSWER_END = "</answer>";

/**
 * The completion a model should write after a prompt ending `Assistant: <think>`:
 * `" {worked} </think> <answer>{gold}</answer>"`, or in `direct` mode no trace at all,
 * `" </think> <answer>{gold}</answer>"` (one space, not two around an empty trace).
 */
export function formatResponse(
  instance: SyntheticInstance | SyntheticProblem,
  mode: "worked" | "direct",
): string {
  const worked = "meta" in instance ? instance.meta.worked : instance.worked;
  const trace = mode === "worked" && worked !== "" ? ` ${worked}` : "";
  return `${trace}${THINK_END}${instance.gold}${ANSWER_END}`;
}

/**
 * Every character a task's prompts (both template styles), responses and answers use,
 * sorted and unique: the alphabet of a character tokenizer for it.
 */
export function syntheticAlphabet(task: SyntheticTaskName): string {
  const spec = tasks[task];
  if (!spec) throw new RangeError(`syntheticAlphabet: unknown task ${JSON.stringify(task)}`);
  const text = orzPrompt("", { style: "full" }) + orzPrompt("", { style: "short" }) +
    THINK_END + ANSWER_END + spec.symbols;
  return [...new Set(text)].sort().join("");
}

export { type SyntheticInstance, type SyntheticTask, type SyntheticTaskName, tasks };
