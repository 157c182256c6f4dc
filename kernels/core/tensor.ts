/**
 * `Tensor`: a GPU buffer, a shape and a dtype. Always contiguous, row-major; reshapes are
 * views that share the buffer. Buffers come from a size-bucketed pool and return to it when
 * the last view is disposed, so a training loop that disposes (or uses {@link scope}) does
 * not allocate after its first step.
 *
 * Compute dtype is f32; i32/u32 carry token ids, positions and masks. f16/bf16 are converted
 * to f32 at load time (models/safetensors.ts) before upload.
 *
 * @module
 */
import { gpu, throwDeviceErrors } from "./device.ts";
import {
  afterSubmit,
  type BufferBinding,
  commandEncoder,
  flush,
  whenEncodedWorkSubmitted,
} from "./runtime.ts";

export type DType = "f32" | "i32" | "u32";
type TypedArrayFor<D extends DType> = D extends "f32" ? Float32Array
  : D extends "i32" ? Int32Array
  : Uint32Array;

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Reference-counted GPU buffer shared by a tensor and its views. */
export class Storage {
  refs = 1;
  /**
   * `pooled`: the buffer returns to the pool when released. Uploaded buffers (created mapped)
   * are not pooled, since uploads never draw from the pool: they are destroyed once the work
   * already encoded has been submitted, so repeated uploads cannot grow the pool.
   */
  constructor(public buffer: GPUBuffer | null, readonly bytes: number, readonly pooled = true) {}
  retain(): void {
    if (!this.buffer) throw new Error("retain() of a released tensor buffer");
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0 && this.buffer) {
      const buffer = this.buffer;
      this.buffer = null;
      if (this.pooled) pool.put(buffer);
      else {
        pool.allocatedBytes -= buffer.size;
        whenEncodedWorkSubmitted(() => buffer.destroy());
      }
    }
  }
}

/** Free GPU buffers by capacity; capacities are rounded to 1/8-octave buckets. */
class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  allocatedBytes = 0;
  pooledBytes = 0;

  static capacity(bytes: number): number {
    const b = Math.max(bytes, 256);
    const octave = 2 ** Math.floor(Math.log2(b));
    const step = Math.max(octave / 8, 256);
    return Math.ceil(b / step) * step;
  }

  get(bytes: number): GPUBuffer {
    const cap = BufferPool.capacity(bytes);
    const hit = this.#free.get(cap)?.pop();
    if (hit) {
      this.pooledBytes -= cap;
      return hit;
    }
    this.allocatedBytes += cap;
    return gpu().device.createBuffer({ size: cap, usage: USAGE });
  }

  put(buffer: GPUBuffer): void {
    const cap = buffer.size;
    let list = this.#free.get(cap);
    if (!list) this.#free.set(cap, list = []);
    list.push(buffer);
    this.pooledBytes += cap;
  }

  /** Destroy every pooled buffer (memory goes back to the driver). */
  clear(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.allocatedBytes -= this.pooledBytes;
    this.pooledBytes = 0;
    this.#free.clear();
  }
}

export const pool = new BufferPool();

/** Autograd bookkeeping attached to a tensor produced by a recorded op (see autograd.ts). */
export interface GradNode {
  inputs: Tensor[];
  backward: (grad: Tensor) => (Tensor | null)[];
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  /** Whether gradients flow to (leaf) or through (op output) this tensor. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor | null = null;
  /** Set on op outputs while the tape records. */
  node: GradNode | null = null;
  #disposed = false;

  constructor(readonly storage: Storage, readonly shape: readonly number[], readonly dtype: DType) {
    trackInScope(this);
  }

  get size(): number {
    return numel(this.shape);
  }
  get bytes(): number {
    return this.size * 4;
  }
  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this.#disposed;
  }

  /** The live GPU buffer; throws if every view of it has been released. */
  get buffer(): GPUBuffer {
    const b = this.storage.buffer;
    if (!b) throw new Error(`tensor #${this.id} [${this.shape}] used after dispose`);
    return b;
  }

  /** Bind the whole tensor, or the window of `count` elements from `start`. */
  binding(start = 0, count = this.size - start): BufferBinding {
    if (start === 0 && count === this.size) {
      return { buffer: this.buffer, size: Math.max(this.bytes, 4) };
    }
    return { buffer: this.buffer, offset: start * 4, size: Math.max(count * 4, 4) };
  }

  /** A view with another shape over the same buffer (one dimension may be -1). */
  reshape(shape: number[]): Tensor {
    const resolved = resolveShape(shape, this.size);
    this.storage.retain();
    const view = new Tensor(this.storage, resolved, this.dtype);
    reshapeHook?.(this, view);
    return view;
  }

  /** Release this handle; the buffer returns to the pool when no view or tape holds it. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    untrack(this);
    this.storage.release();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Copy to the CPU (a sync point: flushes pending work, ~11 ms wait on llvmpipe). */
  async read(): Promise<TypedArrayFor<DType>> {
    const [out] = await readAll([this]);
    return out;
  }

  toString(): string {
    return `Tensor#${this.id}(${this.dtype}[${this.shape.join(",")}])`;
  }
}

