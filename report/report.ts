/**
 * `report.html` for one run folder, or one comparison page for several: a header with the
 * summary numbers, a table of final metrics per run, the key settings, curves over steps
 * (Vega-Lite rendered to inline SVG, one colour per run) and sample responses from the start,
 * middle and end of training.
 *
 * The page is self-contained: no script, no stylesheet or font to fetch, and a
 * Content-Security-Policy that forbids both, so it opens offline and model output (which
 * is untrusted, and HTML-escaped everywhere it appears) cannot run anything.
 *
 *   import { writeReport } from "./report/report.ts";
 *   await writeReport(["runs/tiny-parity-ppo"]);          // → runs/tiny-parity-ppo/report.html
 *   await writeReport(["runs/a", "runs/b"]);              // → ./report.html
 *   const html = await renderReport(["runs/a"]);          // the page as a string
 *
 * @module
 */
import { dirname, join } from "node:path";
import { loadRuns, type RunData, type SampleLine } from "./load.ts";
import { palette, type Plot, type PlotDef, renderPlots } from "./plots.ts";
import { groupRuns, meanStd, runFinals, type Variant } from "./groups.ts";

export { loadRun, loadRuns, type RunData } from "./load.ts";
export { PLOTS } from "./plots.ts";
export { configDiff, groupRuns, isOrzRecipe, type Variant } from "./groups.ts";

/** Samples shown per phase (start, middle, end of training; base and final eval). */
const SAMPLES_PER_PHASE = 3;
/** Longer responses are cut (with a note) so a report of 8k-token runs stays readable. */
const MAX_RESPONSE_CHARS = 20_000;

/** The report's HTML for one run folder or, for several, a comparison of them. */
export async function renderReport(runDirs: string[]): Promise<string> {
  const runs = await loadRuns(runDirs);
  const variants = groupRuns(runs);
  // Seeds of one variant share its colour (and its curve: mean line, band over seeds).
  const grouped = variants.some((v) => v.runs.length > 1);
  const variantColours = palette(variants.length);
  const colours = grouped
    ? runs.map((r) => variantColours[variants.findIndex((v) => v.runs.includes(r))])
    : palette(runs.length);
  const { plots, skipped } = await renderPlots(runs, variants);
  const title = runs.length === 1
    ? `zerokit run: ${runs[0].label}`
    : `zerokit comparison: ${runs.length} runs`;
  const body = [
    header(runs, colours),
    runs.length > 1
      ? section(
        grouped ? "Comparison (mean ± std over seeds)" : "Comparison",
        comparisonTable(variants, grouped ? variantColours : colours),
      )
      : "",
    section("Final metrics", finalTable(runs, colours)),
    section("Settings", settingsTable(grouped ? variants : runs.map(single))),
    section("Curves", plotGrid(plots, skipped)),
    section("Samples", runs.map((r, i) => samplesOf(r, colours[i], runs.length === 1)).join("\n")),
  ].join("\n");
  return page(title, body);
}

/**
 * Write the report and return its path. Default `out`: `RUN_DIR/report.html` for one run,
 * `report.html` in the current folder for several (a sweep passes its own `out`).
 */
export async function writeReport(runDirs: string[], out?: string): Promise<string> {
  const html = await renderReport(runDirs);
  const path = out ?? defaultOut(runDirs);
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, html);
  await Deno.rename(tmp, path);
  return path;
}

/** Where `writeReport` writes when no `out` is given (see there). */
export function defaultOut(runDirs: readonly string[]): string {
  return runDirs.length === 1 ? join(runDirs[0], "report.html") : "report.html";
}

// ---------------------------------------------------------------------------------------
// Sections

function header(runs: RunData[], colours: string[]): string {
  const h1 = runs.length === 1
    ? `<h1>${esc(runs[0].label)}</h1>`
    : `<h1>Comparison of ${runs.length} runs</h1>`;
  const rows = runs.map((r, i) =>
    `<li>${swatch(colours[i])}<b>${esc(r.label)}</b> <span class="dim">${esc(r.dir)}</span>` +
    `<br>${summaryLine(r)}</li>`
  );
  return `<header>${h1}<ul class="runs">${rows.join("")}</ul></header>`;
}

