/**
 * The report's plots: one Vega-Lite line chart per metric over steps, one colour per run
 * (or, when some variant has several seeds, one colour per variant: its mean over seeds as
 * a line and mean ± std as a band), compiled to Vega and rendered to an SVG string at report
 * time (a headless `View`, no canvas, no browser), so the HTML needs no script and no
 * network to show them.
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { num, type RunData } from "./load.ts";
import { bandCurve, type BandPoint, type Variant } from "./groups.ts";

/** A metric the report plots over steps. */
export interface PlotDef {
  /** The key in metrics.jsonl. */
  metric: string;
  title: string;
  /** The y axis title. */
  y: string;
  /** Fix the y axis to [0, 1] (shares). */
  unit?: boolean;
}

/** The plots, in display order; one whose metric no run logged is skipped. */
export const PLOTS: readonly PlotDef[] = [
  { metric: "reward/mean", title: "Reward (train, mean)", y: "reward" },
  { metric: "eval/accuracy", title: "Held-out accuracy", y: "accuracy", unit: true },
  { metric: "response/length_mean", title: "Response length (train, mean)", y: "tokens" },
  { metric: "response/stop_ratio", title: "Stop ratio (not truncated)", y: "share", unit: true },
  { metric: "entropy", title: "Entropy (per token)", y: "nats" },
  { metric: "loss/value", title: "Value loss", y: "loss" },
  { metric: "clipfrac", title: "Clip fraction", y: "share of tokens" },
  { metric: "kl/k3", title: "KL to reference (k3)", y: "KL" },
];

/** Colours by run, in run order (Tableau 10, then Tableau 20 for more runs). */
export function palette(n: number): string[] {
  const t10 = [
    "#4c78a8",
    "#f58518",
    "#e45756",
    "#72b7b2",
    "#54a24b",
    "#eeca3b",
    "#b279a2",
    "#ff9da6",
    "#9d755d",
    "#bab0ac",
  ];
  const extra = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728"];
  const all = [...t10, ...extra, "#ff9896", "#9467bd", "#c5b0d5", "#8c564b", "#c49c94"];
  return Array.from({ length: n }, (_, i) => all[i % all.length]);
}

/** A rendered plot. */
export interface Plot {
  def: PlotDef;
  svg: string;
}

/** Points above which a run's curve is drawn faint with a moving mean on top. */
const SMOOTH_ABOVE = 60;

/**
 * Render every plot whose metric some run logged (a finite number at some step); returns
 * the plots and the metrics skipped because no run has them.
 */
export async function renderPlots(
  runs: readonly RunData[],
  variants?: readonly Variant[],
): Promise<{ plots: Plot[]; skipped: PlotDef[] }> {
  const plots: Plot[] = [];
  const skipped: PlotDef[] = [];
  const maxStep = Math.max(1, ...runs.flatMap((r) => r.metrics.map((m) => m.step)));
  if (variants && variants.some((v) => v.runs.length > 1)) {
    const labels = variants.map((v) => v.label);
    for (const [i, def] of PLOTS.entries()) {
      const perRun = Math.max(
        0,
        ...runs.map((r) => r.metrics.filter((m) => num(m, def.metric) !== undefined).length),
      );
      if (perRun === 0) {
        skipped.push(def);
        continue;
      }
      const window = perRun > SMOOTH_ABOVE ? Math.max(2, Math.round(perRun / 30)) : 0;
      const values = variants.flatMap((v) => bandCurve(v, def.metric, window));
      const spec = bandSpec(def, values, labels, maxStep, window);
      plots.push({ def, svg: uniqueIds(await toSvg(spec), `p${i}-`) });
    }
    return { plots, skipped };
  }
  for (const [i, def] of PLOTS.entries()) {
    const values = runs.flatMap((r) =>
      r.metrics.flatMap((m) => {
        const v = num(m, def.metric);
        return v === undefined ? [] : [{ run: r.label, step: m.step, value: v }];
      })
    );
    if (values.length === 0) {
      skipped.push(def);
      continue;
    }
    const spec = lineSpec(def, values, runs.map((r) => r.label), maxStep);
    plots.push({ def, svg: uniqueIds(await toSvg(spec), `p${i}-`) });
  }
  return { plots, skipped };
}

type Point = { run: string; step: number; value: number };

