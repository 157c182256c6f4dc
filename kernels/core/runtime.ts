/**
 * Kernel launching: compiled-once pipelines, one shared command encoder, and uniform
 * parameters packed into a ring that is written once per submit.
 *
 * Every op encodes its dispatches into the same compute pass; nothing is submitted until a
 * sync point ({@link flush}: a readback, the end of a step, or a full parameter ring). On
 * Mesa's CPU adapter a queue wait costs ~11 ms however little work it covers, while a
 * dispatch inside a large submit costs ~25–50 µs, so batching is the whole game.
 *
 * Conventions for a kernel's WGSL (see any `*.wgsl` beside its launcher):
 * - `@group(0) @binding(0) var<uniform> p: Params;` holds the launch's scalars (optional);
 * - storage bindings follow at 1, 2, … in the order the launcher passes them; a binding may
 *   also be a texture (`texture_storage_2d_array<rgba32float, read>`, `texture_2d_array<f32>`,
 *   …), bound from a {@link TextureBinding} (copy data in through {@link commandEncoder});
 * - sizes fixed per pipeline are `override` constants (tile sizes, workgroup sizes);
 * - sizes that vary per call (rows, sequence length) come through `p`.
 *
 * @module
 */
import { gpu, throwDeviceErrors } from "./device.ts";

/**
 * How a binding is declared: a uniform or storage buffer (`read`: read-only storage), or a
 * texture, given as the bind-group-layout entry it needs.
 */
export type BindingKind =
  | "uniform"
  | "read"
  | "read_write"
  | { storageTexture: GPUStorageTextureBindingLayout }
  | { texture: GPUTextureBindingLayout };

/** A WGSL entry point plus the binding kinds parsed from its source. */
export interface Kernel {
  name: string;
  source: string;
  entry: string;
  /** Kind of each binding index, parsed from the source. */
  bindings: BindingKind[];
}

const VIEW_DIMENSIONS: Record<string, GPUTextureViewDimension> = {
  "1d": "1d",
  "2d": "2d",
  "2d_array": "2d-array",
  "3d": "3d",
  "cube": "cube",
  "cube_array": "cube-array",
};
const ACCESS: Record<string, GPUStorageTextureAccess> = {
  read: "read-only",
  write: "write-only",
  read_write: "read-write",
};
// No samplers here: float textures are read with textureLoad, so they bind as unfilterable.
const SAMPLE_TYPES: Record<string, GPUTextureSampleType> = {
  f32: "unfilterable-float",
  i32: "sint",
  u32: "uint",
};

/** The binding kind of `texture_<dim><T>` / `texture_storage_<dim><format, access>`. */
function textureKind(name: string, storage: boolean, dim: string, a: string, b?: string) {
  const viewDimension = VIEW_DIMENSIONS[dim];
  if (storage && viewDimension && b && ACCESS[b]) {
    return { storageTexture: { access: ACCESS[b], format: a as GPUTextureFormat, viewDimension } };
  }
  if (!storage && viewDimension && SAMPLE_TYPES[a] && !b) {
    return { texture: { sampleType: SAMPLE_TYPES[a], viewDimension } };
  }
  throw new Error(
    `kernel ${name}: unsupported texture type texture_${storage ? "storage_" : ""}${dim}`,
  );
}

/** Declare a kernel from WGSL source (imported as text) and an entry point name. */
export function kernel(name: string, source: string, entry = "main"): Kernel {
  const bindings: Kernel["bindings"] = [];
  const re = /@binding\((\d+)\)\s*var\s*<\s*(uniform|storage)\s*(?:,\s*(read_write|read))?\s*>/g;
  for (const m of source.matchAll(re)) {
    const index = Number(m[1]);
    bindings[index] = m[2] === "uniform"
      ? "uniform"
      : m[3] === "read_write"
      ? "read_write"
      : "read";
  }
  const tex =
    /@binding\((\d+)\)\s*var\s+\w+\s*:\s*texture_(storage_)?(\w+?)\s*<\s*(\w+)\s*(?:,\s*(\w+)\s*)?>/g;
  for (const m of source.matchAll(tex)) {
    bindings[Number(m[1])] = textureKind(name, !!m[2], m[3], m[4], m[5]);
  }
  for (let i = 0; i < bindings.length; i++) {
    if (!bindings[i]) {
      throw new Error(`kernel ${name}: binding ${i} is missing (bindings must be dense)`);
    }
  }
  return { name, source, entry, bindings };
}

/** A buffer binding: the whole buffer, or a window of it (offset multiple of 256 bytes). */
export interface BufferBinding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** A texture binding, for a binding the kernel declares as a texture. */
export interface TextureBinding {
  texture: GPUTextureView;
}

