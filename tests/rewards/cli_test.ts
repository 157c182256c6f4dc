import assert from "node:assert/strict";
import { main } from "../../rewards/cli.ts";

async function runCli(
  lines: string[],
  args: string[],
): Promise<{ code: number; out: Record<string, unknown>[] }> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/in.jsonl`, lines.join("\n") + "\n");
    const code = await main([
      ...args,
      "--input",
      `${dir}/in.jsonl`,
      "--output",
      `${dir}/out.jsonl`,
    ]);
    const text = await Deno.readTextFile(`${dir}/out.jsonl`);
    return { code, out: text.trim().split("\n").map((l) => JSON.parse(l)) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: scores lines in order, adds score and extracted, keeps other fields", async () => {
  const { code, out } = await runCli([
    JSON.stringify({ id: 1, response: "so \\boxed{\\frac12}", gold: "0.5" }),
    JSON.stringify({ id: 2, response: "The answer is 7.", gold: "8" }),
    JSON.stringify({ id: 3, response: "\\boxed{3}", gold: "3", finish: "length" }),
  ], ["--fn", "math", "--extract", "auto"]);
  assert.equal(code, 0);
  assert.deepEqual(out.map((o) => [o.id, o.score, o.extracted]), [[1, 1, "\\frac12"], [2, 0, "7"], [
    3,
    0,
    "3",
  ]]);
});

Deno.test("cli: a bad line is reported by number; the others are still scored", async () => {
  const { code, out } = await runCli([
    JSON.stringify({ response: "\\boxed{1}", gold: "1" }),
    "{not json",
    JSON.stringify({ gold: "1" }),
    JSON.stringify({ response: "\\boxed{2}", gold: "2" }),
  ], ["--fn", "math", "--extract", "boxed", "--reasons"]);
  assert.equal(code, 1);
  assert.equal(out.length, 4);
  assert.equal(out[0].score, 1);
  assert.match(String(out[1].error), /in\.jsonl:2: /);
  assert.match(String(out[2].error), /in\.jsonl:3: missing string field 'response'/);
  assert.equal(out[3].score, 1);
  assert.equal(typeof out[3].reason, "string");
});

Deno.test("cli: countdown and format by name; unknown names and options are errors", async () => {
  const cd = await runCli(
    [JSON.stringify({
      response: "<answer>8*6/(4-2)</answer>",
      gold: { target: 24, numbers: [2, 4, 6, 8] },
    })],
    ["--fn", "countdown"],
  );
  assert.deepEqual([cd.code, cd.out[0].score, cd.out[0].extracted], [0, 1, "8*6/(4-2)"]);
  const f = await runCli([
    JSON.stringify({ response: "<think>a</think><answer>b</answer>", gold: null }),
  ], ["--fn", "format"]);
  assert.equal(f.out[0].score, 1);
  assert.equal(await main(["--fn", "nope"]), 2);
  assert.equal(await main(["--fn", "math", "--extract", "regex"]), 2);
  assert.equal(await main(["--bogus"]), 2);
});

Deno.test("cli: --extract auto reads the committed choice; --extract orz needs </answer>", async () => {
  const prose = "The answer is (B): (A) ignores friction and (D) double counts.";
  const auto = await runCli([
    JSON.stringify({ response: prose, gold: "B" }),
    JSON.stringify({ response: prose, gold: "D" }),
    JSON.stringify({ response: "So $\\boxed{25\\%}$.", gold: "The discount is $25\\%$ off." }),
  ], ["--fn", "math", "--extract", "auto"]);
  assert.deepEqual(auto.out.map((o) => [o.score, o.extracted]), [[1, "B"], [0, "B"], [
    1,
    "25\\%",
  ]]);
  const unclosed = JSON.stringify({ response: "<think>t</think> <answer> \\boxed{4}", gold: "4" });
  const orz = await runCli([unclosed], ["--fn", "math", "--extract", "orz"]);
  assert.equal(orz.out[0].score, 0);
  const lenient = await runCli([unclosed], [
    "--fn",
    "math",
    "--extract",
    "orz",
    "--options",
    '{"unclosedAnswer":"stop"}',
  ]);
  assert.equal(lenient.out[0].score, 1);
});
