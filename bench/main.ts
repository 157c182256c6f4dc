/**
 * `deno task bench`: run the registered benchmark sections, then print a table (or, with
 * `--json`, one JSON object of figures). The PyTorch peer runs in the same invocation so the
 * zerokit/PyTorch ratios compare numbers measured under the same machine load.
 *
 *   deno task bench [--json] [--quick] [--rounds n] [--only matmul,torch,...]
 *
 * Every section runs `--rounds` times (default 2, 1 with `--quick`), interleaved, and each
 * figure keeps its best round: the two cores are shared, and the best round is the one
 * least disturbed by other processes, for zerokit and the peer alike.
 *
 * To add a section, write `bench/<name>_bench.ts` exporting a {@link BenchSection} (or a
 * function returning figures) and add one line to `sections` (`optional(...)` imports the
 * file only when the section runs and skips it with a note if it is missing or throws). Figure names are stable keys
 * (`<op>_<shape>_<unit>`); a figure `X_<unit>` with a peer figure `torch_X_<unit>` gets a
 * ratio column and a `ratio_X` key (zerokit / PyTorch). A section may call `ctx.note(msg)`
 * (when present) to put a line under the table, e.g. a peer that could not run.
 *
 * @module
 */
import { describeGpu, initGpu } from "../kernels/core/device.ts";
import { matmulSection } from "./matmul_bench.ts";
import { type BenchContext, type BenchSection, round } from "./util.ts";

/** The PyTorch CPU peer: `python3 bench/torch_peer.py`, skipped with a note if absent. */
const torchSection: BenchSection = {
  description: "PyTorch CPU peer (bench/torch_peer.py)",
  async run(ctx) {
    const script = new URL("./torch_peer.py", import.meta.url).pathname;
    let result: Deno.CommandOutput;
    try {
      result = await new Deno.Command("python3", {
        args: [script, ...(ctx.quick ? ["--quick"] : [])],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (e) {
      throw new Error(`python3 not runnable: ${(e as Error).message}`);
    }
    const text = new TextDecoder().decode(result.stdout).trim().split("\n").at(-1) ?? "";
    if (!result.success || !text.startsWith("{")) {
      const err = new TextDecoder().decode(result.stderr).trim().split("\n").at(-1);
      throw new Error(`torch_peer.py failed: ${err}`);
    }
    const parsed = JSON.parse(text) as Record<string, number | string>;
    if (typeof parsed.torch_skipped === "string") throw new Error(parsed.torch_skipped);
    const figures: Record<string, number> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v === "number") figures[k] = v;
      else ctx.log(`${k}: ${v}`);
    }
    return figures;
  },
};

/**
 * A section living in a file that may not exist yet (other engineers' benches): imported
 * when it runs, and skipped with a note if the file is absent, fails to load or throws.
 */
function optional(path: string, exported: string, description: string): BenchSection {
  return {
    description,
    async run(ctx) {
      const mod = await import(path) as Record<string, unknown>;
      const x = mod[exported];
      if (typeof x === "function") return await (x as () => Promise<Record<string, number>>)();
      if (x && typeof (x as BenchSection).run === "function") {
        return await (x as BenchSection).run(ctx);
      }
      throw new Error(`${path} exports no ${exported}`);
    },
  };
}

/** The registry, in run order. One line per section. */
export const sections: Record<string, BenchSection> = {
  matmul: matmulSection,
  torch: torchSection,
  attention: optional(
    "./attention_bench.ts",
    "attentionSection",
    "fused attention (bench/attention_bench.ts)",
  ),
  block: optional(
    "./block_bench.ts",
    "blockSection",
    "one transformer block forward + backward (bench/block_bench.ts)",
  ),
  model: optional(
    "./model_bench.ts",
    "modelSection",
    "model prefill/decode tokens/s (bench/model_bench.ts)",
  ),
  rewards: optional(
    "./rewards_bench.ts",
    "benchRewards",
    "reward verifiers (bench/rewards_bench.ts)",
  ),
  rl: optional("./rl_bench.ts", "rlSection", "one PPO step, tiny preset (bench/rl_bench.ts)"),
  rl_scaling: optional(
    "./rl_bench.ts",
    "rlScalingSection",
    "the RL step at 2× batch, 2× length, 2× width (bench/rl_bench.ts)",
  ),
};

interface Report {
  device: string;
  figures: Record<string, number>;
  notes: string[];
}

/**
 * `matmul_1024_gflops` → `ratio_matmul_1024` (zerokit / PyTorch): rate units are dropped,
 * time units kept (`block_fwd_bwd_ms` → `ratio_block_fwd_bwd_ms`), so a time and a rate of
 * the same thing get two keys, and a time ratio above 1 reads as "slower".
 */
const ratioKey = (key: string) => `ratio_${key.replace(/_(gflops|per_s|tok_s)$/, "")}`;

/** Lower is better for times (`_ms`, `_us`, `_s` but not `_per_s`/`_tok_s`), higher otherwise. */
const lowerIsBetter = (key: string) => /_(ms|us)$/.test(key) || /(?<!_per|_tok)_s$/.test(key);

/**
 * Run `names` in order, `rounds` times (sections interleaved, so zerokit and the PyTorch
 * peer alternate under the same machine load), keeping each figure's best round.
 */
export async function runBench(
  names: string[],
  quick: boolean,
  log: (m: string) => void,
  rounds = 1,
): Promise<Report> {
  const gpu = await initGpu();
  const report: Report = { device: describeGpu(gpu).split("\n")[0], figures: {}, notes: [] };
  // `note`: a section's remark for the table's notes (once, however many rounds).
  const note = (m: string) => {
    if (!report.notes.includes(m)) report.notes.push(m);
    log(m);
  };
  const ctx: BenchContext & { note: (m: string) => void } = { quick, log, note };
  const failed = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      if (failed.has(name)) continue;
      const section = sections[name];
      log(
        `== ${name}: ${section.description}${rounds > 1 ? ` (round ${r + 1}/${rounds})` : ""}`,
      );
      try {
        for (const [k, v] of Object.entries(await section.run(ctx))) {
          const old = report.figures[k];
          const better = old === undefined || (lowerIsBetter(k) ? v < old : v > old);
          if (better) report.figures[k] = v;
        }
      } catch (e) {
        const note = `${name} skipped: ${(e as Error).message.split("\n")[0]}`;
        report.notes.push(note);
        failed.add(name);
        log(note);
      }
    }
  }
  for (const [key, value] of Object.entries(report.figures)) {
    const peer = report.figures[`torch_${key}`];
    if (!key.startsWith("torch_") && peer) report.figures[ratioKey(key)] = round(value / peer);
  }
  return report;
}