/** What {@link launch} binds at a non-uniform binding. */
export type Binding = BufferBinding | TextureBinding;

/** Scalars for the kernel's uniform `Params` struct, packed in declaration order. */
export type ParamValue = { u32: number } | { i32: number } | { f32: number };
export const u32 = (v: number): ParamValue => ({ u32: v });
export const i32 = (v: number): ParamValue => ({ i32: v });
export const f32 = (v: number): ParamValue => ({ f32: v });

export interface Launch {
  bindings: Binding[];
  workgroups: [number, number?, number?];
  params?: ParamValue[];
  overrides?: Record<string, number>;
  /** A problem size or variant for the profiler's report (`name label`); no effect otherwise. */
  label?: string;
}

const PARAM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we target
const RING_SLOTS = 4096;

interface State {
  device: GPUDevice;
  encoder?: GPUCommandEncoder;
  pass?: GPUComputePassEncoder;
  ring: GPUBuffer;
  ringData: ArrayBuffer;
  ringView: DataView;
  slots: number;
  pipelines: Map<Kernel, Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>>;
  dispatches: number;
  submits: number;
  copies: number;
  copyBytes: number;
  afterSubmit: (() => void)[];
}

let state: State | undefined;

function st(): State {
  if (state) return state;
  const device = gpu().device;
  const ringData = new ArrayBuffer(PARAM_SLOT * RING_SLOTS);
  state = {
    device,
    ring: device.createBuffer({
      label: "params-ring",
      size: ringData.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }),
    ringData,
    ringView: new DataView(ringData),
    slots: 0,
    pipelines: new Map(),
    dispatches: 0,
    submits: 0,
    copies: 0,
    copyBytes: 0,
    afterSubmit: [],
  };
  return state;
}

function pipelineFor(k: Kernel, overrides: Record<string, number> | undefined) {
  const s = st();
  let byKey = s.pipelines.get(k);
  if (!byKey) s.pipelines.set(k, byKey = new Map());
  const key = overrides ? JSON.stringify(overrides) : "";
  let hit = byKey.get(key);
  if (!hit) {
    const layout = s.device.createBindGroupLayout({
      label: k.name,
      entries: k.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        ...(typeof kind === "object" ? kind : {
          buffer: {
            type: kind === "uniform"
              ? "uniform"
              : kind === "read"
              ? "read-only-storage"
              : "storage",
          },
        }),
      })),
    });
    const module = s.device.createShaderModule({ label: k.name, code: k.source });
    const pipeline = s.device.createComputePipeline({
      label: k.name,
      layout: s.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: k.entry, constants: overrides },
    });
    hit = { pipeline, layout };
    byKey.set(key, hit);
  }
  return hit;
}

/** The shared command encoder, ending any open compute pass (for copies between ops). */
export function commandEncoder(): GPUCommandEncoder {
  const s = st();
  if (s.pass) {
    s.pass.end();
    s.pass = undefined;
  }
  return s.encoder ??= s.device.createCommandEncoder();
}

/**
 * What a profiler (kernels/core/profile.ts) sees of the launches: each dispatch may get a
 * pass of its own with timestamp writes, and the profiler adds its commands (resolving the
 * timestamps) to each submit.
 */
export interface LaunchObserver {
  /** True when the profiler cannot time another dispatch before the next submit. */
  full(): boolean;
  /** Report launches by kernel and label (problem size) rather than by kernel alone. */
  byLabel?: boolean;
  /** The timestamp writes of dispatch `name`'s own pass (`encodeMs`: its CPU encode time). */
  passFor(name: string, encodeMs: number): GPUComputePassTimestampWrites | undefined;
  /** Called with the encoder just before it is finished and submitted. */
  beforeSubmit(encoder: GPUCommandEncoder): void;
}

let observer: LaunchObserver | undefined;

/** Install (or with `undefined` remove) the launch observer; one at a time. */
export function observeLaunches(o: LaunchObserver | undefined): void {
  if (o && observer) throw new Error("observeLaunches: a profiler is already running");
  observer = o;
}

