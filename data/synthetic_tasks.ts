/**
 * Synthetic reasoning tasks for tiny character-level models: each instance has a question,
 * a one-digit answer, and a worked solution whose running trace makes the answer easy to
 * learn step by step and hard to guess in one jump as the difficulty grows.
 *
 * A task is described by the random choices an instance makes (their radices) and how
 * those choices build the instance, so one generator can both sample instances and, for
 * small difficulties, enumerate every one of them.
 *
 * @module
 */

/** One generated instance. */
export interface SyntheticInstance {
  /** The bare question, e.g. `parity 1 0 1 1`. */
  question: string;
  /** The answer, a bare digit, e.g. `1`. */
  gold: string;
  /** A running trace and nothing else, e.g. `1>1 0>1 1>0 1>1`. */
  worked: string;
  /** The answer alone (what a direct, trace-free response says). */
  direct: string;
  difficulty: number;
}

/** A task: its random choices at a difficulty, and the instance they make. */
export interface SyntheticTask {
  /** The smallest difficulty that means something (one bit, one operation). */
  minDifficulty: number;
  /** The radix of each random choice an instance of this difficulty makes. */
  radices(difficulty: number): number[];
  /** The instance that these choices (each below its radix) make. */
  build(choices: readonly number[]): SyntheticInstance;
  /** Every character its questions, traces and answers use. */
  symbols: string;
}

/**
 * `parity b1 … bn`: the XOR of n bits (n = difficulty). The trace is `bit>parity so far`
 * for each bit: `1 0 1 1` → `1>1 0>1 1>0 1>1`, answer 1.
 */
export const parity: SyntheticTask = {
  minDifficulty: 1,
  radices: (n) => Array(n).fill(2),
  build(bits) {
    let p = 0;
    const steps = bits.map((b) => `${b}>${p ^= b}`);
    return {
      question: `parity ${bits.join(" ")}`,
      gold: `${p}`,
      worked: steps.join(" "),
      direct: `${p}`,
      difficulty: bits.length,
    };
  },
  symbols: "parity 01>",
};

/**
 * `chain_mod3 t0±t1±…±tn`: n operations (n = difficulty) on terms in {0,1,2}, evaluated
 * left to right mod 3. The trace is one `a±t=r` step per operation: `2+1-2` →
 * `2+1=0 0-2=1`, answer 1.
 */
export const chainMod3: SyntheticTask = {
  minDifficulty: 1,
  // The first term, then (operator, term) per operation.
  radices: (n) => [3, ...Array.from({ length: n }, () => [2, 3]).flat()],
  build(choices) {
    let value = choices[0];
    let expr = `${value}`;
    const steps: string[] = [];
    for (let i = 1; i < choices.length; i += 2) {
      const op = choices[i] === 0 ? "+" : "-";
      const term = choices[i + 1];
      const next = (((op === "+" ? value + term : value - term) % 3) + 3) % 3;
      steps.push(`${value}${op}${term}=${next}`);
      expr += `${op}${term}`;
      value = next;
    }
    return {
      question: `chain_mod3 ${expr}`,
      gold: `${value}`,
      worked: steps.join(" "),
      direct: `${value}`,
      difficulty: steps.length,
    };
  },
  symbols: "chain_mod3 012+-=",
};

/** Every synthetic task by name. Adding one is one line here. */
export const tasks = { parity, chain_mod3: chainMod3 } satisfies Record<string, SyntheticTask>;

/** A registered synthetic task's name. */
export type SyntheticTaskName = keyof typeof tasks;
