/**
 * The loaders on the real datasets in ../shared/data (read in place, never copied; skipped
 * with a message when absent), on small temp files for ORZ's format and named fields, and
 * on malformed files, whose errors must be one line naming the file and the line.
 */
import assert from "node:assert/strict";
import {
  DataError,
  type LoadOptions,
  loadProblems,
  loadProblemsWithReport,
} from "../../data/mod.ts";

const DATA = new URL("../../../shared/data/", import.meta.url).pathname;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Whether to skip a test that needs these shared files, saying so when it does. */
function missing(...files: string[]): boolean {
  const absent = files.filter((f) => !exists(DATA + f));
  for (const f of absent) console.warn(`${DATA + f} not found: skipped`);
  return absent.length > 0;
}

interface RealCase {
  file: string;
  format: string;
  count: number;
  skipped: number;
  /** A known record index and its gold. */
  known: [index: number, gold: string];
}

const REAL: RealCase[] = [
  { file: "gsm8k/test.jsonl", format: "gsm8k", count: 1319, skipped: 0, known: [0, "18"] },
  {
    file: "math500/test.jsonl",
    format: "math",
    count: 500,
    skipped: 0,
    known: [0, "\\left( 3, \\frac{\\pi}{2} \\right)"],
  },
  // 7,474 records, of which two have answer "" and two answer null: 7,470 kept.
  { file: "math_train/train.json", format: "math", count: 7470, skipped: 4, known: [0, "0"] },
  { file: "competition/aime2024.json", format: "math", count: 30, skipped: 0, known: [0, "204"] },
  // AMC writes answers as JSON numbers (142.0): the gold is "142".
  { file: "competition/amc.json", format: "math", count: 83, skipped: 0, known: [0, "142"] },
  { file: "gpqa/gpqa_diamond.json", format: "gpqa", count: 198, skipped: 0, known: [0, "D"] },
];

for (const c of REAL) {
  const path = DATA + c.file;
  Deno.test({
    name: `loaders: ${c.file} has ${c.count} problems (${c.format})`,
    ignore: missing(c.file),
    async fn() {
      const { problems, skipped, format } = await loadProblemsWithReport(path);
      assert.equal(format, c.format);
      assert.equal(problems.length, c.count);
      assert.equal(skipped, c.skipped);
      const stem = c.file.split("/").pop()!.replace(/\.jsonl?$/, "");
      const [index, gold] = c.known;
      const known = problems.find((p) => p.id === `${stem}:${index}`);
      assert.equal(known?.gold, gold);
      assert.equal(new Set(problems.map((p) => p.id)).size, problems.length, "ids are unique");
      for (const p of problems) {
        assert.ok(p.question.trim() !== "" && p.gold !== "", p.id);
        assert.equal(p.meta?.source, stem);
      }
    },
  });
}

Deno.test({
  name: "loaders: GSM8K golds drop thousands separators, keep signs; MATH train skips empties",
  ignore: missing("gsm8k/test.jsonl", "math_train/train.json"),
  async fn() {
    const gsm = await loadProblems(DATA + "gsm8k/test.jsonl");
    assert.equal(gsm[146].gold, "2125"); // "#### 2,125"
    assert.equal(gsm[201].gold, "114200"); // "#### 114,200"
    assert.equal(gsm[1113].gold, "-3");
    assert.ok(String(gsm[0].meta?.solution).endsWith("#### 18"), "the worked solution is kept");
    assert.ok(gsm[0].question.startsWith("Janet\u2019s ducks lay 16 eggs per day."));
    const math = await loadProblems(DATA + "math_train/train.json");
    const ids = new Set(math.map((p) => p.id));
    for (const i of [886, 1009, 5328, 5330]) assert.ok(!ids.has(`train:${i}`), `record ${i}`);
    assert.equal((await loadProblems(DATA + "gsm8k/test.jsonl", { limit: 5 })).length, 5);
  },
});

Deno.test({
  name: "loaders: GPQA's question is the user turn, its gold the letter",
  ignore: missing("gpqa/gpqa_diamond.json"),
  async fn() {
    const [first] = await loadProblems(DATA + "gpqa/gpqa_diamond.json");
    assert.ok(first.question.startsWith("Among the following exoplanets"));
    assert.ok(first.question.endsWith("D. c"));
    assert.deepEqual(first.meta?.choices, { A: "d", B: "a", C: "b", D: "c" });
  },
});

/** A temp file with `text`, removed after `fn`. */
async function withFile<T>(name: string, text: string, fn: (path: string) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "zerokit-data-" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  try {
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loaders: ORZ's training format ([human, assistant] pairs)", async () => {
  const orz = [
    [
      { from: "human", value: "What is $1+1$?" },
      { from: "assistant", ground_truth: { value: "2" } },
    ],
    [
      { from: "human", value: "Simplify $\\frac{2}{4}$." },
      { from: "assistant", ground_truth: { value: "\\frac{1}{2}" } },
    ],
  ];
  const report = await withFile(
    "orz_tiny.json",
    JSON.stringify(orz),
    (p) => loadProblemsWithReport(p),
  );
  assert.equal(report.format, "orz");
  assert.deepEqual(report.problems.map(({ id, question, gold }) => ({ id, question, gold })), [
    { id: "orz_tiny:0", question: "What is $1+1$?", gold: "2" },
    { id: "orz_tiny:1", question: "Simplify $\\frac{2}{4}$.", gold: "\\frac{1}{2}" },
  ]);
});