/** The Vega-Lite spec of one metric's curves. */
export function lineSpec(
  def: PlotDef,
  values: Point[],
  labels: string[],
  maxStep: number,
): TopLevelSpec {
  const perRun = Math.max(...labels.map((l) => values.filter((v) => v.run === l).length));
  const smooth = perRun > SMOOTH_ABOVE;
  const window = Math.max(2, Math.round(perRun / 30));
  const { base: parts, x, y, color } = chartParts(def, values, labels, maxStep);
  const tooltip = [{ field: "run" }, { field: "step" }, { field: "value", format: ".4~g" }];
  const base = {
    ...parts,
    title: {
      ...parts.title,
      subtitle: smooth
        ? `${def.metric} · faint: raw, solid: mean over ${window * 2 + 1} steps`
        : def.metric,
    },
  };
  if (!smooth) {
    return {
      ...base,
      mark: { type: "line", point: perRun <= 30 ? { size: 24 } : false, strokeWidth: 2 },
      encoding: { x, y, color, tooltip },
    } as TopLevelSpec;
  }
  return {
    ...base,
    encoding: { x, color },
    layer: [
      {
        mark: { type: "line", strokeWidth: 1, opacity: 0.3 },
        encoding: { y },
      },
      {
        transform: [{
          window: [{ op: "mean", field: "value", as: "smoothed" }],
          frame: [-window, window],
          groupby: ["run"],
          sort: [{ field: "step" }],
        }],
        mark: { type: "line", strokeWidth: 2 },
        encoding: { y: { ...y, field: "smoothed" }, tooltip },
      },
    ],
  } as TopLevelSpec;
}

/**
 * The Vega-Lite spec of one metric's curves per variant: the mean over seeds as a line and
 * mean ± std over seeds as a band (`window` > 0: each seed was smoothed first; see
 * `bandCurve`).
 */
export function bandSpec(
  def: PlotDef,
  values: BandPoint[],
  labels: string[],
  maxStep: number,
  window: number,
): TopLevelSpec {
  const perVariant = Math.max(...labels.map((l) => values.filter((v) => v.run === l).length));
  const { base, x, y, color } = chartParts(def, values, labels, maxStep);
  const how = window > 0 ? `, each seed a mean over ${window * 2 + 1} steps` : "";
  return {
    ...base,
    title: { ...base.title, subtitle: `${def.metric} · line: mean over seeds, band: ± std${how}` },
    encoding: { x, color },
    layer: [
      {
        mark: { type: "area", opacity: 0.18, strokeWidth: 0 },
        encoding: {
          y: { ...y, field: "lo" },
          y2: { field: "hi" },
        },
      },
      {
        mark: { type: "line", point: perVariant <= 30 ? { size: 24 } : false, strokeWidth: 2 },
        encoding: {
          y,
          tooltip: [
            { field: "run", title: "variant" },
            { field: "step" },
            { field: "value", title: "mean", format: ".4~g" },
            { field: "lo", title: "mean − std", format: ".4~g" },
            { field: "hi", title: "mean + std", format: ".4~g" },
            { field: "n", title: "seeds" },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/** What every chart shares: the frame, the step axis, the value axis and the colours. */
function chartParts(def: PlotDef, values: unknown[], labels: string[], maxStep: number) {
  const color = {
    field: "run",
    type: "nominal" as const,
    title: null,
    scale: { domain: labels, range: palette(labels.length) },
    legend: labels.length > 1
      ? {
        orient: "bottom" as const,
        columns: 1,
        labelLimit: 340,
        symbolOpacity: 1,
        symbolStrokeWidth: 2,
      }
      : null,
  };
  const x = {
    field: "step",
    type: "quantitative" as const,
    title: "step",
    scale: { domain: [0, maxStep], nice: false },
    axis: { tickMinStep: 1 },
  };
  const y = {
    field: "value",
    type: "quantitative" as const,
    title: def.y,
    scale: def.unit ? { domain: [0, 1] } : { zero: false },
  };
  const base = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: def.title,
      subtitle: def.metric,
      anchor: "start" as const,
      frame: "bounds" as const,
    },
    width: 540,
    height: 250,
    autosize: { type: "fit" as const, contains: "padding" as const },
    data: { values },
    config: {
      font: "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif",
      view: { stroke: "#ddd" },
      axis: { labelColor: "#333", titleColor: "#333", gridColor: "#eee" },
      title: { fontSize: 14, subtitleColor: "#777" },
    },
  };
  return { base, x, y, color };
}

/** Compile a Vega-Lite spec and render it to an SVG string without a browser or canvas. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Prefix the SVG's element ids (and their references) so several inlined SVGs never share
 * an id in one HTML document.
 */
export function uniqueIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
}