function table(r: Report): string {
  const f = r.figures;
  const lines = [`device: ${r.device}`, ""];
  const paired = Object.keys(f).filter((k) => !k.startsWith("torch_") && !k.startsWith("ratio_"));
  const width = Math.max(24, ...paired.map((k) => k.length));
  const cell = (x: number | undefined, w = 10) => (x === undefined ? "—" : String(x)).padStart(w);
  lines.push(
    `${"figure".padEnd(width)} ${"zerokit".padStart(10)} ${"PyTorch".padStart(10)} ${
      "ratio".padStart(8)
    }`,
  );
  for (const k of paired) {
    lines.push(
      `${k.padEnd(width)} ${cell(f[k])} ${cell(f[`torch_${k}`])} ${cell(f[ratioKey(k)], 8)}`,
    );
  }
  const torchOnly = Object.keys(f).filter((k) => k.startsWith("torch_") && !(k.slice(6) in f));
  for (const k of torchOnly) lines.push(`${k.padEnd(width)} ${cell(undefined)} ${cell(f[k])}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}

const USAGE =
  "usage: deno task bench [--json] [--quick] [--rounds n] [--only section,...]\nsections: ";

if (import.meta.main) {
  const args = [...Deno.args];
  const json = args.includes("--json");
  const quick = args.includes("--quick");
  const onlyAt = args.indexOf("--only");
  const names = onlyAt >= 0
    ? (args[onlyAt + 1] ?? "").split(",").filter(Boolean)
    : Object.keys(sections);
  const unknown = names.filter((n) => !(n in sections));
  if (args.includes("--help") || unknown.length > 0 || names.length === 0) {
    if (unknown.length) console.error(`unknown section(s): ${unknown.join(", ")}`);
    console.error(USAGE + Object.keys(sections).join(", "));
    Deno.exit(args.includes("--help") ? 0 : 2);
  }
  const roundsAt = args.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Math.max(1, Number(args[roundsAt + 1]) || 1) : quick ? 1 : 2;
  const report = await runBench(names, quick, (m) => console.error(m), rounds);
  if (json) {
    console.log(JSON.stringify({ device: report.device, ...report.figures, notes: report.notes }));
  } else console.log(table(report));
}
