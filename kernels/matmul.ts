/**
 * Matrix multiplication: `matmul(a, b, {transA, transB})` = op(a) · op(b), batched over
 * leading dimensions, with a 2-D operand broadcast over the other's batch, operands of any
 * size (bound in windows under the 128 MiB storage-binding cap) and a backward for both.
 *
 * One WGSL core (`matmul.wgsl`) with three loader sets: texture (`matmul_tex.wgsl`, the fast
 * path on CPU adapters: operands copied into rgba32float textures, whose loads llvmpipe
 * compiles to branch-free vector code), vec4 (`matmul_vec4.wgsl`, every row read with vec4
 * loads is a multiple of 4 floats) and scalar (`matmul_scalar.wgsl`, any shape). Transposes
 * are override constants, so `transA`/`transB` cost nothing extra and the backward reuses the
 * same pipelines. Why the kernels look the way they do, with numbers: bench/README.md.
 *
 * @example
 * ```ts
 * const y = matmul(x, weight, { transB: true }); // x [B, T, H] · weightᵀ, weight [N, H]
 * ```
 * @module
 */
import coreSrc from "./matmul.wgsl" with { type: "text" };
import vec4Src from "./matmul_vec4.wgsl" with { type: "text" };
import scalarSrc from "./matmul_scalar.wgsl" with { type: "text" };
import texSrc from "./matmul_tex.wgsl" with { type: "text" };
import { record } from "./autograd.ts";
import { gpu } from "./device.ts";
import { fill, ones } from "./elementwise.ts";
import { afterSubmit, commandEncoder, flush, kernel, launch, u32 } from "./runtime.ts";
import { empty, numel, type Tensor } from "./tensor.ts";

const vec4Kernel = kernel("matmul_vec4", `${coreSrc}\n${vec4Src}`);
const scalarKernel = kernel("matmul_scalar", `${coreSrc}\n${scalarSrc}`);

/** Columns per workgroup: WX = 8 invocations (one 8-lane SIMD row) × 16 columns each. */
const TILE_N = 128;

/**
 * Rows per invocation (TM) for a chunk of m rows: the 16×16 tile (fastest) when M allows,
 * smaller tiles for short M (decode, small batches) so few rows are computed only to be
 * thrown away. The scalar fallback keeps TM = 4: its 16-row pipeline compiles for seconds
 * for a gain on shapes real models rarely have. A workgroup is a single 8-lane row (WY = 1):
 * taller workgroups measured no faster and waste more rows at the M edge.
 */
function tileRows(m: number, vec4: boolean, transA: boolean): number {
  if (!vec4) return 4;
  const fits = [1, 2, 4, 8, 16].filter((t) => t >= Math.min(m, 16) && (!transA || t >= 4));
  return fits[0];
}

export interface MatmulOptions {
  /** Use aᵀ: `a` is [..., K, M]. */
  transA?: boolean;
  /** Use bᵀ: `b` is [..., N, K] (how Hugging Face stores nn.Linear weights). */
  transB?: boolean;
}

let bindingLimitOverride: number | undefined;

/**
 * Pretend storage bindings are capped at `bytes` (tests use it to exercise the windowed
 * path on small tensors); `undefined` restores the device's limit.
 */
export function setMatmulBindingLimit(bytes: number | undefined): void {
  bindingLimitOverride = bytes;
}

