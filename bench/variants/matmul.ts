/**
 * Every matmul kernel variant, runnable (llm.c's `dev/cuda/` habit): a float64 CPU reference,
 * a check of each variant against it on fresh random inputs, then a timing with napkin-math
 * FLOPs and bytes, so the choice bench/README.md records for llvmpipe can be re-made on any
 * adapter.
 *
 * ```
 * deno run -A --unstable-webgpu bench/variants/matmul.ts [--shape M,K,N]... [--trans nn|nt|tn|tt]
 *     [--only name,...] [--json] [--seed S] [--tol T] [--samples N]
 * ```
 *
 * Default shapes: 1024³ nn and the three products of a tiny preset's Linear layer (issue
 * 14): forward x[7680, 96]·W[288, 96]ᵀ (nt), input gradient dy[7680, 288]·W (nn) and weight
 * gradient dyᵀ·x (tn, K = 7680). `--trans` applies to the `--shape`s given.
 *
 * The variants ({@link MATMUL_VARIANTS}) are data: the launcher's paths forced through
 * `setMatmulVariant` (scalar, vec4 with each tile height TM, texture TM 4/8), the automatic
 * `matmul`, the packed decode path (kernels/matmul/packed.ts), and two reference-style kernels
 * that were tried and dropped (matmul_naive.wgsl, matmul_shared16.wgsl beside this file). A
 * variant a problem cannot take is listed as skipped with the reason. A variant whose result
 * is off by more than the tolerance is reported as FAILED and the script exits with 1.
 * @module
 */
import naiveSrc from "./matmul_naive.wgsl" with { type: "text" };
import shared16Src from "./matmul_shared16.wgsl" with { type: "text" };
import { describeGpu, gpu, initGpu } from "../../kernels/core/device.ts";
import { type Kernel, kernel, launch, u32 } from "../../kernels/core/runtime.ts";
import { empty, readAll, type Tensor, tensor } from "../../kernels/core/tensor.ts";
import {
  matmul,
  matmulPathDispatches,
  type MatmulVariant,
  setMatmulVariant,
} from "../../kernels/matmul/matmul.ts";
import {
  matmulPacked,
  matmulPackedDispatches,
  packedMaxRows,
  packWeight,
} from "../../kernels/matmul/packed.ts";
import { textureRefusal } from "../../kernels/matmul/texture.ts";
import { storageTextureLimits } from "../../kernels/matmul/textures.ts";
import { CORES, gflops, round, timeGpu } from "../util.ts";

/** One product C [M, N] = op(A) · op(B); A is stored [K, M] with transA, B [N, K] with transB. */
export interface MatmulProblem {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
}

/** How a variant runs. */
export type VariantRun =
  /** `matmul()` as it is: the launcher's automatic choice. */
  | { kind: "auto" }
  /** `matmul()` with a path and tile forced by `setMatmulVariant`. */
  | { kind: "launcher"; variant: MatmulVariant }
  /** `matmulPacked(x, packWeight(w))`: the weight packed once (not timed), x copied per call. */
  | { kind: "packed" }
  /** A standalone kernel of this folder: 16×16 workgroups, one output per invocation. */
  | { kind: "wgsl"; kernel: Kernel; maxK: number };

export interface MatmulVariantEntry {
  name: string;
  run: VariantRun;
  note: string;
}

const forced = (path: MatmulVariant["path"], tm: number, tn?: number): VariantRun => ({
  kind: "launcher",
  variant: { path, tm, tn },
});

