/**
 * AdamW with `torch.optim.AdamW` semantics, one fused kernel per parameter tensor (adamw.wgsl).
 *
 * Gradients can be scaled without an extra pass: `step({ gradScale })` takes a number (e.g.
 * 1/micro-batches) or a `[1]` GPU tensor read inside the kernel — the clip coefficient from
 * `clipGradNorm`, so clipping needs no readback. Tensors larger than a storage binding (the
 * 128 MiB cap: a [151936, 896] embedding) are updated in element windows.
 *
 * @example
 * ```ts
 * const opt = new AdamW(params, { lr: 1e-6, weightDecay: 0.01, noDecay: (p) => p.rank === 1 });
 * backward(loss);
 * const { coef, norm } = clipGradNorm(params, 1.0);
 * opt.step({ gradScale: coef });
 * ```
 *
 * @module
 */
import src from "./adamw.wgsl" with { type: "text" };
import { gpu } from "../core/device.ts";
import { type BufferBinding, commandEncoder, f32, grid, kernel, u32 } from "../core/runtime.ts";
import { launchReads } from "../core/texture_reads.ts";
import { empty, keep, readAll, type Tensor, tensor } from "../core/tensor.ts";

const adamwKernel = kernel("adamw", src);
const WG = 256;

export interface AdamWOptions {
  lr: number;
  /** (β1, β2); default (0.9, 0.999). */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 0.01 (PyTorch's default). */
  weightDecay?: number;
  /** Parameters for which this returns true get no weight decay (biases, norms). */
  noDecay?: (p: Tensor, index: number) => boolean;
  /** Elements per dispatch window (multiple of 256); default: the largest the binding cap allows. */
  windowElements?: number;
}

export interface StepOptions {
  /** Learning rate for this step (a schedule); default `this.lr`. */
  lr?: number;
  /** Multiplies every gradient before use: a number, or a `[1]` GPU tensor read in-kernel. */
  gradScale?: number | Tensor;
}

/** Optimizer state on the CPU, for checkpoints. `m`/`v` are null for never-updated params. */
export interface AdamWState {
  /** Number of `step()` calls. */
  step: number;
  /** Per-parameter update counts (bias correction uses these, as PyTorch's `state["step"]`). */
  paramSteps: number[];
  m: (Float32Array | null)[];
  v: (Float32Array | null)[];
}

/** Most bytes `stateDict()` reads back per queue wait (keeps the staging buffer bounded). */
const READ_CHUNK_BYTES = 256 * 2 ** 20;

export class AdamW {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Number of `step()` calls so far. */
  stepCount = 0;
  readonly params: readonly Tensor[];
  readonly #decay: boolean[];
  readonly #window: number;
  #paramSteps: number[];
  #m: (Tensor | null)[];
  #v: (Tensor | null)[];
  #one: Tensor | null = null;

  constructor(params: Tensor[], opts: AdamWOptions) {
    this.params = [...params];
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.#decay = params.map((p, i) => !(opts.noDecay?.(p, i) ?? false));
    const cap = Math.floor(gpu().maxBindingBytes / 4 / WG) * WG;
    this.#window = Math.min(opts.windowElements ?? cap, cap);
    if (this.#window <= 0 || this.#window % WG !== 0) {
      throw new Error(`AdamW: windowElements must be a positive multiple of ${WG}`);
    }
    for (const p of params) {
      if (p.dtype !== "f32") throw new Error(`AdamW: parameter ${p} is not f32`);
    }
    this.#paramSteps = params.map(() => 0);
    this.#m = params.map(() => null);
    this.#v = params.map(() => null);
  }