/** base → final accuracy and length, steps, seconds, seed (from summary.json). */
function summaryLine(r: RunData): string {
  const s = r.summary;
  const algo = str(s?.algorithm ?? r.config?.algorithm);
  if (!s) {
    const steps = Math.max(0, ...r.metrics.map((m) => m.step));
    return `<span class="dim">${algo ? `${esc(algo)} · ` : ""}no summary.json (run unfinished?)` +
      ` · ${steps} step${steps === 1 ? "" : "s"} logged</span>`;
  }
  const evaluated = [s.base_accuracy, s.final_accuracy].some((v) => typeof v === "number");
  const parts = [
    algo ? esc(algo) : null,
    evaluated ? `held-out accuracy ${arrow(s.base_accuracy, s.final_accuracy, 3)}` : "no eval",
    evaluated ? `length ${arrow(s.base_length, s.final_length, 1)} tokens` : null,
    `${fmt(s.steps, 0)} steps`,
    `${fmt(s.seconds, 1)} s`,
    `seed ${fmt(s.seed, 0)}`,
  ];
  return parts.filter((p) => p !== null).join(" · ");
}

function arrow(base: unknown, final: unknown, digits: number): string {
  return `<b>${fmt(base, digits)} → ${fmt(final, digits)}</b>`;
}

/**
 * One row per variant, the reference first: ORZ's recipe when a variant runs it (else the
 * first run's variant), and every other variant as its overrides of the reference.
 */