/** Every variant, in the order the table lists them. */
export const MATMUL_VARIANTS: readonly MatmulVariantEntry[] = [
  {
    name: "naive",
    run: { kind: "wgsl", kernel: kernel("variant_naive", naiveSrc), maxK: 65535 },
    note: "1 output per invocation, 2 scalar loads per FMA (dropped)",
  },
  {
    name: "shared16",
    run: { kind: "wgsl", kernel: kernel("variant_shared16", shared16Src), maxK: 60000 },
    note: "classic 16×16 workgroup-shared tiles, 1 output per invocation (dropped)",
  },
  {
    name: "scalar_tm4",
    run: forced("scalar", 4),
    note: "f32 loads, any shape; the ragged-shape fallback",
  },
  { name: "vec4_tm1", run: forced("vec4", 1), note: "1×16 tile per invocation (decode M = 1)" },
  { name: "vec4_tm2", run: forced("vec4", 2), note: "2×16 tile" },
  { name: "vec4_tm4", run: forced("vec4", 4), note: "4×16 tile" },
  { name: "vec4_tm8", run: forced("vec4", 8), note: "8×16 tile" },
  { name: "vec4_tm16", run: forced("vec4", 16), note: "16×16 tile: the buffer path's choice" },
  {
    name: "texture_tm4",
    run: forced("texture", 4),
    note: "A, B copied into rgba32float textures; 4×16 tile",
  },
  {
    name: "texture_tm8",
    run: forced("texture", 8, 16),
    note: "textures, 8×16 tile: the CPU adapters' choice for M ≥ 16 unless N wastes columns",
  },
  {
    name: "texture_tm16",
    run: forced("texture", 16, 16),
    note: "textures, 16×16 tile",
  },
  {
    name: "texture_tm16_tn8",
    run: forced("texture", 16, 8),
    note: "textures, 16×8 tile",
  },
  {
    name: "texture_tm8_tn12",
    run: forced("texture", 8, 12),
    note: "textures, 8×12 tile: 96-column workgroups (N = 96, 288 without waste)",
  },
  {
    name: "texture_tm8_tn8",
    run: forced("texture", 8, 8),
    note: "textures, 8×8 tile: 64-column workgroups",
  },
  {
    name: "packed",
    run: { kind: "packed" },
    note: "decode path: W packed in a texture once, x per call",
  },
  { name: "matmul", run: { kind: "auto" }, note: "the launcher's automatic choice" },
];

const letters = (p: MatmulProblem) => `${p.transA ? "t" : "n"}${p.transB ? "t" : "n"}`;
export const describeProblem = (p: MatmulProblem): string => `${p.M}×${p.K}×${p.N} ${letters(p)}`;

/** Storage shapes of A and B for `p`. */
export function storageShapes(p: MatmulProblem): { a: number[]; b: number[] } {
  return {
    a: p.transA ? [p.K, p.M] : [p.M, p.K],
    b: p.transB ? [p.N, p.K] : [p.K, p.N],
  };
}

/** Why `v` cannot take `p` on this adapter, or null when it can. */
export function skipReason(v: MatmulVariantEntry, p: MatmulProblem): string | null {
  const { M, K, N, transA, transB } = p;
  const r = v.run;
  if (r.kind === "auto") return null;
  if (r.kind === "launcher") {
    const { path, tm } = r.variant;
    if (path === "texture") {
      return textureRefusal({ batch: 1, M, N, K, transA, transB, sA: 0, sB: 0 }, true);
    }
    if (path === "vec4") {
      if (K % 4 || N % 4 || (transA && M % 4)) {
        return `vec4 needs K, N${transA ? ", M" : ""} multiples of 4`;
      }
      if (transA && tm !== undefined && tm < 4) return "TM < 4 can't take transA";
    }
    return null;
  }
  if (r.kind === "packed") {
    if (transA || !transB) return "decode path: x · Wᵀ only (nt)";
    if (M > packedMaxRows()) return `M = ${M} > ${packedMaxRows()} (decode-sized M only)`;
    if (!storageTextureLimits()) return "texture paths off (not a CPU adapter)";
    if (K % 64 || N % 4) return "needs K % 64 = 0 and N % 4 = 0";
    if (M * N * 4 > gpu().maxBindingBytes) return "C exceeds one storage binding";
    return null;
  }
  if (K > r.maxK) return `K = ${K} > ${r.maxK} (loop steps an invocation may take)`;
  if (Math.max(M * K, K * N, M * N) * 4 > gpu().maxBindingBytes) {
    return "an operand exceeds one storage binding (this kernel does not window)";
  }
  const max = gpu().maxWorkgroupsPerDim;
  if (Math.ceil(M / 16) > max || Math.ceil(N / 16) > max) return "grid too large";
  return null;
}