/** Encode one dispatch of `k`. Nothing runs until the next {@link flush}. */
export function launch(k: Kernel, l: Launch): void {
  const t0 = observer ? performance.now() : 0;
  const s = st();
  if (s.slots >= RING_SLOTS || observer?.full()) flush();
  const { pipeline, layout } = pipelineFor(k, l.overrides);
  const entries: GPUBindGroupEntry[] = [];
  let b = 0;
  if (k.bindings[0] === "uniform") {
    const base = s.slots++ * PARAM_SLOT;
    const params = l.params ?? [];
    if (params.length * 4 > PARAM_SLOT) throw new Error(`kernel ${k.name}: too many params`);
    params.forEach((p, i) => {
      if ("u32" in p) s.ringView.setUint32(base + 4 * i, p.u32, true);
      else if ("i32" in p) s.ringView.setInt32(base + 4 * i, p.i32, true);
      else s.ringView.setFloat32(base + 4 * i, p.f32, true);
    });
    entries.push({ binding: 0, resource: { buffer: s.ring, offset: base, size: PARAM_SLOT } });
    b = 1;
  }
  if (l.bindings.length !== k.bindings.length - b) {
    throw new Error(
      `kernel ${k.name}: expects ${k.bindings.length - b} bindings, got ${l.bindings.length}`,
    );
  }
  l.bindings.forEach((bb, i) => {
    const isTexture = typeof k.bindings[b + i] === "object";
    if (isTexture !== "texture" in bb) {
      throw new Error(
        `kernel ${k.name}: binding ${b + i} takes a ${isTexture ? "texture" : "buffer"}`,
      );
    }
    entries.push({
      binding: b + i,
      resource: "texture" in bb
        ? bb.texture
        : { buffer: bb.buffer, offset: bb.offset ?? 0, size: bb.size },
    });
  });
  const bindGroup = s.device.createBindGroup({ layout, entries });
  const [x, y = 1, z = 1] = l.workgroups;
  const max = gpu().maxWorkgroupsPerDim;
  if (x > max || y > max || z > max) {
    throw new Error(`kernel ${k.name}: dispatch ${x}×${y}×${z} exceeds ${max} per dimension`);
  }
  const timed = observer?.passFor(
    l.label && observer.byLabel ? `${k.name} ${l.label}` : k.name,
    performance.now() - t0,
  );
  if (timed) commandEncoder(); // a pass of its own, so that its timestamps time it alone
  if (!s.pass) {
    s.pass = (s.encoder ??= s.device.createCommandEncoder()).beginComputePass(
      timed ? { timestampWrites: timed } : undefined,
    );
  }
  s.pass.setPipeline(pipeline);
  s.pass.setBindGroup(0, bindGroup);
  if (x > 0 && y > 0 && z > 0) s.pass.dispatchWorkgroups(x, y, z);
  if (timed) commandEncoder();
  s.dispatches++;
}

/** Run `fn` after the next submit (e.g. to release staging buffers the batch uses). */
export function afterSubmit(fn: () => void): void {
  st().afterSubmit.push(fn);
}

/**
 * Run `fn` once everything encoded so far has been submitted: now if nothing is pending,
 * else right after the next submit (destroying a buffer that unsubmitted commands use would
 * invalidate them; after submit, WebGPU keeps it alive until the GPU is done with it).
 */
export function whenEncodedWorkSubmitted(fn: () => void): void {
  if (st().encoder) afterSubmit(fn);
  else fn();
}

/** Submit everything encoded so far. Returns without waiting for the GPU. */
export function flush(): void {
  const s = st();
  if (!s.encoder) return;
  if (s.pass) {
    s.pass.end();
    s.pass = undefined;
  }
  if (s.slots > 0) s.device.queue.writeBuffer(s.ring, 0, s.ringData, 0, s.slots * PARAM_SLOT);
  observer?.beforeSubmit(s.encoder);
  s.device.queue.submit([s.encoder.finish()]);
  s.encoder = undefined;
  s.slots = 0;
  s.submits++;
  for (const fn of s.afterSubmit.splice(0)) fn();
}

/** Submit and wait until the GPU has finished all work (one ~11 ms wait on llvmpipe). */
export async function sync(): Promise<void> {
  flush();
  await st().device.queue.onSubmittedWorkDone();
  throwDeviceErrors();
}

/** Count a buffer-to-texture copy that an op encoded (the texture paths), for {@link launchStats}. */
export function countCopy(bytes: number): void {
  const s = st();
  s.copies++;
  s.copyBytes += bytes;
}

/** Counters for tests and benchmarks since start: dispatches, submits, pipelines, texture copies. */
export function launchStats(): {
  dispatches: number;
  submits: number;
  pipelines: number;
  copies: number;
  copyBytes: number;
} {
  const s = st();
  let pipelines = 0;
  for (const m of s.pipelines.values()) pipelines += m.size;
  return {
    dispatches: s.dispatches,
    submits: s.submits,
    pipelines,
    copies: s.copies,
    copyBytes: s.copyBytes,
  };
}

/**
 * Split `n` workgroups into an (x, y) grid within the per-dimension limit. Kernels recover
 * the flat index as `wid.x + wid.y * nwg.x` (with `@builtin(num_workgroups) nwg`).
 */
export function grid(n: number): [number, number] {
  const max = gpu().maxWorkgroupsPerDim;
  if (n <= max) return [Math.max(n, 1), 1];
  const y = Math.ceil(n / max);
  return [Math.ceil(n / y), y];
}
