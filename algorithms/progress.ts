/**
 * Live progress of a run: a bar (npm `cli-progress`) with step, reward, accuracy, length,
 * s/step and ETA on a terminal; one plain line per step otherwise (logs, CI, notebooks);
 * nothing with `quiet`.
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import type { Metrics } from "./types.ts";

/** A shown field: its label, the metric it reads, and the digits after the point. */
export type ProgressField = [label: string, metric: string, digits: number];

/** The RL loop's fields. */
export const RL_FIELDS: ProgressField[] = [
  ["reward", "reward/mean", 3],
  ["acc", "accuracy", 3],
  ["len", "response/length_mean", 1],
];

export interface ProgressOptions {
  quiet?: boolean;
  /** What each update shows besides the step and s/step; default {@link RL_FIELDS}. */
  fields?: ProgressField[];
  /** Draw a bar; default: stdout is a terminal. */
  bar?: boolean;
}

const fmt = (v: number | undefined, digits = 3) =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);

export class Progress {
  #multi: cliProgress.MultiBar | null = null;
  #bar: cliProgress.SingleBar | null = null;
  readonly #quiet: boolean;
  readonly #fields: ProgressField[];

  constructor(readonly total: number, opts: ProgressOptions = {}) {
    this.#quiet = opts.quiet ?? false;
    this.#fields = opts.fields ?? RL_FIELDS;
    const bar = !this.#quiet && (opts.bar ?? Deno.stdout.isTerminal());
    if (bar) {
      const shown = this.#fields.map(([label]) => `${label} {${label}}`).join(" | ");
      this.#multi = new cliProgress.MultiBar({
        format: `{bar} step {value}/{total} | ${shown} | {sps} s/step | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 8,
      }, cliProgress.Presets.shades_classic);
    }
  }

  start(done: number): void {
    this.#bar = this.#multi?.create(this.total, done, this.#payload({})) ?? null;
  }

  #payload(m: Metrics): Record<string, string> {
    const out: Record<string, string> = { sps: fmt(m["time/step"], 2) };
    for (const [label, key, digits] of this.#fields) out[label] = fmt(m[key], digits);
    return out;
  }

  /** After step `step` with its metrics. */
  update(step: number, m: Metrics): void {
    if (this.#quiet) return;
    if (this.#bar) return void this.#bar.update(step, this.#payload(m));
    const p = this.#payload(m);
    const left = (this.total - step) * (m["time/step"] ?? 0);
    const shown = this.#fields.map(([label]) => `${label} ${p[label]}`).join("  ");
    console.log(
      `step ${step}/${this.total}  ${shown}  ${p.sps} s/step  ETA ${Math.round(left)}s`,
    );
  }

  /** A message that should not break the bar. */
  log(line: string): void {
    if (this.#quiet) return;
    if (this.#multi) this.#multi.log(line + "\n");
    else console.log(line);
  }

  stop(): void {
    this.#multi?.stop();
    this.#multi = null;
  }
}
