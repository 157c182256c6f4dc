/**
 * `deno task report RUN_DIR [RUN_DIR …] [--out FILE.html]`: write a run's `report.html`, or
 * one comparison report for several runs.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeReport } from "./report.ts";

const USAGE = `usage: deno task report RUN_DIR [RUN_DIR …] [--out FILE.html]

  one run:      writes RUN_DIR/report.html
  several runs: a comparison (curves overlaid, final metrics per run), written to
                report.html in the current folder
  --out FILE    write the report here instead`;

/** Entry point used by `cli.ts report`; returns the exit code. Bad input throws one line. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        out: { type: "string", short: "o" },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new Error(`${(e as Error).message.split("\n")[0]} (--help lists the flags)`);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const path = await writeReport(parsed.positionals, parsed.values.out);
  console.log(`report: ${path}`);
  return 0;
}
