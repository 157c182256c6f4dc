/**
 * `deno task reward`: score JSON Lines with a registered reward, so a user can audit the
 * verifier on their own labelled data.
 *
 *   deno task reward --fn math --extract auto --input cases.jsonl [--output out.jsonl]
 *
 * Each input line is an object with `response`, `gold` and optionally `finish` (default
 * `"stop"`) and `prompt`. Each output line is the same object with `score` and `extracted`
 * added (and `reason` with `--reasons`), in input order. A bad line is reported on stderr
 * with its line number and written as `{"line": N, "error": …}`; the others are still
 * scored, and the exit code is then 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { rewards } from "./mod.ts";
import { MathOptionsSchema } from "./options.ts";
import type { RewardResult } from "./types.ts";

const USAGE = `usage: deno task reward --fn math|countdown|format [--extract orz|boxed|auto]
                         [--input FILE] [--output FILE] [--options JSON] [--reasons]

  --fn        reward to apply (default math)
  --extract   math answer extraction mode (default orz; auto for free-form responses)
  --input     JSON Lines with response, gold, optional finish and prompt (default stdin)
  --output    where to write scored lines (default stdout)
  --options   reward options as JSON, e.g. '{"listOrder":"ordered","relTol":1e-6}'
  --reasons   also write each line's reason`;

/** The text a reward reports as "extracted", whichever reward it is. */
function extractedOf(r: RewardResult): unknown {
  const d = r.details as Record<string, unknown>;
  return d.extracted ?? d.equation ?? null;
}

/** Entry point used by `cli.ts reward`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        fn: { type: "string", default: "math" },
        extract: { type: "string" },
        input: { type: "string" },
        output: { type: "string" },
        options: { type: "string" },
        reasons: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`error: ${(e as Error).message.split("\n")[0]} (--help lists the flags)`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const fn = rewards[values.fn as keyof typeof rewards];
  if (!fn) {
    console.error(
      `error: --fn: unknown reward "${values.fn}"; known: ${Object.keys(rewards).join(", ")}`,
    );
    return 2;
  }
  let options: Record<string, unknown> = {};
  try {
    options = values.options ? JSON.parse(values.options) : {};
    if (values.extract) options.extract = values.extract;
    if (values.fn === "math") options = MathOptionsSchema.parse(options);
  } catch (e) {
    console.error(`error: --options: ${(e as Error).message.split("\n")[0]}`);
    return 2;
  }

  let input: string;
  try {
    input = values.input && values.input !== "-"
      ? await Deno.readTextFile(values.input)
      : await new Response(Deno.stdin.readable).text();
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    console.error(`error: ${values.input}: ${why}`);
    return 2;
  }
  const source = values.input && values.input !== "-" ? values.input : "<stdin>";
  const out: string[] = [];
  let errors = 0;
  let scored = 0;
  let total = 0;
  input.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const lineNo = i + 1;
    try {
      const row = JSON.parse(line);
      if (!row || typeof row !== "object" || Array.isArray(row)) {
        throw new Error("not a JSON object");
      }
      if (typeof row.response !== "string") throw new Error("missing string field 'response'");
      if (!("gold" in row)) throw new Error("missing field 'gold'");
      const r = fn({ ...row, finish: row.finish ?? "stop" }, options);
      const added: Record<string, unknown> = { score: r.score, extracted: extractedOf(r) };
      if (values.reasons) added.reason = r.details.reason;
      out.push(JSON.stringify({ ...row, ...added }));
      scored++;
      total += r.score;
    } catch (e) {
      errors++;
      const message = `${source}:${lineNo}: ${(e as Error).message}`;
      console.error(message);
      out.push(JSON.stringify({ line: lineNo, error: message }));
    }
  });
  const text = out.length ? out.join("\n") + "\n" : "";
  if (values.output) await Deno.writeTextFile(values.output, text);
  else await Deno.stdout.write(new TextEncoder().encode(text));
  const mean = scored ? (total / scored).toFixed(4) : "n/a";
  console.error(`${values.fn}: scored ${scored} lines, mean score ${mean}, ${errors} bad lines`);
  return errors ? 1 : 0;
}