/**
 * op(a) · op(b). `a` is [..., M, K] ([..., K, M] with `transA`), `b` is [..., K, N]
 * ([..., N, K] with `transB`); the result is [...batch, M, N]. Batch dimensions must match,
 * or one operand is 2-D (or has batch size 1) and is broadcast over the other's batch.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.dtype !== "f32" || b.dtype !== "f32") throw new Error("matmul: f32 operands only");
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: operands need rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
  }
  const [M, K] = transA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [Kb, N] = transB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  if (K !== Kb) {
    throw new Error(
      `matmul: inner sizes differ: [${a.shape}]${transA ? "ᵀ" : ""} · [${b.shape}]${
        transB ? "ᵀ" : ""
      }`,
    );
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = numel(batchA);
  const nB = numel(batchB);
  const batchShape = broadcastBatch(batchA, batchB);
  const batch = numel(batchShape);

  const out = K === 0 ? fill([...batchShape, M, N], 0) : empty([...batchShape, M, N]);
  if (out.size > 0 && K > 0) {
    if (nB === 1 && !transA && batch > 1) {
      // A 2-D weight under a batch of activations is one tall matmul.
      encode(out, a, b, { batch: 1, M: batch * M, N, K, transA, transB, sA: 0, sB: 0 });
    } else {
      const sA = nA === 1 ? 0 : M * K;
      const sB = nB === 1 ? 0 : K * N;
      encode(out, a, b, { batch, M, N, K, transA, transB, sA, sB });
    }
  }
  return record(out, [a, b], (g) => [
    a.requiresGrad ? gradA(g, a, b, transA, transB, nA, batch) : null,
    b.requiresGrad ? gradB(g, a, b, transA, transB, nB, batch) : null,
  ]);
}

// dop(A) = dC · op(B)ᵀ, dop(B) = op(A)ᵀ · dC, each written as one matmul with flags.
function gradA(
  g: Tensor,
  a: Tensor,
  b: Tensor,
  tA: boolean,
  tB: boolean,
  nA: number,
  batch: number,
) {
  const ga = tA ? matmul(b, g, { transA: tB, transB: true }) : matmul(g, b, { transB: !tB });
  return nA === 1 && batch > 1 ? sumBatch(ga, a.shape) : shaped(ga, a.shape);
}

function gradB(
  g: Tensor,
  a: Tensor,
  b: Tensor,
  tA: boolean,
  tB: boolean,
  nB: number,
  batch: number,
) {
  if (nB === 1 && batch > 1 && !tA) {
    // Broadcast weight: Σ_b over the flattened batch is a single matmul of [B·M, ·] views.
    const K = a.shape.at(-1)!;
    const a2 = a.reshape([-1, K]);
    const g2 = g.reshape([-1, g.shape.at(-1)!]);
    const gb = tB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
    a2.dispose();
    g2.dispose();
    return shaped(gb, b.shape);
  }
  const gb = tB ? matmul(g, a, { transA: true, transB: tA }) : matmul(a, g, { transA: !tA });
  return nB === 1 && batch > 1 ? sumBatch(gb, b.shape) : shaped(gb, b.shape);
}

/** `t` with `shape` (same element count), consuming `t`. */
function shaped(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape) && t.rank === shape.length) return t;
  const r = t.reshape([...shape]);
  t.dispose();
  return r;
}

/** Σ over the leading (batch) dims of x [batch..., R, C] as ones[1, batch] · x[batch, R·C]. */
function sumBatch(x: Tensor, shape: readonly number[]): Tensor {
  const rc = x.shape.at(-1)! * x.shape.at(-2)!;
  const n = x.size / rc;
  const flat = x.reshape([n, rc]);
  const w = ones([1, n]);
  const s = matmul(w, flat);
  for (const t of [w, flat, x]) t.dispose();
  return shaped(s, shape);
}

/**
 * The output's batch shape: equal batch shapes (up to leading 1s), or one side with a single
 * matrix broadcast over the other's batch. Partial broadcasts ([2, 1] with [1, 3]) are not
 * supported.
 */
function broadcastBatch(x: readonly number[], y: readonly number[]): number[] {
  const r = Math.max(x.length, y.length);
  const px = [...Array(r - x.length).fill(1), ...x];
  const py = [...Array(r - y.length).fill(1), ...y];
  if (numel(px) === 1) return py;
  if (numel(py) === 1 || sameShape(px, py)) return px;
  throw new Error(`matmul: batch shapes [${x}] and [${y}] do not match`);
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
  const r = Math.max(x.length, y.length);
  const px = [...Array(r - x.length).fill(1), ...x];
  const py = [...Array(r - y.length).fill(1), ...y];
  return px.every((d, i) => d === py[i]);
}

// ---------------------------------------------------------------------------------------
// Encoding: choose the variant, then split the problem so every binding fits the cap.

interface Dims {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Batch strides in elements (0: broadcast). C is always contiguous [batch, M, N]. */
  sA: number;
  sB: number;
}

/** A binding window over `t` starting at element `start`: aligned down, remainder in `off`. */
function windowOf(t: Tensor, start: number, span: number) {
  const align = gpu().offsetAlignment / 4;
  const base = Math.floor(start / align) * align;
  const off = start - base;
  return { binding: t.binding(base, Math.min(off + span, t.size - base)), off };
}