function comparisonTable(variants: Variant[], colours: string[]): string {
  const cols = [
    "variant",
    variants[0].orz ? "difference from ORZ's recipe" : "difference from the first variant",
    "seeds",
    "held-out acc. base → final",
    "held-out length base → final",
    "reward (last step)",
    "length (last step)",
    "seconds",
  ];
  const ms = (xs: (number | undefined)[], digits: number) => {
    const s = meanStd(xs);
    if (s === null) return "—";
    return s.n > 1 ? `${fmt(s.mean, digits)} ± ${s.std.toFixed(digits)}` : fmt(s.mean, digits);
  };
  const rows = variants.map((v, i) => {
    const f = v.runs.map(runFinals);
    const diff = v.reference
      ? (v.orz ? "(ORZ's recipe: the reference)" : "(the reference; not ORZ's recipe)")
      : v.overrides.length > 0
      ? v.overrides.map((o) => `<code>${esc(o)}</code>`).join(" ")
      : "(same config)";
    const seeds = v.runs.map((r) => fmt(get(r.config, "run.seed"), 0)).join(", ");
    const cells = [
      `${swatch(colours[i])}${esc(v.label)}`,
      v.reference || v.overrides.length === 0 ? esc(diff) : diff,
      `${v.runs.length} <span class="dim">(${esc(seeds)})</span>`,
      `${ms(f.map((x) => x.base_accuracy), 3)} → ${ms(f.map((x) => x.final_accuracy), 3)}`,
      `${ms(f.map((x) => x.base_length), 1)} → ${ms(f.map((x) => x.final_length), 1)}`,
      ms(f.map((x) => x.reward), 3),
      ms(f.map((x) => x.length), 1),
      ms(f.map((x) => x.seconds), 0),
    ];
    return `<tr>${cells.map((c, j) => j === 0 ? `<th>${c}</th>` : `<td>${c}</td>`).join("")}</tr>`;
  });
  return `<table class="metrics comparison"><thead><tr>${
    cols.map((c) => `<th>${esc(c)}</th>`).join("")
  }</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Final metrics per run: summary numbers where present, else the metrics' last values. */
function finalTable(runs: RunData[], colours: string[]): string {
  const cols = [
    "run",
    "algorithm",
    "seed",
    "steps",
    "seconds",
    "held-out acc. base → final",
    "held-out length base → final",
    "reward (last step)",
    "length (last step)",
    "stop ratio (last step)",
    "entropy (last step)",
  ];
  const rows = runs.map((r, i) => {
    const s = r.summary;
    const f = runFinals(r);
    const cells = [
      `${swatch(colours[i])}${esc(r.label)}`,
      esc(str(s?.algorithm ?? r.config?.algorithm) ?? "—"),
      fmt(s?.seed ?? get(r.config, "run.seed"), 0),
      fmt(f.steps, 0),
      fmt(f.seconds, 1),
      `${fmt(f.base_accuracy, 3)} → ${fmt(f.final_accuracy, 3)}`,
      `${fmt(f.base_length, 1)} → ${fmt(f.final_length, 1)}`,
      fmt(f.reward, 3),
      fmt(f.length, 1),
      fmt(f.stop_ratio, 3),
      fmt(f.entropy, 3),
    ];
    return `<tr>${cells.map((c, j) => j === 0 ? `<th>${c}</th>` : `<td>${c}</td>`).join("")}</tr>`;
  });
  return `<table class="metrics"><thead><tr>${
    cols.map((c) => `<th>${esc(c)}</th>`).join("")
  }</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** A run as a variant of its own (for the settings table of ungrouped runs). */
function single(r: RunData): Variant {
  return { label: r.label, runs: [r], overrides: [], reference: false, orz: false };
}

/**
 * The settings that tell runs apart, one column per variant (a run, or the seeds of one
 * variant, whose seed row lists them); rows that differ are marked.
 */
function settingsTable(variants: Variant[]): string {
  if (variants.every((v) => v.runs[0].config === null)) {
    return `<p class="dim">No config.yaml in ${
      variants.length === 1 && variants[0].runs.length === 1 ? "the run folder" : "any run"
    }.</p>`;
  }
  const rows = SETTINGS.map(([name, pick]) => {
    const values = variants.map((v) => {
      const c = v.runs[0].config;
      if (!c) return "—";
      return name === "seed" && v.runs.length > 1
        ? v.runs.map((r) => (r.config ? pick(r.config) : "—")).join(", ")
        : pick(c);
    });
    const differs = variants.length > 1 && new Set(values).size > 1;
    return `<tr${differs ? ' class="differs"' : ""}><th>${esc(name)}</th>${
      values.map((v) => `<td>${esc(v)}</td>`).join("")
    }</tr>`;
  });
  const head = variants.length > 1
    ? `<thead><tr><th></th>${variants.map((v) => `<th>${esc(v.label)}</th>`).join("")}</tr></thead>`
    : "";
  const note = variants.length > 1
    ? `<p class="dim">Rows in bold differ between ${
      variants.some((v) => v.runs.length > 1) ? "variants" : "runs"
    }.</p>`
    : "";
  return `<table class="settings">${head}<tbody>${rows.join("")}</tbody></table>${note}`;
}

type Config = Record<string, unknown>;

/** The key settings, each read from the resolved config.yaml. */
const SETTINGS: ReadonlyArray<[string, (c: Config) => string]> = [
  ["algorithm", (c) => show(get(c, "algorithm"))],
  ["model", (c) => {
    const path = get(c, "model.path");
    if (typeof path === "string") return path;
    const init = get(c, "model.init") as Config | undefined;
    if (!init) return "—";
    return `random init: ${show(init.layers)} layers, hidden ${show(init.hidden_size)}, ` +
      `${show(init.heads)} heads (${show(init.kv_heads)} kv)`;
  }],
  ["train data", (c) => dataSource(get(c, "data.train"))],
  ["eval data", (c) => dataSource(get(c, "data.eval"))],
  ["steps", (c) => show(get(c, "train.steps"))],
  [
    "prompts × samples per step",
    (c) =>
      `${show(get(c, "train.prompts_per_step"))} × ${show(get(c, "train.samples_per_prompt"))}`,
  ],
  ["max new tokens", (c) => show(get(c, "rollout.max_new_tokens"))],
  ["temperature", (c) => show(get(c, "rollout.temperature"))],
  ["reward", (c) => {
    const extract = get(c, "reward.extract");
    return show(get(c, "reward.name")) +
      (extract === undefined ? "" : ` (extract ${show(extract)})`);
  }],
  ["advantage norm", (c) => show(get(c, "advantage.norm"))],
  [
    "GAE γ, λ",
    (c) =>
      get(c, "algorithm") === "ppo"
        ? `${show(get(c, "gae.gamma"))}, ${show(get(c, "gae.lambda"))}`
        : "— (no critic)",
  ],
  ["clip low, high", (c) => `${show(get(c, "clip.low"))}, ${show(get(c, "clip.high"))}`],
  ["loss aggregation", (c) => show(get(c, "loss.aggregation"))],
  ["KL", (c) => {
    const mode = get(c, "kl.mode");
    if (mode === undefined || mode === "none") return show(mode ?? "—");
    return `${show(mode)}, ${show(get(c, "kl.estimator"))}, coef ${show(get(c, "kl.coef"))}`;
  }],
  ["actor lr", (c) => show(get(c, "actor.lr"))],
  ["critic lr", (c) => get(c, "algorithm") === "ppo" ? show(get(c, "critic.lr")) : "— (no critic)"],
  ["seed", (c) => show(get(c, "run.seed"))],
];

function dataSource(d: unknown): string {
  if (d === null) return "none";
  if (typeof d !== "object" || d === undefined) return "—";
  const o = d as Config;
  if (typeof o.path === "string") {
    return `${o.path}${typeof o.limit === "number" ? ` (first ${o.limit})` : ""}`;
  }
  if (typeof o.task === "string") {
    return `${o.task} (difficulty ${show(o.difficulty)}, ${show(o.count)} problems)`;
  }
  return show(d);
}

function plotGrid(plots: Plot[], skipped: PlotDef[]): string {
  const figs = plots.map((p) =>
    `<figure class="plot" data-metric="${esc(p.def.metric)}">${p.svg}</figure>`
  );
  const none = plots.length === 0 ? `<p class="dim">No metric lines to plot yet.</p>` : "";
  const note = skipped.length > 0
    ? `<p class="dim">Not plotted (no run logged them): ${
      skipped.map((d) => `<code>${esc(d.metric)}</code>`).join(", ")
    }.</p>`
    : "";
  return `${none}<div class="grid">${figs.join("")}</div>${note}`;
}

/** A run's samples: train at the start, middle and end; held-out at the base and final eval. */
function samplesOf(r: RunData, colour: string, open: boolean): string {
  const train = r.samples.filter((s) => s.kind !== "eval");
  const evals = r.samples.filter((s) => s.kind === "eval");
  const phases: string[] = [];
  for (const [name, step] of phaseSteps(train)) {
    phases.push(phase(`${name} of training · step ${step}`, train.filter((s) => s.step === step)));
  }
  const evalSteps = [...new Set(evals.map((s) => s.step))].sort((a, b) => a - b);
  if (evalSteps.length > 0) {
    const first = evalSteps[0];
    const lastStep = evalSteps.at(-1)!;
    phases.push(phase(
      `held-out, ${first === 0 ? "base model" : `step ${first}`}`,
      evals.filter((s) => s.step === first),
    ));
    if (lastStep !== first) {
      phases.push(phase(`held-out, step ${lastStep}`, evals.filter((s) => s.step === lastStep)));
    }
  }
  const content = phases.length > 0
    ? phases.join("")
    : `<p class="dim">No samples.jsonl lines.</p>`;
  return `<details class="run-samples"${open ? " open" : ""}><summary>${swatch(colour)}${
    esc(r.label)
  } <span class="dim">(${r.samples.length} sample lines)</span></summary>${content}</details>`;
}

/** The first, middle and last steps that have samples (deduplicated, in order). */
function phaseSteps(samples: SampleLine[]): Array<[string, number]> {
  const steps = [...new Set(samples.map((s) => s.step))].sort((a, b) => a - b);
  if (steps.length === 0) return [];
  const picks: Array<[string, number]> = [
    ["start", steps[0]],
    ["middle", steps[Math.floor((steps.length - 1) / 2)]],
    ["end", steps[steps.length - 1]],
  ];
  return picks.filter(([, s], i) => picks.findIndex(([, t]) => t === s) === i);
}

function phase(title: string, samples: SampleLine[]): string {
  const shown = samples.slice(0, SAMPLES_PER_PHASE);
  return `<h3>${esc(title)}</h3><div class="samples">${shown.map(sampleCard).join("")}</div>`;
}

function sampleCard(s: SampleLine): string {
  const correct = s.correct === true ? "correct" : s.correct === false ? "wrong" : "";
  const facts = [
    `score <b>${fmt(s.score, 3)}</b>`,
    correct ? `<span class="${correct}">${correct}</span>` : null,
    `finish <b>${esc(str(s.finish) ?? "—")}</b>`,
    s.tokens !== undefined ? `${fmt(s.tokens, 0)} tokens` : null,
    s.advantage_first !== undefined
      ? `advantage ${fmt(s.advantage_first, 3)} … ${fmt(s.advantage_last, 3)}`
      : null,
    s.problem !== undefined ? `<span class="dim">${esc(str(s.problem) ?? "")}</span>` : null,
  ].filter((f) => f !== null);
  const response = str(s.response) ?? "";
  const cut = response.length > MAX_RESPONSE_CHARS
    ? `${response.slice(0, MAX_RESPONSE_CHARS)}\n… (${
      response.length - MAX_RESPONSE_CHARS
    } more characters)`
    : response;
  const reason = s.reason !== undefined
    ? `<div class="reason dim">${esc(str(s.reason) ?? "")}</div>`
    : "";
  return `<article class="sample ${correct}"><div class="facts">${facts.join(" · ")}</div>` +
    `<div class="label">question</div><pre>${esc(str(s.question) ?? "—")}</pre>` +
    `<div class="label">gold</div><pre class="gold">${esc(str(s.gold) ?? "—")}</pre>` +
    `<div class="label">response</div><pre class="response">${esc(cut)}</pre>${reason}</article>`;
}

// ---------------------------------------------------------------------------------------
// HTML helpers

function section(title: string, html: string): string {
  return `<section><h2>${esc(title)}</h2>${html}</section>`;
}

function swatch(colour: string): string {
  return `<span class="swatch" style="background:${esc(colour)}"></span>`;
}

/** Escape text for HTML content and attribute values; control characters become U+FFFD. */
export function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "\ufffd");
}

