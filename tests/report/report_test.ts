/**
 * `deno task report`: small run folders with synthetic metrics and samples, written here,
 * rendered to HTML. One `<svg` per plotted metric, absent metrics skipped, model output
 * escaped, two runs overlaid in one comparison, malformed input → one line naming the file
 * and line; and, when a Chromium binary is found, the page opened in headless Chromium:
 * no script errors, no blocked fetches, its plots in the DOM.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { stringify } from "yaml";
import { run as runCli } from "../../cli.ts";
import {
  configDiff,
  defaultOut,
  groupRuns,
  isOrzRecipe,
  loadRuns,
  PLOTS,
  renderReport,
  writeReport,
} from "../../report/report.ts";
import { bandCurve } from "../../report/groups.ts";

const XSS = "<script>alert(1)</script>";
const XSS_TITLE = "<script>document.title='PWNED'</script>";

interface RunOpts {
  algorithm?: "ppo" | "grpo";
  steps?: number;
  kl?: boolean;
  evalEvery?: number;
  summary?: boolean;
  seed?: number;
  /** The response of every sample line (default: a short answer). */
  response?: string;
  /** GAE γ, λ (default: 1, 1, which with PPO and no KL is ORZ's recipe). */
  gae?: [number, number];
  /** Added to every train metric (tells seeds apart in band tests). */
  offset?: number;
}