function encode(c: Tensor, a: Tensor, b: Tensor, d: Dims): void {
  if (encodeTextured(c, a, b, d)) return;
  const { M, N, K, transA, transB } = d;
  const vec4 = K % 4 === 0 && N % 4 === 0 && (!transA || M % 4 === 0);
  const limit = bindingLimitOverride ?? gpu().maxBindingBytes;
  // Room for the alignment remainder of a window start.
  const cap = Math.floor(limit / 4) - gpu().offsetAlignment / 4;
  const sC = M * N;
  const maxZ = gpu().maxWorkgroupsPerDim;

  // Whole batches per dispatch while every operand's window fits.
  const fit = (
    s: number,
    t: Tensor,
    per: number,
  ) => (s === 0 ? (t.size <= cap ? Infinity : 0) : Math.floor(cap / per));
  const bc = Math.min(
    maxZ,
    d.batch,
    fit(d.sA, a, M * K),
    fit(d.sB, b, K * N),
    Math.floor(cap / sC),
  );
  if (bc >= 1) {
    for (let b0 = 0; b0 < d.batch; b0 += bc) {
      const nb = Math.min(bc, d.batch - b0);
      dispatch(d, vec4, {
        nb,
        a: d.sA ? windowOf(a, b0 * d.sA, nb * d.sA) : windowOf(a, 0, a.size),
        b: d.sB ? windowOf(b, b0 * d.sB, nb * d.sB) : windowOf(b, 0, b.size),
        c: windowOf(c, b0 * sC, nb * sC),
        m: M,
        n: N,
        k: K,
        offA: 0,
        offB: 0,
        offC: 0,
        acc: false,
      });
    }
    return;
  }

  // One matrix is too big for a binding: tile M (rows of C and of A), N (rows of Bᵀ) and
  // K (rows of Aᵀ or B, accumulating into C) so that each operand's window fits.
  const q = vec4 ? 4 : 1;
  const chunk = (full: number, most: number) => {
    if (most >= full) return full;
    if (most < q) throw new Error(`matmul: a single row exceeds the binding limit`);
    return most >= 128 ? Math.floor(most / 128) * 128 : Math.floor(most / q) * q;
  };
  const mc = chunk(M, Math.min(transA ? M : Math.floor(cap / K), Math.floor(cap / N)));
  const nc = chunk(N, transB ? Math.floor(cap / K) : N);
  const kc = chunk(K, Math.min(transA ? Math.floor(cap / M) : K, transB ? K : Math.floor(cap / N)));
  for (let z = 0; z < d.batch; z++) {
    const bA = z * d.sA, bB = z * d.sB, bC = z * sC;
    for (let m0 = 0; m0 < M; m0 += mc) {
      const m = Math.min(mc, M - m0);
      for (let n0 = 0; n0 < N; n0 += nc) {
        const n = Math.min(nc, N - n0);
        for (let k0 = 0; k0 < K; k0 += kc) {
          const k = Math.min(kc, K - k0);
          const wa = transA ? windowOf(a, bA + k0 * M, k * M) : windowOf(a, bA + m0 * K, m * K);
          const wb = transB ? windowOf(b, bB + n0 * K, n * K) : windowOf(b, bB + k0 * N, k * N);
          dispatch(d, vec4, {
            nb: 1,
            a: wa,
            b: wb,
            c: windowOf(c, bC + m0 * N, m * N),
            m,
            n,
            k,
            offA: transA ? m0 : k0,
            offB: transB ? k0 : n0,
            offC: n0,
            acc: k0 > 0,
          });
        }
      }
    }
  }
}

interface Part {
  nb: number;
  a: ReturnType<typeof windowOf>;
  b: ReturnType<typeof windowOf>;
  c: ReturnType<typeof windowOf>;
  m: number;
  n: number;
  k: number;
  /** Extra element offsets inside the windows (row offsets of a chunk). */
  offA: number;
  offB: number;
  offC: number;
  acc: boolean;
}

function dispatch(d: Dims, vec4: boolean, p: Part): void {
  const unit = vec4 ? 4 : 1;
  const tm = tileRows(p.m, vec4, d.transA);
  const lda = d.transA ? d.M : d.K;
  const ldb = d.transB ? d.K : d.N;
  const params = [
    p.m,
    p.n,
    p.k,
    Math.ceil(p.k / 4),
    lda / unit,
    ldb / unit,
    d.N / unit,
    p.acc ? 1 : 0,
    (p.a.off + p.offA) / unit,
    (p.b.off + p.offB) / unit,
    (p.c.off + p.offC) / unit,
    0,
    d.sA / unit,
    d.sB / unit,
    (d.M * d.N) / unit,
    0,
  ];
  launch(vec4 ? vec4Kernel : scalarKernel, {
    params: params.map(u32),
    bindings: [p.a.binding, p.b.binding, p.c.binding],
    workgroups: [Math.ceil(p.n / TILE_N), Math.ceil(p.m / tm), p.nb],
    overrides: { TRANS_A: d.transA ? 1 : 0, TRANS_B: d.transB ? 1 : 0, TM: tm },
  });
}

