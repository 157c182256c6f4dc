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

export interface ProgressOptions {
  quiet?: boolean;
  /** Draw a bar; default: stdout is a terminal. */
  bar?: boolean;
}

const fmt = (v: number | undefined, digits = 3) =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);

export class Progress {
  #multi: cliProgress.MultiBar | null = null;
  #bar: cliProgress.SingleBar | null = null;
  readonly #quiet: boolean;

  constructor(readonly total: number, opts: ProgressOptions = {}) {
    this.#quiet = opts.quiet ?? false;
    const bar = !this.#quiet && (opts.bar ?? Deno.stdout.isTerminal());
    if (bar) {
      this.#multi = new cliProgress.MultiBar({
        format:
          "{bar} step {value}/{total} | reward {reward} | acc {acc} | len {len} | {sps} s/step | ETA {eta_formatted}",
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 8,
      }, cliProgress.Presets.shades_classic);
    }
  }

  start(done: number): void {
    this.#bar = this.#multi?.create(this.total, done, this.#payload({})) ?? null;
  }

  #payload(m: Metrics) {
    return {
      reward: fmt(m["reward/mean"]),
      acc: fmt(m["accuracy"]),
      len: fmt(m["response/length_mean"], 1),
      sps: fmt(m["time/step"], 2),
    };
  }

  /** After step `step` with its metrics. */
  update(step: number, m: Metrics): void {
    if (this.#quiet) return;
    if (this.#bar) return void this.#bar.update(step, this.#payload(m));
    const p = this.#payload(m);
    const left = (this.total - step) * (m["time/step"] ?? 0);
    console.log(
      `step ${step}/${this.total}  reward ${p.reward}  acc ${p.acc}  len ${p.len}  ` +
        `${p.sps} s/step  ETA ${Math.round(left)}s`,
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