/** A variant set up for one pair of operands: `call` encodes one product. */
export interface PreparedVariant {
  call: () => Tensor;
  /** Check the call took the variant's path (returns the path taken, for the table). */
  pathOf: (before: PathCounts, after: PathCounts) => string;
  dispose: () => void;
}

interface PathCounts {
  texture: number;
  vec4: number;
  scalar: number;
  packed: number;
}

function pathCounts(): PathCounts {
  return { ...matmulPathDispatches(), packed: matmulPackedDispatches() };
}

/** The path(s) the dispatches between two counts went through, e.g. "vec4" or "texture". */
function pathsTaken(before: PathCounts, after: PathCounts): string {
  const keys = ["texture", "vec4", "scalar", "packed"] as const;
  return keys.filter((k) => after[k] > before[k]).join("+") || "none";
}

/** Set `v` up for operands `a`, `b` of problem `p` (packing a weight, if it needs one). */
export function prepareVariant(
  v: MatmulVariantEntry,
  a: Tensor,
  b: Tensor,
  p: MatmulProblem,
): PreparedVariant {
  const opts = { transA: p.transA, transB: p.transB };
  const r = v.run;
  const expect = (want: string) => (before: PathCounts, after: PathCounts) => {
    const got = pathsTaken(before, after);
    if (got !== want) throw new Error(`${v.name}: expected the ${want} path, ran ${got}`);
    return got;
  };
  switch (r.kind) {
    case "auto":
      return { call: () => matmul(a, b, opts), pathOf: pathsTaken, dispose: () => {} };
    case "launcher":
      return {
        call: () => {
          setMatmulVariant(r.variant);
          try {
            return matmul(a, b, opts);
          } finally {
            setMatmulVariant(undefined);
          }
        },
        pathOf: expect(r.variant.path),
        dispose: () => {},
      };
    case "packed": {
      const pw = packWeight(b);
      if (!pw.packed) throw new Error(`${v.name}: the weight [${b.shape}] was not packed`);
      return {
        call: () => matmulPacked(a, pw),
        pathOf: expect("packed"),
        dispose: () => pw.dispose(),
      };
    }
    case "wgsl":
      return {
        call: () => {
          const c = empty([p.M, p.N]);
          launch(r.kernel, {
            params: [p.M, p.N, p.K, 0].map(u32),
            bindings: [a.binding(), b.binding(), c.binding()],
            workgroups: [Math.ceil(p.N / 16), Math.ceil(p.M / 16), 1],
            overrides: { TRANS_A: p.transA ? 1 : 0, TRANS_B: p.transB ? 1 : 0 },
          });
          return c;
        },
        pathOf: (before, after) => (expect("none")(before, after), "standalone"),
        dispose: () => {},
      };
  }
}

// ---------------------------------------------------------------------------------------
// Reference and check

/** Seeded standard-normal f32 data (an LCG through Box–Muller). */
export function randomF32(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

/** float64 op(A) · op(B) of the f32 operands as stored for `p`: C [M, N] row-major. */
export function referenceMatmul(a: Float32Array, b: Float32Array, p: MatmulProblem): Float64Array {
  const { M, K, N } = p;
  // op(A) as [M, K] and op(B)ᵀ as [N, K], so the inner loop is a contiguous dot product.
  const A = new Float64Array(M * K);
  const Bt = new Float64Array(N * K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) A[m * K + k] = p.transA ? a[k * M + m] : a[m * K + k];
  }
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) Bt[n * K + k] = p.transB ? b[n * K + k] : b[k * N + n];
  }
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const ra = m * K;
    for (let n = 0; n < N; n++) {
      const rb = n * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ra + k] * Bt[rb + k];
      c[m * N + n] = s;
    }
  }
  return c;
}

/**
 * Max over elements of |got − ref| / max(|ref|, rms(ref)): relative error, measured against
 * the typical magnitude where an entry nearly cancels. Infinity if anything is not finite or
 * the lengths differ.
 */