Deno.test("loaders: named fields, dotted paths, blank and CRLF lines, plain Q/A", async () => {
  const lines = [
    JSON.stringify({ q: { text: "two plus two" }, ground_truth: { value: 4 }, level: 1 }),
    "",
    "   ",
    JSON.stringify({ q: { text: "three" }, ground_truth: { value: "3" } }) + "\r",
    "",
  ].join("\n");
  const opts: LoadOptions = { question: "q.text", answer: "ground_truth.value" };
  const problems = await withFile("named.jsonl", lines, (p) => loadProblems(p, opts));
  assert.deepEqual(problems.map((p) => [p.id, p.question, p.gold]), [
    ["named:0", "two plus two", "4"],
    ["named:1", "three", "3"],
  ]);
  assert.equal(problems[0].meta?.level, 1);

  // {question, answer} without "####" is a plain Q/A file: the answer is kept as is.
  const plain = JSON.stringify([{ question: "2+2?", answer: "4" }, {
    question: "x",
    answer: "1,000",
  }]);
  const report = await withFile("plain.json", plain, (p) => loadProblemsWithReport(p));
  assert.equal(report.format, "fields");
  assert.deepEqual(report.problems.map((p) => p.gold), ["4", "1,000"]);

  const gsm = [
    '{"question":"a","answer":"so\\n#### 1,000"}',
    '{"question":"b","answer":"#### -7"}',
  ];
  const golds = await withFile("g.jsonl", gsm.join("\n"), (p) => loadProblems(p));
  assert.deepEqual(golds.map((p) => p.gold), ["1000", "-7"]);
});

interface BadCase {
  name: string;
  file: string;
  text: string;
  opts?: LoadOptions;
  /** What the message must contain after the path. */
  expect: string;
}

const Q = (answer: string) => JSON.stringify({ question: "q", answer });
const BAD: BadCase[] = [
  {
    name: "bad JSON on line 3",
    file: "bad.jsonl",
    text: [Q("#### 1"), Q("#### 2"), '{"question": "q", "answer": '].join("\n"),
    expect: ":3: invalid JSON (",
  },
  {
    name: "missing field, blank lines still counted",
    file: "missing.jsonl",
    text: [Q("#### 1"), "", '{"question": "q"}'].join("\n"),
    expect: ':3: missing field "answer"',
  },
  {
    name: "question of the wrong type",
    file: "type.jsonl",
    text: '{"problem": 5, "answer": "1"}',
    expect: ':1: field "problem" must be a string, got number',
  },
  {
    name: "answer of the wrong type",
    file: "type2.jsonl",
    text: '{"problem": "p", "answer": "1"}\n{"problem": "p", "answer": true}',
    expect: ':2: field "answer" must be a string or number, got boolean',
  },
  {
    name: "GSM8K answer without ####",
    file: "gsm.jsonl",
    text: [Q("#### 1"), Q("no final line")].join("\n"),
    expect: ':2: field "answer" has no "#### N" final answer',
  },
  {
    name: "a record that is not an object",
    file: "scalar.jsonl",
    text: [Q("#### 1"), "42"].join("\n"),
    expect: ":2: expected a JSON object, got number",
  },
  { name: "empty file", file: "empty.jsonl", text: "\n \n", expect: ": empty file" },
  { name: "empty JSON file", file: "empty.json", text: "", expect: ": empty file" },
  { name: "empty array", file: "none.json", text: "[]", expect: ": no records" },
  {
    name: "non-array JSON",
    file: "object.json",
    text: '{"problem": "p", "answer": "1"}',
    expect: ": expected a JSON array of records, got object",
  },
  { name: "invalid whole-file JSON", file: "broken.json", text: "[{]", expect: ": invalid JSON (" },
  {
    name: "JSON array record",
    file: "records.json",
    text: JSON.stringify([{ problem: "a", answer: "1" }, { problem: "b" }]),
    expect: ': record 1: missing field "answer"',
  },
  {
    name: "undetectable format",
    file: "odd.jsonl",
    text: '{"foo": 1, "bar": 2}',
    expect: ":1: cannot detect the format (fields: foo, bar)",
  },
  {
    name: "ORZ record that is not a pair",
    file: "orz.json",
    text: JSON.stringify([[{ from: "human", value: "q" }]]),
    opts: { format: "orz" },
    expect: ": record 0: expected a [human, assistant] pair",
  },
  {
    name: "fields format without names",
    file: "fields.jsonl",
    text: Q("1"),
    opts: { format: "fields", question: "question" },
    expect: ': format "fields" needs both question and answer field names',
  },
  {
    name: "unknown file type",
    file: "data.csv",
    text: "a,b",
    expect: ": unknown file type (expected .jsonl or .json)",
  },
];

Deno.test("loaders: malformed files give one-line errors naming the file and line", async () => {
  for (const c of BAD) {
    await withFile(c.file, c.text, async (path) => {
      const err = await loadProblems(path, c.opts).then(() => null, (e) => e);
      assert.ok(err instanceof DataError, `${c.name}: expected a DataError, got ${err}`);
      assert.ok(err.message.startsWith(path), `${c.name}: ${err.message}`);
      assert.ok(err.message.includes(path + c.expect), `${c.name}: ${err.message}`);
      assert.ok(!err.message.includes("\n"), `${c.name}: one line`);
    });
  }
});

Deno.test("loaders: a missing file is `path: no such file`", async () => {
  const path = "/nonexistent/zerokit/nothing.jsonl";
  await assert.rejects(() => loadProblems(path), (e: Error) => {
    return e instanceof DataError && e.message === `${path}: no such file`;
  });
});
