/**
 * The files of a run folder: `config.yaml`, `metrics.jsonl`, `samples.jsonl`,
 * `summary.json`. JSON lines are appended one whole line per write; a resume first drops
 * the lines of steps after its checkpoint, so the log matches the weights.
 *
 * @module
 */
import type { Metrics } from "./types.ts";

export class RunFiles {
  private constructor(readonly dir: string) {}

  /** Open a run folder; `fresh` refuses one that already holds a run. */
  static async open(dir: string, { fresh }: { fresh: boolean }): Promise<RunFiles> {
    await Deno.mkdir(dir, { recursive: true });
    if (fresh) {
      const taken = await Deno.stat(`${dir}/metrics.jsonl`).then(() => true, () => false);
      if (taken) {
        throw new Error(
          `${dir} already holds a run (metrics.jsonl); resume it with --resume ${dir} or set run.dir`,
        );
      }
    }
    return new RunFiles(dir);
  }

  get metricsPath(): string {
    return `${this.dir}/metrics.jsonl`;
  }

  async writeConfig(yaml: string): Promise<void> {
    await writeAtomic(`${this.dir}/config.yaml`, yaml);
  }

  async appendMetrics(m: Metrics): Promise<void> {
    await Deno.writeTextFile(this.metricsPath, JSON.stringify(m) + "\n", { append: true });
  }

  async appendSamples(lines: object[]): Promise<void> {
    if (lines.length === 0) return;
    const text = lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
    await Deno.writeTextFile(`${this.dir}/samples.jsonl`, text, { append: true });
  }

  async readMetrics(): Promise<Metrics[]> {
    return (await readLines(this.metricsPath)).map((l) => JSON.parse(l));
  }

  /** Drop metric and sample lines of steps after `step` (what a resume will redo). */
  async truncateAfter(step: number): Promise<void> {
    for (const file of [this.metricsPath, `${this.dir}/samples.jsonl`]) {
      const lines = await readLines(file);
      const kept = lines.filter((l) => {
        try {
          return (JSON.parse(l).step ?? 0) <= step;
        } catch {
          return false; // a torn last line from a kill
        }
      });
      await writeAtomic(file, kept.map((l) => l + "\n").join(""));
    }
  }

  async writeSummary(summary: object): Promise<void> {
    await writeAtomic(`${this.dir}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
  }
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}