export function maxRelError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let sq = 0;
  for (let i = 0; i < ref.length; i++) sq += ref[i] * ref[i];
  const rms = Math.sqrt(sq / Math.max(ref.length, 1)) || 1;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / Math.max(Math.abs(ref[i]), rms);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e; // NaN counts as a failure
  }
  return worst;
}

/**
 * Default tolerance on {@link maxRelError}. f32 sums of K products err by ~√K·2⁻²⁴ relative
 * (≈ 1e-5 at K = 7680); one k-term dropped or misplaced costs ≈ 1/√K (1e-2 at K = 7680).
 */
export const DEFAULT_TOL = 1e-3;

/** Operands on the device plus their float64 product. */
export interface MatmulInputs {
  a: Tensor;
  b: Tensor;
  ref: Float64Array;
  dispose: () => void;
}

/** Fresh random operands for `p` (seeded) and the float64 reference. */
export function makeInputs(p: MatmulProblem, seed: number): MatmulInputs {
  const s = storageShapes(p);
  const a32 = randomF32(p.M * p.K, seed);
  const b32 = randomF32(p.K * p.N, seed ^ 0x9e3779b9);
  const a = tensor(a32, s.a);
  const b = tensor(b32, s.b);
  const ref = referenceMatmul(a32, b32, p);
  return { a, b, ref, dispose: () => [a, b].forEach((t) => t.dispose()) };
}

/** Result of checking one variant on one problem. */
export interface CheckResult {
  /** Max relative error vs the float64 reference. */
  err: number;
  /** The path the dispatches took: a launcher path, "packed", or "standalone" (own WGSL). */
  path: string;
}