  /**
   * One update of every parameter that has a gradient (others are skipped, state untouched).
   * Encodes one dispatch per parameter window; never reads back or submits.
   */
  step(opts: StepOptions = {}): void {
    const lr = opts.lr ?? this.lr;
    const [b1, b2] = this.betas;
    let scale = 1;
    let scaleTensor: Tensor;
    if (typeof opts.gradScale === "number") scale = opts.gradScale;
    if (opts.gradScale !== undefined && typeof opts.gradScale !== "number") {
      scaleTensor = opts.gradScale;
      if (scaleTensor.dtype !== "f32" || scaleTensor.size < 1) {
        throw new Error("AdamW: gradScale tensor must be f32 [1]");
      }
    } else {
      scaleTensor = this.#one ??= keep(tensor([1]));
    }
    this.stepCount++;
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g || p.size === 0) return;
      if (g.size !== p.size) throw new Error(`AdamW: grad ${g} does not match parameter ${p}`);
      const m = this.#m[i] ??= zerosKept(p.shape);
      const v = this.#v[i] ??= zerosKept(p.shape);
      const t = ++this.#paramSteps[i];
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const wd = this.#decay[i] ? this.weightDecay : 0;
      for (let start = 0; start < p.size; start += this.#window) {
        const n = Math.min(this.#window, p.size - start);
        launchReads(adamwKernel, {
          params: [
            u32(n),
            f32(1 - lr * wd),
            f32(lr / bc1),
            f32(1 / Math.sqrt(bc2)),
            f32(b1),
            f32(b2),
            f32(this.eps),
            f32(scale),
          ],
          bindings: [
            vec4Window(p, start, n),
            vec4Window(g, start, n),
            vec4Window(m, start, n),
            vec4Window(v, start, n),
            scaleTensor.binding(0, 1),
          ],
          workgroups: grid(Math.ceil(n / 4 / WG)),
          overrides: { WG },
        });
      }
    });
  }

  /** Copy the state to the CPU (a sync point; bounded staging per queue wait). */
  async stateDict(): Promise<AdamWState> {
    const m: (Float32Array | null)[] = this.params.map(() => null);
    const v: (Float32Array | null)[] = this.params.map(() => null);
    const jobs: { t: Tensor; into: (Float32Array | null)[]; i: number }[] = [];
    this.params.forEach((_, i) => {
      if (this.#m[i]) jobs.push({ t: this.#m[i]!, into: m, i }, { t: this.#v[i]!, into: v, i });
    });
    for (let a = 0; a < jobs.length;) {
      let b = a, bytes = 0;
      while (b < jobs.length && (b === a || bytes + jobs[b].t.bytes <= READ_CHUNK_BYTES)) {
        bytes += jobs[b++].t.bytes;
      }
      const got = await readAll(jobs.slice(a, b).map((j) => j.t));
      got.forEach((data, k) => (jobs[a + k].into[jobs[a + k].i] = data as Float32Array));
      a = b;
    }
    return { step: this.stepCount, paramSteps: [...this.#paramSteps], m, v };
  }

  /** Replace the state with a checkpoint's (uploaded into fresh buffers; no sync). */
  loadStateDict(state: AdamWState): void {
    const n = this.params.length;
    if (state.m.length !== n || state.v.length !== n || state.paramSteps.length !== n) {
      throw new Error(
        `AdamW.loadStateDict: state has ${state.m.length} parameters, optimizer ${n}`,
      );
    }
    this.params.forEach((p, i) => {
      for (const [arr, label] of [[state.m[i], "m"], [state.v[i], "v"]] as const) {
        if (arr && arr.length !== p.size) {
          throw new Error(`AdamW.loadStateDict: ${label}[${i}] has ${arr.length} values for ${p}`);
        }
      }
      if (!state.m[i] !== !state.v[i]) throw new Error(`AdamW.loadStateDict: m/v mismatch at ${i}`);
    });
    this.#disposeState();
    this.#m = this.params.map((p, i) => (state.m[i] ? keep(tensor(state.m[i]!, p.shape)) : null));
    this.#v = this.params.map((p, i) => (state.v[i] ? keep(tensor(state.v[i]!, p.shape)) : null));
    this.#paramSteps = [...state.paramSteps];
    this.stepCount = state.step;
  }

  /** Free the GPU state (moments); call once the optimizer is no longer needed. */
  dispose(): void {
    this.#disposeState();
    this.#one?.dispose();
    this.#one = null;
  }

  #disposeState(): void {
    for (const t of [...this.#m, ...this.#v]) t?.dispose();
    this.#m = this.params.map(() => null);
    this.#v = this.params.map(() => null);
  }
}

/**
 * `t`'s elements [start, start + n) rounded up to whole vec4s. Pool buffers have capacities
 * in multiples of 256 bytes, so the rounded window stays inside the buffer; the kernel
 * leaves the lanes past `n` unchanged.
 */
function vec4Window(t: Tensor, start: number, n: number): BufferBinding {
  const offset = start * 4;
  const size = Math.ceil(n / 4) * 16;
  if (offset + size > t.buffer.size) throw new Error(`AdamW: ${t} has no room for a vec4 window`);
  return { buffer: t.buffer, offset, size };
}

/** A zero-filled tensor outside every scope. `clearBuffer` has no binding cap, unlike a fill kernel. */
function zerosKept(shape: readonly number[]): Tensor {
  const t = keep(empty(shape));
  commandEncoder().clearBuffer(t.buffer, 0, t.bytes);
  return t;
}