/** A field as display text: strings as they are, anything else as JSON; absent → undefined. */
function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A config value for the settings table. */
function show(v: unknown): string {
  if (v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A number with `digits` decimals (trailing zeros kept for columns); else "—" (escaped). */
function fmt(v: unknown, digits: number): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "—";
  if (digits === 0 && Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 10 ** -digits || a >= 1e7)) return v.toExponential(2);
  return v.toFixed(digits);
}

/** A dotted path into the config (`train.steps`). */
function get(c: Config | null | undefined, path: string): unknown {
  let v: unknown = c;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Config)[k];
  }
  return v;
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #222; margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0; }
h2 { font-size: 17px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 28px; }
h3 { font-size: 14px; margin: 14px 0 6px; color: #444; }
.dim { color: #777; }
ul.runs { list-style: none; padding: 0; margin: 0; }
ul.runs li { margin: 6px 0; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 6px; vertical-align: baseline; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: left;
  vertical-align: top; }
thead th { border-bottom: 1px solid #ccc; color: #555; font-weight: 600; }
table.metrics td { font-variant-numeric: tabular-nums; white-space: nowrap; }
table.settings th { font-weight: 500; color: #555; white-space: nowrap; }
table.settings tr.differs th, table.settings tr.differs td { font-weight: 700; color: #000; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure.plot { margin: 0; padding: 6px; border: 1px solid #eee; border-radius: 6px; }
figure.plot svg { display: block; max-width: 100%; height: auto; }
details.run-samples { margin: 10px 0; }
details.run-samples > summary { cursor: pointer; font-weight: 600; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr));
  gap: 10px; }
article.sample { border: 1px solid #e3e3e3; border-left: 4px solid #bbb; border-radius: 4px;
  padding: 6px 10px; min-width: 0; }
article.sample.correct { border-left-color: #54a24b; }
article.sample.wrong { border-left-color: #e45756; }
.facts { font-size: 12px; margin-bottom: 4px; }
span.correct { color: #2e7d32; font-weight: 600; }
span.wrong { color: #c62828; font-weight: 600; }
.label { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #888;
  margin-top: 4px; }
pre { margin: 2px 0; padding: 4px 6px; background: #f7f7f7; border-radius: 3px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 18em; overflow: auto;
  font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.response { background: #f3f6fa; }
.reason { font-size: 12px; margin-top: 2px; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="zerokit report">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