// ---------------------------------------------------------------------------------------
// Texture path (CPU adapters): copy the operands into rgba32float array textures, then run
// the core with the texture loaders. A storage-buffer load costs llvmpipe a loop over the
// SIMD lanes; a storage-texture load is straight vector code: ≈ 1.7–2× end to end.
// runtime.ts binds buffers only, so this path builds its own pipeline, bind groups and
// parameter slots, and encodes into the shared command encoder between runtime passes.

/** Size limits of the texture path (tests shrink them to exercise chunking). */
export interface MatmulTextureLimits {
  /** Largest texture width/height (texels / rows). */
  dim: number;
  /** Most array layers per texture. */
  layers: number;
  /** Most bytes per operand texture (bounds the extra memory the copies take). */
  bytes: number;
  /** Fewest rows of C (M) that take this path; below it the copies cost more than they save. */
  minRows: number;
}

const TEX_TM = 8; // rows per invocation (the 16-row tile spills more and measured slower)
// Texture panels, one layer each (matmul_tex.wgsl): texels of M for Aᵀ, of K for Bᵀ, of N
// for B, so that the rows a workgroup reads are short and its pages few.
const PANEL_AT = 16;
const PANEL_BT = 64;
const PANEL_B = 32;
const RING_SLOTS = 256;
const SLOT = 256;

let texOverride: Partial<MatmulTextureLimits> | null | undefined;
let textureDispatches = 0;

/**
 * Override the texture path's limits (`null` turns the path off, `undefined` restores the
 * defaults: the device's texture limits, 64 MiB per operand texture, M ≥ 16).
 */
export function setMatmulTextureLimits(l: Partial<MatmulTextureLimits> | null | undefined): void {
  texOverride = l;
}

/** Dispatches encoded by the texture path so far (tests check which path ran). */
export function matmulTextureDispatches(): number {
  return textureDispatches;
}

interface TexState {
  device: GPUDevice;
  layout: GPUBindGroupLayout;
  pipelines: Map<string, GPUComputePipeline>;
  ring: GPUBuffer;
  slots: number;
  textures: Map<string, { texture: GPUTexture; view: GPUTextureView }>;
  bytes: number;
}
let tex: TexState | undefined;

function texLimits(): MatmulTextureLimits | null {
  if (texOverride === null) return null;
  const g = gpu();
  const features = (navigator.gpu as { wgslLanguageFeatures?: Set<string> }).wgslLanguageFeatures;
  if (!g.isCpu || !features?.has("readonly_and_readwrite_storage_textures")) return null;
  return {
    dim: g.device.limits.maxTextureDimension2D,
    layers: g.device.limits.maxTextureArrayLayers,
    bytes: 64 * 2 ** 20,
    minRows: 16,
    ...texOverride,
  };
}