/** Run `v` once on `inputs` and compare with the reference; throws over `tol`. */
export async function checkVariant(
  v: MatmulVariantEntry,
  p: MatmulProblem,
  inputs: MatmulInputs,
  tol = DEFAULT_TOL,
): Promise<CheckResult> {
  const prep = prepareVariant(v, inputs.a, inputs.b, p);
  try {
    const before = pathCounts();
    const c = prep.call();
    const path = prep.pathOf(before, pathCounts());
    const [got] = await readAll([c]);
    c.dispose();
    const err = maxRelError(got, inputs.ref);
    if (!(err <= tol)) {
      throw new Error(
        `${v.name} on ${describeProblem(p)}: max relative error ${err.toExponential(2)} ` +
          `exceeds the tolerance ${tol}`,
      );
    }
    return { err, path };
  } finally {
    prep.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// Timing and the table

/** One row of the report. */
export interface VariantResult {
  problem: string;
  variant: string;
  status: "ok" | "skipped" | "failed";
  /** Skip reason or failure message. */
  reason?: string;
  path?: string;
  err?: number;
  ms?: number;
  gflops?: number;
  /** FLOPs per CPU-second × cores (CPU adapters only: what the kernel does with the machine). */
  cpu_gflops?: number;
  /** Compulsory bytes (A, B read once, C written once) per second, in GB/s. */
  gbps?: number;
}

/** Napkin math of `p`: FLOPs, compulsory bytes (each operand and C moved once). */
export function napkin(p: MatmulProblem): { flops: number; bytes: number } {
  return { flops: 2 * p.M * p.N * p.K, bytes: 4 * (p.M * p.K + p.K * p.N + p.M * p.N) };
}

/** Check, then time `v` on `p`. Never throws: failures become a "failed" row. */
export async function runVariant(
  v: MatmulVariantEntry,
  p: MatmulProblem,
  inputs: MatmulInputs,
  { tol = DEFAULT_TOL, samples = 5, time = true } = {},
): Promise<VariantResult> {
  const row: VariantResult = { problem: describeProblem(p), variant: v.name, status: "ok" };
  const skip = skipReason(v, p);
  if (skip) return { ...row, status: "skipped", reason: skip };
  try {
    const { err, path } = await checkVariant(v, p, inputs, tol);
    Object.assign(row, { err, path });
    if (!time) return row;
    const prep = prepareVariant(v, inputs.a, inputs.b, p);
    const t = await timeGpu(() => prep.call().dispose(), { samples });
    prep.dispose();
    const { flops, bytes } = napkin(p);
    row.ms = round(t.ms);
    row.gflops = round(gflops(flops, t.ms));
    if (gpu().isCpu && Number.isFinite(t.cpuMs)) {
      row.cpu_gflops = round(gflops(flops, t.cpuMs / CORES));
    }
    row.gbps = round(bytes / t.ms / 1e6);
  } catch (e) {
    setMatmulVariant(undefined);
    return { ...row, status: "failed", reason: (e as Error).message };
  }
  return row;
}

const DEFAULT_PROBLEMS: { problem: MatmulProblem; what: string }[] = [
  { problem: { M: 1024, K: 1024, N: 1024, transA: false, transB: false }, what: "square" },
  {
    problem: { M: 7680, K: 96, N: 288, transA: false, transB: true },
    what: "tiny Linear forward: x[7680, 96] · W[288, 96]ᵀ",
  },
  {
    problem: { M: 7680, K: 288, N: 96, transA: false, transB: false },
    what: "tiny Linear input gradient: dy[7680, 288] · W[288, 96]",
  },
  {
    problem: { M: 288, K: 7680, N: 96, transA: true, transB: false },
    what: "tiny Linear weight gradient: dy[7680, 288]ᵀ · x[7680, 96]",
  },
];

interface Args {
  problems: { problem: MatmulProblem; what: string }[];
  only: MatmulVariantEntry[];
  json: boolean;
  seed: number;
  tol: number;
  samples: number;
}

function parseArgs(argv: string[]): Args {
  const shapes: number[][] = [];
  let trans = "nn";
  let only = [...MATMUL_VARIANTS];
  let json = false;
  let seed = Date.now() % 1_000_000;
  let tol = DEFAULT_TOL;
  let samples = 5;
  const value = (i: number) => {
    if (i >= argv.length) throw new Error(`${argv[i - 1]} needs a value`);
    return argv[i];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--shape") {
      const s = value(++i).split(",").map(Number);
      if (s.length !== 3 || !s.every((x) => Number.isInteger(x) && x > 0)) {
        throw new Error(`--shape wants M,K,N (positive integers), got ${argv[i]}`);
      }
      shapes.push(s);
    } else if (a === "--trans") {
      trans = value(++i);
      if (!/^[nt][nt]$/.test(trans)) throw new Error(`--trans wants nn, nt, tn or tt`);
    } else if (a === "--only") {
      const names = value(++i).split(",");
      const unknown = names.filter((n) => !MATMUL_VARIANTS.some((v) => v.name === n));
      if (unknown.length) {
        throw new Error(
          `--only: unknown variant ${unknown.join(", ")}; known: ${
            MATMUL_VARIANTS.map((v) => v.name).join(", ")
          }`,
        );
      }
      only = MATMUL_VARIANTS.filter((v) => names.includes(v.name));
    } else if (a === "--json") json = true;
    else if (a === "--seed") seed = Number(value(++i));
    else if (a === "--tol") tol = Number(value(++i));
    else if (a === "--samples") samples = Number(value(++i));
    else throw new Error(`unknown argument ${a}`);
  }
  const problems = shapes.length
    ? shapes.map(([M, K, N]) => ({
      problem: { M, K, N, transA: trans[0] === "t", transB: trans[1] === "t" },
      what: "--shape",
    }))
    : DEFAULT_PROBLEMS;
  return { problems, only, json, seed, tol, samples };
}

function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined) return "—";
  return x >= 100 ? x.toFixed(0) : x.toPrecision(digits);
}