/** Write a run folder like the trainer's: config.yaml, metrics.jsonl, samples.jsonl, summary. */
async function makeRun(dir: string, o: RunOpts = {}): Promise<void> {
  const algorithm = o.algorithm ?? "ppo";
  const steps = o.steps ?? 6;
  const evalEvery = o.evalEvery ?? 3;
  const seed = o.seed ?? 0;
  await Deno.mkdir(dir, { recursive: true });
  const config = {
    run: { name: "synthetic", dir, seed },
    algorithm,
    model: { path: null, init: { hidden_size: 32, layers: 2, heads: 4, kv_heads: 2 } },
    train: { steps, prompts_per_step: 4, samples_per_prompt: 4 },
    rollout: { max_new_tokens: 16, temperature: 1 },
    reward: { name: "math", extract: "answer" },
    kl: { mode: o.kl ? "loss" : "none", estimator: "k3", coef: 0.001 },
    gae: { gamma: o.gae?.[0] ?? 1, lambda: o.gae?.[1] ?? 1 },
    data: { train: { task: "parity", difficulty: [2, 4], count: 64 }, eval: null },
  };
  await Deno.writeTextFile(`${dir}/config.yaml`, stringify(config));
  const metrics: object[] = [];
  const evalLine = (s: number) => ({
    "eval/accuracy": 0.1 + 0.05 * s / steps + seed * 0.01,
    "eval/pass@1": 0.2,
    "eval/length_mean": 12 - s / steps,
    "eval/stop_ratio": 0.5,
  });
  metrics.push({ step: 0, ...evalLine(0) });
  for (let s = 1; s <= steps; s++) {
    metrics.push({
      step: s,
      "reward/mean": s / steps + (o.offset ?? 0),
      "reward/std": 0.3,
      accuracy: s / steps,
      "response/length_mean": 10 + Math.sin(s),
      "response/stop_ratio": 0.5,
      entropy: 3.7 - s * 0.01,
      ...(algorithm === "ppo" ? { "loss/value": 0.1 / s, "value/explained_variance": null } : {}),
      "loss/policy": 0,
      clipfrac: 0.01 * s,
      ...(o.kl ? { "kl/k1": 0.001 * s, "kl/k2": 0.001 * s, "kl/k3": 0.001 * s } : {}),
      ...(s % evalEvery === 0 || s === steps ? evalLine(s) : {}),
      "time/step": 0.5,
    });
  }
  await Deno.writeTextFile(
    `${dir}/metrics.jsonl`,
    metrics.map((m) => JSON.stringify(m)).join("\n") + "\n",
  );
  const samples: object[] = [];
  const sample = (step: number, kind: string, i: number) => ({
    step,
    kind,
    problem: `parity:${kind}:${i}`,
    question: `parity 0 1 ${i}`,
    gold: i % 2,
    response: o.response ?? `<answer>${i % 2}</answer>`,
    finish: i % 2 ? "stop" : "length",
    score: i % 2,
    correct: i % 2 === 1,
    reason: "answer matches",
    tokens: 9,
    ...(kind === "train" ? { advantage_first: 0.5, advantage_last: -0.25 } : {}),
  });
  for (let i = 0; i < 2; i++) samples.push(sample(0, "eval", i));
  for (let s = 1; s <= steps; s++) {
    for (let i = 0; i < 2; i++) samples.push(sample(s, "train", i));
    if (s % evalEvery === 0 || s === steps) samples.push(sample(s, "eval", 0));
  }
  await Deno.writeTextFile(
    `${dir}/samples.jsonl`,
    samples.map((m) => JSON.stringify(m)).join("\n") + "\n",
  );
  if (o.summary ?? true) {
    const summary = {
      steps,
      seconds: 12.5,
      seed,
      algorithm,
      base_accuracy: 0.1,
      final_accuracy: 0.15,
      base_length: 12,
      final_length: 11,
      final_train_reward: 1,
    };
    await Deno.writeTextFile(`${dir}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
  }
}

/** The stroke colours of a plot's line marks (one per run drawn), sorted. */
function lineStrokes(svg: string): string[] {
  const paths = svg.match(/<path[^>]*aria-roledescription="line mark"[^>]*>/g) ?? [];
  return paths.map((p) => p.match(/stroke="([^"]+)"/)![1]).sort();
}

function count(html: string, needle: string): number {
  return html.split(needle).length - 1;
}

/** The metrics of the plots in the page, in order. */
function plotted(html: string): string[] {
  return [...html.matchAll(/<figure class="plot" data-metric="([^"]+)">/g)].map((m) => m[1]);
}

/** The SVG of one plot. */
function plotSvg(html: string, metric: string): string {
  const start = html.indexOf(`<figure class="plot" data-metric="${metric}">`);
  assert.ok(start >= 0, `no plot of ${metric}`);
  return html.slice(start, html.indexOf("</figure>", start));
}

const tmp = await Deno.makeTempDir({ prefix: "zk-report-" });
addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

Deno.test("one PPO run: one <svg> per logged metric, KL skipped, written to RUN_DIR/report.html", async () => {
  const dir = `${tmp}/ppo`;
  await makeRun(dir, { algorithm: "ppo" });
  const path = await writeReport([dir]);
  assert.equal(path, `${dir}/report.html`);
  const html = await Deno.readTextFile(path);
  const expected = PLOTS.map((p) => p.metric).filter((m) => m !== "kl/k3");
  assert.deepEqual(plotted(html), expected);
  assert.equal(count(html, "<svg"), expected.length);
  assert.match(html, /Not plotted \(no run logged them\): <code>kl\/k3<\/code>/);
  // Header: base → final from summary.json, steps, seconds, seed.
  assert.match(html, /held-out accuracy <b>0\.100 → 0\.150<\/b>/);
  assert.match(html, /length <b>12\.0 → 11\.0<\/b> tokens · 6 steps · 12\.5 s · seed 0/);
  // Key settings from config.yaml.
  assert.match(html, /<th>algorithm<\/th><td>ppo<\/td>/);
  assert.match(html, /<th>prompts × samples per step<\/th><td>4 × 4<\/td>/);
  // Samples at the start, middle and end of training, and held-out base vs final.
  for (const h of ["start of training · step 1", "middle of training · step 3"]) {
    assert.ok(html.includes(`<h3>${h}</h3>`), h);
  }
  assert.ok(html.includes("<h3>end of training · step 6</h3>"));
  assert.ok(html.includes("<h3>held-out, base model</h3>"));
  assert.ok(html.includes("<h3>held-out, step 6</h3>"));
  // Self-contained: no script, nothing fetched (the only URLs are XML namespaces).
  assert.equal(count(html, "<script"), 0);
  const urls = [...html.matchAll(/https?:\/\/[^"' )]+/g)].map((m) => m[0]);
  assert.ok(urls.every((u) => u.startsWith("http://www.w3.org/")), urls.join(" "));
  // Deterministic: the same folder renders to the same page.
  assert.equal(await renderReport([dir]), html);
});

Deno.test("GRPO (no critic) without summary.json: value loss and KL skipped", async () => {
  const dir = `${tmp}/grpo`;
  await makeRun(dir, { algorithm: "grpo", summary: false });
  const html = await renderReport([dir]);
  const expected = PLOTS.map((p) => p.metric).filter((m) => m !== "kl/k3" && m !== "loss/value");
  assert.deepEqual(plotted(html), expected);
  assert.equal(count(html, "<svg"), expected.length);
  assert.match(html, /no summary\.json \(run unfinished\?\) · 6 steps logged/);
  assert.match(html, /<th>critic lr<\/th><td>— \(no critic\)<\/td>/);
});

Deno.test("long runs draw a moving mean over the raw curve", async () => {
  const dir = `${tmp}/long`;
  await makeRun(dir, { steps: 120, evalEvery: 20 });
  const html = await renderReport([dir]);
  assert.equal(count(html, "<svg"), PLOTS.length - 1);
  assert.match(plotSvg(html, "reward/mean"), /faint: raw, solid: mean over 9 steps/);
  assert.equal(lineStrokes(plotSvg(html, "reward/mean")).length, 2); // raw + moving mean
  // Eval has 7 points: plotted raw, with no smoothing note.
  assert.doesNotMatch(plotSvg(html, "eval/accuracy"), /faint: raw/);
});

Deno.test("model output and folder names are HTML-escaped everywhere", async () => {
  const dir = `${tmp}/xss<i>run`;
  const other = `${tmp}/plain`;
  await makeRun(other);
  await makeRun(dir, { response: `${XSS} & "quotes" 'too' \u0000` });
  const lines = (await Deno.readTextFile(`${dir}/samples.jsonl`)).trim().split("\n");
  const first = { ...JSON.parse(lines[0]), question: `<img src=x onerror=alert(1)>`, gold: XSS };
  lines[0] = JSON.stringify(first);
  await Deno.writeTextFile(`${dir}/samples.jsonl`, lines.join("\n") + "\n");
  const html = await renderReport([dir, other]);
  assert.ok(!html.includes(XSS), "raw <script> in the page");
  assert.ok(!html.includes("<img"), "raw <img> in the page");
  assert.ok(!html.includes("<i>run"), "raw folder name in the page");
  assert.equal(count(html, "<script"), 0);
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;"));
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(html.includes("xss&lt;i&gt;run"));
  assert.ok(!html.includes("\u0000"));
});

Deno.test("two runs: curves overlaid in one colour each, final metrics per run", async () => {
  const a = `${tmp}/cmp/a`;
  const b = `${tmp}/cmp/b`;
  await makeRun(a, { seed: 1 });
  await makeRun(b, { seed: 2, kl: true });
  const path = await writeReport([a, b], `${tmp}/cmp/report.html`);
  assert.equal(path, `${tmp}/cmp/report.html`);
  const html = await Deno.readTextFile(path);
  assert.match(html, /<h1>Comparison of 2 runs<\/h1>/);
  // KL is plotted because one run logged it; every plot is one SVG.
  assert.deepEqual(plotted(html), PLOTS.map((p) => p.metric));
  assert.equal(count(html, "<svg"), PLOTS.length);
  for (const metric of ["reward/mean", "eval/accuracy", "entropy"]) {
    // One line per run, in the run's colour, and a legend naming both.
    assert.deepEqual(lineStrokes(plotSvg(html, metric)), ["#4c78a8", "#f58518"], metric);
    assert.match(plotSvg(html, metric), />a<\/text>/);
    assert.match(plotSvg(html, metric), />b<\/text>/);
  }
  // Only run b logged KL: one line, in b's colour.
  assert.deepEqual(lineStrokes(plotSvg(html, "kl/k3")), ["#f58518"]);
  // The table of final metrics: one row per run.
  const start = html.indexOf('<table class="metrics">');
  const table = html.slice(start, html.indexOf("</table>", start));
  assert.equal(count(table, "<tr>"), 3);
  assert.match(table, /a<\/th><td>ppo<\/td><td>1<\/td><td>6<\/td><td>12\.5<\/td>/);
  assert.match(table, /b<\/th><td>ppo<\/td><td>2<\/td><td>6<\/td><td>12\.5<\/td>/);
  // Settings that differ (seed, KL) are marked.
  assert.match(
    html,
    /<tr class="differs"><th>KL<\/th><td>none<\/td><td>loss, k3, coef 0\.001<\/td>/,
  );
  assert.match(html, /<tr class="differs"><th>seed<\/th>/);
  assert.match(html, /<tr><th>steps<\/th><td>6<\/td><td>6<\/td><\/tr>/);
  // The comparison table: ORZ's recipe (a) first even when given second; b as its overrides.
  const swapped = await renderReport([b, a]);
  assert.match(swapped, /<h2>Comparison<\/h2>/);
  const cmp = swapped.slice(swapped.indexOf('<table class="metrics comparison">'));
  const rows = cmp.slice(0, cmp.indexOf("</table>")).split("<tr>").slice(2);
  assert.equal(rows.length, 2);
  assert.match(rows[0], /a<\/th><td>\(ORZ&#39;s recipe: the reference\)<\/td><td>1 /);
  assert.match(rows[1], /b<\/th><td><code>kl\.mode=loss<\/code><\/td><td>1 /);
});

Deno.test("variants: seeds grouped by config, ORZ's recipe first, the rest as its overrides", async () => {
  const d = `${tmp}/groups`;
  // Given out of order: a λ = 0.95 variant (2 seeds), a GRPO run, then ORZ's recipe (2 seeds).
  await makeRun(`${d}/lam-s0`, { seed: 0, gae: [1, 0.95] });
  await makeRun(`${d}/lam-s1`, { seed: 1, gae: [1, 0.95] });
  await makeRun(`${d}/grpo-s0`, { seed: 0, algorithm: "grpo" });
  await makeRun(`${d}/orz-s0`, { seed: 0 });
  await makeRun(`${d}/orz-s1`, { seed: 1 });
  const runs = await loadRuns(
    ["lam-s0", "lam-s1", "grpo-s0", "orz-s0", "orz-s1"].map((n) => `${d}/${n}`),
  );
  const variants = groupRuns(runs);
  assert.deepEqual(variants.map((v) => v.label), ["orz", "lam", "grpo-s0"]);
  assert.deepEqual(variants.map((v) => v.runs.length), [2, 2, 1]);
  assert.deepEqual(variants.map((v) => v.orz), [true, false, false]);
  assert.ok(variants[0].reference && !variants[1].reference);
  assert.deepEqual(variants[0].overrides, []);
  assert.deepEqual(variants[1].overrides, ["gae.lambda=0.95"]);
  assert.deepEqual(variants[2].overrides, ["algorithm=grpo"]);
  // Without an ORZ-recipe run the first variant is the reference.
  const noOrz = groupRuns(runs.slice(0, 3));
  assert.deepEqual(noOrz.map((v) => [v.label, v.orz, v.reference]), [
    ["lam", false, true],
    ["grpo-s0", false, false],
  ]);
  assert.deepEqual(noOrz[1].overrides, ["algorithm=grpo", "gae.lambda=1"]);
  assert.equal(isOrzRecipe(runs[3].config), true);
  assert.equal(isOrzRecipe({ ...runs[3].config, kl: { mode: "loss" } }), false);
  assert.equal(isOrzRecipe({ ...runs[3].config, reward: { name: "format" } }), false);
  assert.equal(isOrzRecipe(null), false);
  // run.* never counts; nested keys are dotted; a key only one side has is listed.
  assert.deepEqual(
    configDiff(
      { run: { seed: 0 }, a: { b: 1, c: [1, 2] }, d: "x" },
      { run: { seed: 5 }, a: { b: 1, c: [1, 3], e: true }, d: "y" },
    ),
    ["a.c=[1,3]", "d=y", "a.e=true"],
  );
  assert.deepEqual(configDiff({ a: { b: 1 } }, {}), ["a.b=null"]);
});

Deno.test("a variant's curve: mean over the seeds that logged each step, band ± sample std", async () => {
  const d = `${tmp}/band`;
  // Random curves; seed 2 logs every other step only.
  const rand = (() => {
    let x = 0x9e3779b9;
    return () => ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  })();
  const curves = [0, 1, 2].map((seed) =>
    Array.from({ length: 9 }, (_, s) => ({ step: s + 1, v: rand() * 3 - 1 }))
      .filter(({ step }) => seed < 2 || step % 2 === 0)
  );
  for (const [seed, c] of curves.entries()) {
    await Deno.mkdir(`${d}/v-s${seed}`, { recursive: true });
    await Deno.writeTextFile(`${d}/v-s${seed}/config.yaml`, stringify({ run: { seed }, x: 1 }));
    await Deno.writeTextFile(
      `${d}/v-s${seed}/metrics.jsonl`,
      c.map(({ step, v }) => JSON.stringify({ step, m: v })).join("\n") + "\n",
    );
  }
  const [variant] = groupRuns(await loadRuns([0, 1, 2].map((s) => `${d}/v-s${s}`)));
  assert.equal(variant.runs.length, 3);
  const reference = (window: number) =>
    Array.from({ length: 9 }, (_, i) => i + 1).map((step) => {
      const xs = curves.flatMap((c) => {
        const i = c.findIndex((p) => p.step === step);
        if (i < 0) return [];
        const w = c.slice(Math.max(0, i - window), i + window + 1);
        return [w.reduce((s, p) => s + p.v, 0) / w.length];
      });
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
      return { step, mean, std, n: xs.length };
    });
  for (const window of [0, 2]) {
    const got = bandCurve(variant, "m", window);
    const want = reference(window);
    assert.deepEqual(got.map((p) => [p.step, p.n]), want.map((p) => [p.step, p.n]));
    for (const [i, p] of got.entries()) {
      assert.ok(Math.abs(p.value - want[i].mean) < 1e-12, `step ${p.step}`);
      assert.ok(Math.abs(p.hi - p.lo - 2 * want[i].std) < 1e-12, `step ${p.step}`);
    }
  }
  assert.deepEqual(bandCurve(variant, "absent"), []);
});

Deno.test("a sweep's report: one curve and band per variant, a comparison table with ORZ first", async () => {
  const d = `${tmp}/sweep`;
  const dirs: string[] = [];
  for (const [name, gae] of [["gamma_0.9", [0.9, 1]], ["orz", [1, 1]]] as const) {
    for (const seed of [0, 1, 2]) {
      dirs.push(`${d}/${name}-s${seed}`);
      await makeRun(dirs.at(-1)!, { seed, gae: [...gae], offset: 0.1 * seed });
    }
  }
  const html = await renderReport(dirs);
  assert.match(html, /<h2>Comparison \(mean ± std over seeds\)<\/h2>/);
  const table = html.slice(html.indexOf('<table class="metrics comparison">'));
  const rows = table.slice(0, table.indexOf("</table>")).split("<tr>").slice(2);
  assert.equal(rows.length, 2);
  assert.match(rows[0], /orz<\/th><td>\(ORZ&#39;s recipe: the reference\)<\/td><td>3 /);
  assert.match(rows[1], /gamma_0\.9<\/th><td><code>gae\.gamma=0\.9<\/code><\/td><td>3 /);
  // summary.json's accuracies (the same for every seed here) win over the metric lines.
  assert.match(rows[0], /<td>0\.100 ± 0\.000 → 0\.150 ± 0\.000<\/td>/);
  // Reward: each seed's last step is 1 + 0.1·seed: mean 1.100, std 0.100.
  assert.match(rows[0], /<td>1\.100 ± 0\.100<\/td>/);
  // Curves: one line per variant (not per run), each with a band.
  const svg = plotSvg(html, "reward/mean");
  assert.deepEqual(lineStrokes(svg), ["#4c78a8", "#f58518"]);
  assert.equal(count(svg, 'aria-roledescription="area mark"'), 2);
  assert.match(svg, />orz<\/text>/);
  assert.match(svg, />gamma_0\.9<\/text>/);
  // The settings table has a column per variant; the seed row lists the seeds.
  assert.match(html, /<tr class="differs"><th>GAE γ, λ<\/th><td>1, 1<\/td><td>0\.9, 1<\/td>/);
  assert.match(html, /<tr><th>seed<\/th><td>0, 1, 2<\/td><td>0, 1, 2<\/td><\/tr>/);
});

Deno.test("default output: RUN_DIR/report.html for one run, ./report.html for several", () => {
  assert.equal(defaultOut(["runs/x"]), "runs/x/report.html");
  assert.equal(defaultOut(["runs/x/"]), "runs/x/report.html");
  assert.equal(defaultOut(["runs/s/a", "runs/s/b/"]), "report.html");
  assert.equal(defaultOut(["runs/a", "other/b"]), "report.html");
});

Deno.test("malformed input: one line naming the file and line", async () => {
  const dir = `${tmp}/bad`;
  await makeRun(dir);
  const good = await Deno.readTextFile(`${dir}/metrics.jsonl`);
  const cases: Array<[string, string, RegExp]> = [
    [
      "metrics.jsonl",
      good.replace(/\n/, '\n{"step": 1, "reward/mean": 0.\n'),
      /:2: malformed JSON line \(/,
    ],
    ["metrics.jsonl", good + "[1, 2]\n", /:8: expected a JSON object, got an array$/],
    [
      "metrics.jsonl",
      good + '{"reward/mean": 1}\n',
      /:8: "step" must be a non-negative integer, got undefined$/,
    ],
    ["samples.jsonl", '{"step": 1}\nnot json\n', /samples\.jsonl:2: malformed JSON line \(/],
    ["summary.json", "{", /summary\.json: malformed JSON \(/],
  ];
  for (const [file, text, want] of cases) {
    await makeRun(dir);
    await Deno.writeTextFile(`${dir}/${file}`, text);
    const err = await renderReport([dir]).then(() => null, (e: Error) => e);
    assert.ok(err instanceof Error, `${file}: no error`);
    assert.ok(err.message.startsWith(`${dir}/${file}`), err.message);
    assert.match(err.message, want);
    assert.ok(!err.message.includes("\n"), `not one line: ${err.message}`);
  }
  await assert.rejects(renderReport([`${tmp}/missing`]), {
    message: `run folder not found: ${tmp}/missing`,
  });
  await Deno.mkdir(`${tmp}/empty`, { recursive: true });
  await assert.rejects(renderReport([`${tmp}/empty`]), /empty\/metrics\.jsonl not found/);
});

Deno.test("cli: report RUN_DIR writes the page; a missing folder is one stderr line", async () => {
  const dir = `${tmp}/cli`;
  await makeRun(dir);
  const out = `${tmp}/cli-out/page.html`;
  const logged: string[] = [];
  const errors: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => logged.push(a.join(" "));
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  let ok: number, bad: number, none: number;
  try {
    ok = await runCli(["report", dir, "--out", out]);
    bad = await runCli(["report", `${tmp}/missing`]);
    none = await runCli(["report"]);
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.equal(ok, 0);
  assert.deepEqual(logged, [`report: ${out}`]);
  assert.ok((await Deno.readTextFile(out)).includes("<svg"));
  assert.equal(bad, 1);
  assert.deepEqual(errors.slice(0, 1), [`error: run folder not found: ${tmp}/missing`]);
  assert.equal(none, 2);
});

// ---------------------------------------------------------------------------------------
// In a browser

/** A Chromium binary on PATH (or $CHROMIUM), or null. */
function findChromium(): string | null {
  const env = Deno.env.get("CHROMIUM");
  const names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (
    const path of [
      ...(env ? [env] : []),
      ...dirs.flatMap((d) => names.map((n) => `${d}/${n}`)),
    ]
  ) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return null;
}

const chromium = findChromium();
if (!chromium) console.log("report_test: no chromium binary found; skipping the browser test");

/** Run headless Chromium on a file; returns stdout (the DOM for --dump-dom) and stderr. */
async function headless(args: string[], file: string) {
  const profile = await Deno.makeTempDir({ dir: tmp, prefix: "chromium-" });
  const cmd = new Deno.Command(chromium!, {
    args: [
      "--headless",
      "--disable-gpu",
      "--no-sandbox",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      "--enable-logging=stderr",
      "--v=0",
      "--virtual-time-budget=5000",
      ...args,
      `file://${resolve(file)}`,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
  const r = await cmd.output();
  const dec = new TextDecoder();
  return { code: r.code, dom: dec.decode(r.stdout), log: dec.decode(r.stderr) };
}

/** Console lines Chromium logged for page errors (uncaught exceptions, CSP refusals). */
function pageErrors(log: string): string[] {
  return log.split("\n").filter((l) => /CONSOLE|Uncaught|Refused to/.test(l));
}

Deno.test({
  name: "browser: the report loads with no script errors and shows its plots",
  ignore: chromium === null,
  sanitizeResources: false,
  fn: async () => {
    const a = `${tmp}/web/a`;
    const b = `${tmp}/web/b`;
    await makeRun(a, { response: `${XSS}${XSS_TITLE}` });
    await makeRun(b, { seed: 3, kl: true });
    const path = await writeReport([a, b], `${tmp}/web/report.html`);
    const html = await Deno.readTextFile(path);

    // 1. The page as written (its CSP on): parsed DOM has every plot, and nothing was
    //    refused (no fetch, no script) and nothing logged.
    const plain = await headless(["--dump-dom"], path);
    assert.equal(plain.code, 0, plain.log);
    assert.equal(count(plain.dom, "<svg"), PLOTS.length);
    assert.deepEqual(pageErrors(plain.log), []);

    // 2. An instrumented copy without the CSP (so a script that escaped would run): an
    //    onerror hook and a final script write the error list, the SVG count and the title
    //    into the DOM.
    const hook = "<script>window.__errors=[];window.onerror=function(m){window.__errors.push(" +
      "String(m));};</script>";
    const probe = "<script>document.body.setAttribute('data-probe',JSON.stringify({errors:" +
      "window.__errors,svgs:document.querySelectorAll('svg').length,figures:" +
      "document.querySelectorAll('figure.plot svg').length,title:document.title," +
      "scripts:document.scripts.length}));</script>";
    const instrumented = html
      .replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, "")
      .replace("<head>", `<head>${hook}`)
      .replace("</body>", `${probe}</body>`);
    assert.notEqual(instrumented, html);
    const probed = `${tmp}/web/probed.html`;
    await Deno.writeTextFile(probed, instrumented);
    const run = await headless(["--dump-dom"], probed);
    const m = run.dom.match(/data-probe="([^"]*)"/);
    assert.ok(m, `no probe marker in the DOM:\n${run.dom.slice(0, 500)}\n${run.log}`);
    const probe_ = JSON.parse(m[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&"));
    assert.deepEqual(probe_.errors, []);
    assert.equal(probe_.svgs, PLOTS.length);
    assert.equal(probe_.figures, PLOTS.length);
    assert.equal(probe_.title, "zerokit comparison: 2 runs"); // the sample's script did not run
    assert.equal(probe_.scripts, 2); // only the hook and the probe
    assert.deepEqual(pageErrors(run.log), []);

    // 3. The hook does catch errors (a control page that throws).
    const control = `${tmp}/web/control.html`;
    await Deno.writeTextFile(
      control,
      instrumented.replace(probe, `<script>undefinedFunction();</script>${probe}`),
    );
    const bad = await headless(["--dump-dom"], control);
    assert.match(bad.dom, /undefinedFunction is not defined/);
    assert.equal(pageErrors(bad.log).length > 0, true);

    // 4. A screenshot (PNG) renders.
    const png = `${tmp}/web/report.png`;
    const shot = await headless([`--screenshot=${png}`, "--window-size=1300,2400"], path);
    assert.equal(shot.code, 0, shot.log);
    const bytes = await Deno.readFile(png);
    assert.deepEqual([...bytes.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert.ok(bytes.length > 20_000, `screenshot is ${bytes.length} bytes`);
  },
});