function texState(): TexState {
  if (tex) return tex;
  const device = gpu().device;
  const texture = {
    access: "read-only",
    format: "rgba32float",
    viewDimension: "2d-array",
  } as const;
  const vis = GPUShaderStage.COMPUTE;
  const layout = device.createBindGroupLayout({
    label: "matmul_tex",
    entries: [
      { binding: 0, visibility: vis, buffer: { type: "uniform" } },
      { binding: 1, visibility: vis, storageTexture: texture },
      { binding: 2, visibility: vis, storageTexture: texture },
      { binding: 3, visibility: vis, buffer: { type: "storage" } },
    ],
  });
  const ring = device.createBuffer({
    label: "matmul_tex-params",
    size: RING_SLOTS * SLOT,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  return tex = {
    device,
    layout,
    pipelines: new Map(),
    ring,
    slots: 0,
    textures: new Map(),
    bytes: 0,
  };
}

function texPipeline(s: TexState, transA: boolean, transB: boolean): GPUComputePipeline {
  const key = `${transA}${transB}`;
  let p = s.pipelines.get(key);
  if (!p) {
    p = s.device.createComputePipeline({
      label: "matmul_tex",
      layout: s.device.createPipelineLayout({ bindGroupLayouts: [s.layout] }),
      compute: {
        module: s.device.createShaderModule({ label: "matmul_tex", code: `${coreSrc}\n${texSrc}` }),
        entryPoint: "main",
        constants: { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0, TM: TEX_TM, ROWS_FIRST: 1 },
      },
    });
    s.pipelines.set(key, p);
  }
  return p;
}

/**
 * A texture of [w, h, layers] texels for `role`, kept for reuse: commands run in order, so
 * the next copy into it cannot overtake the dispatch that reads it.
 */
function texture(s: TexState, role: string, w: number, h: number, layers: number) {
  const key = `${role}:${w}x${h}x${layers}`;
  let t = s.textures.get(key);
  if (!t) {
    const texture = s.device.createTexture({
      label: `matmul_tex ${key}`,
      size: [w, h, layers],
      format: "rgba32float",
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    });
    t = { texture, view: texture.createView({ dimension: "2d-array" }) };
    s.textures.set(key, t);
    s.bytes += w * h * layers * 16;
  }
  return t;
}

/** Drop the texture cache if `bytes` more would take it past 256 MiB (destroyed after submit). */
function reserveTextures(s: TexState, bytes: number): void {
  if (s.bytes + bytes <= 256 * 2 ** 20) return;
  const old = [...s.textures.values()];
  afterSubmit(() => old.forEach((o) => o.texture.destroy()));
  s.textures.clear();
  s.bytes = 0;
}

/** A 256-byte uniform slot holding `values`, valid until the next submit. */
function texParams(s: TexState, values: number[]): GPUBufferBinding {
  if (s.slots >= RING_SLOTS) flush();
  if (s.slots === 0) afterSubmit(() => (s.slots = 0));
  const offset = s.slots++ * SLOT;
  s.device.queue.writeBuffer(s.ring, offset, new Uint32Array(values));
  return { buffer: s.ring, offset, size: 64 };
}

const down = (x: number, q: number) => Math.max(q, Math.floor(x / q) * q);

/**
 * Encode op(A)·op(B) through textures if this shape can take the path: CPU adapter, vec4
 * shapes (K, N and, with transA, M multiples of 4), stored rows a multiple of 64 floats
 * (copyBufferToTexture wants 256-byte row pitches) and M ≥ minRows. Batches map to layers;
 * M, N, K and the batch are cut so that every texture fits the limits and every C window
 * the binding cap (K chunks accumulate into C).
 */
function encodeTextured(c: Tensor, a: Tensor, b: Tensor, d: Dims): boolean {
  const lim = texLimits();
  const { M, N, K, transA: tA, transB: tB } = d;
  if (!lim || M < lim.minRows || K === 0 || N % 4 || K % 4 || (tA && M % 4)) return false;
  if ((tA ? M : K) % 64 || (tB ? K : N) % 64) return false;
  const panelsA = (m: number) => (tA ? Math.ceil(m / 4 / PANEL_AT) : 1);
  const panelsB = (n: number, k: number) =>
    tB ? Math.ceil(k / 4 / PANEL_BT) : Math.ceil(n / 4 / PANEL_B);
  // Chunk sizes: texture widths and heights, the byte budget per texture, the C binding cap.
  let kc = Math.min(K, tA ? lim.dim : 4 * lim.dim, tB ? 4 * PANEL_BT * lim.layers : lim.dim);
  let mc = Math.min(M, tA ? 4 * PANEL_AT * lim.layers : lim.dim);
  let nc = Math.min(N, tB ? lim.dim : 4 * PANEL_B * lim.layers);
  const budget = lim.bytes / 4; // floats per texture
  if (mc * kc > budget) mc = down(budget / kc, tA ? 4 : TEX_TM);
  if (mc * kc > budget) kc = down(budget / mc, 4);
  if (nc * kc > budget) nc = down(budget / kc, 4);
  if (nc * kc > budget) kc = down(budget / nc, 4);
  const capC = Math.floor((bindingLimitOverride ?? gpu().maxBindingBytes) / 4) -
    gpu().offsetAlignment / 4;
  mc = Math.min(mc, down(capC / N, tA ? 4 : 1));
  let nb = Math.min(d.batch, lim.layers, Math.floor(budget / (Math.max(mc, nc) * kc)));
  nb = Math.min(nb, Math.floor(capC / (M * N)));
  if (d.sA) nb = Math.min(nb, Math.floor(lim.layers / panelsA(mc)));
  if (d.sB) nb = Math.min(nb, Math.floor(lim.layers / panelsB(nc, kc)));
  if (nb < 1 || mc < M || nc < N || kc < K) nb = 1;

  const s = texState();
  const pipeline = texPipeline(s, tA, tB);
  for (let z0 = 0; z0 < d.batch; z0 += nb) {
    const zn = Math.min(nb, d.batch - z0);
    // Layers per texture: one per batch (one in all when that operand is broadcast).
    const la = d.sA ? nb : 1, lb = d.sB ? nb : 1;
    const dimsA = tA ? [Math.min(PANEL_AT, mc / 4), kc, la * panelsA(mc)] : [kc / 4, mc, la];
    const dimsB = tB
      ? [Math.min(PANEL_BT, kc / 4), nc, lb * panelsB(nc, kc)]
      : [Math.min(PANEL_B, nc / 4), kc, lb * panelsB(nc, kc)];
    const texels = (x: number[]) => x[0] * x[1] * x[2];
    reserveTextures(s, 16 * (texels(dimsA) + texels(dimsB)));
    const ta = texture(s, "a", dimsA[0], dimsA[1], dimsA[2]);
    const tb = texture(s, "b", dimsB[0], dimsB[1], dimsB[2]);
    for (let m0 = 0; m0 < M; m0 += mc) {
      const mp = Math.min(mc, M - m0);
      for (let n0 = 0; n0 < N; n0 += nc) {
        const np = Math.min(nc, N - n0);
        for (let k0 = 0; k0 < K; k0 += kc) {
          const kp = Math.min(kc, K - k0);
          const cw = windowOf(c, (z0 * M + m0) * N, ((zn - 1) * M + mp) * N);
          // Core Params; on this path lda/ldb are the panels' layer strides.
          const params = texParams(s, [
            ...[mp, np, kp, kp / 4],
            ...[la, lb, N / 4, k0 > 0 ? 1 : 0],
            ...[0, 0, (cw.off + n0) / 4, 0],
            ...[d.sA ? 1 : 0, d.sB ? 1 : 0, (M * N) / 4, 0],
          ]); // taken before the copies: a full parameter ring flushes the encoder
          const enc = commandEncoder();
          // Copy [w, h, layers] texels from `t` at element `at` (rows `row` floats apart,
          // batches `rows` rows apart) into `dst` from layer `layer` on.
          const copy = (
            t: Tensor,
            at: number,
            row: number,
            rows: number,
            dst: GPUTexture,
            size: number[],
            layer = 0,
          ) =>
            enc.copyBufferToTexture(
              { buffer: t.buffer, offset: at * 4, bytesPerRow: row * 4, rowsPerImage: rows },
              { texture: dst, origin: [0, 0, layer] },
              size,
            );
          const atA = z0 * d.sA + (tA ? k0 * M + m0 : m0 * K + k0);
          const atB = z0 * d.sB + (tB ? n0 * K + k0 : k0 * N + n0);
          const za = d.sA ? zn : 1, zb = d.sB ? zn : 1;
          if (!tA) copy(a, atA, K, M, ta.texture, [kp / 4, mp, za]);
          for (let i = 0; tA && i < panelsA(mp); i++) {
            const w = Math.min(PANEL_AT, mp / 4 - i * PANEL_AT);
            copy(a, atA + 4 * PANEL_AT * i, M, K, ta.texture, [w, kp, za], i * la);
          }
          for (let i = 0; i < panelsB(np, kp); i++) {
            if (tB) {
              const w = Math.min(PANEL_BT, kp / 4 - i * PANEL_BT);
              copy(b, atB + 4 * PANEL_BT * i, K, N, tb.texture, [w, np, zb], i * lb);
            } else {
              const w = Math.min(PANEL_B, np / 4 - i * PANEL_B);
              copy(b, atB + 4 * PANEL_B * i, N, K, tb.texture, [w, kp, zb], i * lb);
            }
          }
          const pass = enc.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(
            0,
            s.device.createBindGroup({
              layout: s.layout,
              entries: [
                { binding: 0, resource: params },
                { binding: 1, resource: ta.view },
                { binding: 2, resource: tb.view },
                { binding: 3, resource: cw.binding },
              ],
            }),
          );
          pass.dispatchWorkgroups(Math.ceil(mp / TEX_TM), Math.ceil(np / 128), zn); // ROWS_FIRST
          pass.end();
          textureDispatches++;
        }
      }
    }
  }
  return true;
}