/** The rows of one problem as a Markdown table (bench/README.md pastes these). */
export function formatTable(rows: VariantResult[], cpu: boolean): string {
  const head = ["variant", "path", "max rel err", "ms", "GFLOP/s"];
  if (cpu) head.push("CPU-norm GFLOP/s");
  head.push("GB/s", "note");
  const lines = [head, head.map(() => "---")];
  for (const r of rows) {
    const note = r.status === "ok"
      ? MATMUL_VARIANTS.find((v) => v.name === r.variant)?.note ?? ""
      : `${r.status.toUpperCase()}: ${r.reason}`;
    const cells = [
      r.variant,
      r.path ?? "—",
      r.err === undefined ? "—" : r.err.toExponential(1),
      fmt(r.ms),
      fmt(r.gflops),
    ];
    if (cpu) cells.push(fmt(r.cpu_gflops));
    cells.push(fmt(r.gbps), note);
    lines.push(cells);
  }
  return lines.map((l) => `| ${l.join(" | ")} |`).join("\n");
}

/**
 * Every problem's rows as one Markdown table, variants × problems: CPU-normalised GFLOP/s
 * with wall-clock GFLOP/s in brackets on CPU adapters (wall only elsewhere), "skip" or
 * "FAIL" otherwise; then each variant's skip reasons, one line per distinct reason.
 */
export function formatSummary(rows: VariantResult[], cpu: boolean): string {
  const problems = [...new Set(rows.map((r) => r.problem))];
  const variants = [...new Set(rows.map((r) => r.variant))];
  const cell = (r: VariantResult | undefined) => {
    if (!r) return "";
    if (r.status === "skipped") return "skip";
    if (r.status === "failed") return "FAIL";
    return cpu ? `${fmt(r.cpu_gflops)} (${fmt(r.gflops)})` : fmt(r.gflops);
  };
  const lines = [["variant", ...problems], ["---", ...problems.map(() => "---:")]];
  for (const v of variants) {
    lines.push([
      v,
      ...problems.map((p) => cell(rows.find((r) => r.variant === v && r.problem === p))),
    ]);
  }
  const table = lines.map((l) => `| ${l.join(" | ")} |`).join("\n");
  const skips = new Map<string, Set<string>>();
  for (const r of rows) {
    if (r.status !== "skipped") continue;
    const key = `${r.variant}: ${r.reason}`;
    skips.set(key, (skips.get(key) ?? new Set()).add(r.problem));
  }
  const notes = [...skips].map(([k, ps]) => `- skip ${k} (${[...ps].join("; ")})`);
  return [table, ...(notes.length ? ["", ...notes] : [])].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  await initGpu();
  const log = (m: string) => args.json ? console.error(m) : console.log(m);
  log(`device: ${describeGpu(gpu())}`);
  log(`seed ${args.seed}, tolerance ${args.tol} (max relative error vs float64)`);
  const all: VariantResult[] = [];
  for (const [i, { problem, what }] of args.problems.entries()) {
    const { flops, bytes } = napkin(problem);
    log(
      `\n### ${describeProblem(problem)} — ${what}: ${(flops / 1e9).toFixed(3)} GFLOP, ` +
        `${(bytes / 1e6).toFixed(2)} MB compulsory, ${(flops / bytes).toFixed(1)} FLOP/byte\n`,
    );
    const inputs = makeInputs(problem, args.seed + i);
    const rows: VariantResult[] = [];
    for (const v of args.only) {
      const r = await runVariant(v, problem, inputs, { tol: args.tol, samples: args.samples });
      rows.push(r);
      if (args.json) console.error(`${r.problem} ${r.variant}: ${r.status}`);
    }
    inputs.dispose();
    log(formatTable(rows, gpu().isCpu));
    all.push(...rows);
  }
  if (args.problems.length > 1) {
    log(
      `\n### Summary: GFLOP/s${gpu().isCpu ? ", CPU-normalised (wall clock)" : ""}\n`,
    );
    log(formatSummary(all, gpu().isCpu));
  }
  const failed = all.filter((r) => r.status === "failed");
  if (args.json) {
    console.log(JSON.stringify(
      { device: describeGpu(gpu()), seed: args.seed, tol: args.tol, results: all },
      null,
      2,
    ));
  }
  for (const r of failed) console.error(`FAILED ${r.problem} ${r.variant}: ${r.reason}`);
  return failed.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