/** Hook for autograd: `reshape` records itself so gradients flow through views. */
let reshapeHook: ((src: Tensor, view: Tensor) => void) | undefined;
export function setReshapeHook(fn: (src: Tensor, view: Tensor) => void): void {
  reshapeHook = fn;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function resolveShape(shape: number[], size: number): number[] {
  const free = shape.indexOf(-1);
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const out = [...shape];
  if (free >= 0) out[free] = size / known;
  if (numel(out) !== size || !Number.isInteger(out[free >= 0 ? free : 0] ?? 0)) {
    throw new Error(`cannot reshape ${size} elements to [${shape}]`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Creation and readback

/** An uninitialised tensor from the pool (contents are whatever the buffer held). */
export function empty(shape: readonly number[], dtype: DType = "f32"): Tensor {
  const bytes = numel(shape) * 4;
  return new Tensor(new Storage(pool.get(bytes), bytes), [...shape], dtype);
}

/**
 * Upload CPU data. The buffer is created mapped (never reused from the pool), so the upload
 * is ordered correctly with respect to work already encoded but not yet submitted.
 */
export function tensor(
  data: ArrayLike<number> | Float32Array | Int32Array | Uint32Array,
  shape: readonly number[] = [data.length],
  dtype: DType = data instanceof Int32Array ? "i32" : data instanceof Uint32Array ? "u32" : "f32",
): Tensor {
  const n = numel(shape);
  if (n !== data.length) throw new Error(`tensor(): ${data.length} values for shape [${shape}]`);
  const bytes = n * 4;
  const buffer = gpu().device.createBuffer({
    size: BufferPool.capacity(bytes),
    usage: USAGE,
    mappedAtCreation: true,
  });
  const mapped = buffer.getMappedRange();
  if (dtype === "f32") new Float32Array(mapped, 0, n).set(data as ArrayLike<number>);
  else if (dtype === "i32") new Int32Array(mapped, 0, n).set(data as ArrayLike<number>);
  else new Uint32Array(mapped, 0, n).set(data as ArrayLike<number>);
  buffer.unmap();
  pool.allocatedBytes += buffer.size;
  return new Tensor(new Storage(buffer, bytes, false), [...shape], dtype);
}

/** Read several tensors back with a single queue wait. */
export async function readAll(ts: Tensor[]): Promise<TypedArrayFor<DType>[]> {
  const device = gpu().device;
  const total = ts.reduce((a, t) => a + Math.max(t.bytes, 4), 0);
  const staging = device.createBuffer({
    size: Math.ceil(total / 4) * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = commandEncoder();
  let offset = 0;
  const offsets: number[] = [];
  for (const t of ts) {
    offsets.push(offset);
    if (t.bytes > 0) enc.copyBufferToBuffer(t.buffer, 0, staging, offset, t.bytes);
    offset += Math.max(t.bytes, 4);
  }
  flush();
  await staging.mapAsync(GPUMapMode.READ);
  const all = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  throwDeviceErrors();
  return ts.map((t, i) => {
    const buf = all.slice(offsets[i], offsets[i] + t.bytes);
    return t.dtype === "f32"
      ? new Float32Array(buf)
      : t.dtype === "i32"
      ? new Int32Array(buf)
      : new Uint32Array(buf);
  });
}

/** Copy `src` into `dst` (same element count) in stream order. */
export function copyInto(
  src: Tensor,
  dst: Tensor,
  srcStart = 0,
  dstStart = 0,
  count = src.size,
): void {
  if (count === 0) return;
  commandEncoder().copyBufferToBuffer(
    src.buffer,
    srcStart * 4,
    dst.buffer,
    dstStart * 4,
    count * 4,
  );
}

/** Overwrite a tensor's contents from the CPU, ordered after all work encoded so far. */
export function write(dst: Tensor, data: ArrayLike<number>, dstStart = 0): void {
  const n = data.length;
  const staging = gpu().device.createBuffer({
    size: Math.max(n * 4, 4),
    usage: GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  const mapped = staging.getMappedRange();
  if (dst.dtype === "f32") new Float32Array(mapped).set(data);
  else if (dst.dtype === "i32") new Int32Array(mapped).set(data);
  else new Uint32Array(mapped).set(data);
  staging.unmap();
  commandEncoder().copyBufferToBuffer(staging, 0, dst.buffer, dstStart * 4, n * 4);
  afterSubmit(() => staging.destroy());
}

// ---------------------------------------------------------------------------------------
// Scopes: every tensor created inside `scope(fn)` is disposed when fn returns, except the
// tensors in its return value (which move to the enclosing scope) and those `keep()`-ed.

const scopes: Set<Tensor>[] = [];

function trackInScope(t: Tensor): void {
  scopes.at(-1)?.add(t);
}
function untrack(t: Tensor): void {
  scopes.at(-1)?.delete(t);
}

/** Remove `t` from every scope so it survives them (parameters, optimizer state). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Run `fn`, then dispose every tensor it created that is not part of its result. */
export function scope<T>(fn: () => T): T {
  scopes.push(new Set());
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of scopes.pop()!) t.dispose();
    throw e;
  }
  const created = scopes.pop()!;
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of created) {
    if (kept.has(t)) scopes.at(-1)?.add(t);
    else t.dispose();
  }
  return result;
}

/** Async variant of {@link scope} (awaiting inside is fine; don't interleave two scopes). */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  scopes.push(new Set());
  const mine = scopes.at(-1)!;
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    scopes.splice(scopes.indexOf(mine), 1);
    for (const t of mine) t.dispose();
    throw e;
  }
  scopes.splice(scopes.indexOf(mine), 1);
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of mine) {
    if (kept.has(t)) scopes.at(-1)?.add(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || v === null || typeof v !== "object") return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) { for (const x of v) collectTensors(x, out, depth + 1); }
  else if (v.constructor === Object || v instanceof Map) {
    for (const x of v instanceof Map ? v.values() : Object.values(v)) {
      collectTensors(x, out, depth + 1);
    }
  }
}
