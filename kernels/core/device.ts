/**
 * The WebGPU adapter and device, acquired once per process.
 *
 * Deno picks its WebGPU backend from `DENO_WEBGPU_BACKEND` (`vulkan`, `gl`, …). On a machine
 * with no GPU, Mesa's Vulkan CPU driver (lavapipe, Debian package `mesa-vulkan-drivers`) is
 * the one to use: Mesa's GL driver compiles tiled shaders 20–60× slower and its
 * `queue.submit()` blocks JavaScript until the GPU work finishes. So when the variable is
 * unset, {@link initGpu} sets it to `vulkan` before the first adapter request (Deno reads it
 * lazily), and falls back to Deno's default choice if Vulkan offers no adapter.
 *
 * @module
 */
import { ensureVulkanDriver } from "./adapter_setup.ts";

/** The device and the facts about it that kernels need. */
export interface Gpu {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: GPUAdapterInfo;
  /** Largest storage-buffer binding (bytes): 128 MiB on llvmpipe; bigger tensors bind in windows. */
  maxBindingBytes: number;
  /** Largest single buffer (bytes). */
  maxBufferBytes: number;
  /** Alignment of a binding's byte offset: window offsets must be multiples of it. */
  offsetAlignment: number;
  maxWorkgroupsPerDim: number;
  maxWorkgroupStorageBytes: number;
  maxInvocationsPerWorkgroup: number;
  /** True on a software (CPU) adapter such as llvmpipe. */
  isCpu: boolean;
  features: Set<string>;
}

const HOW_TO_FIX = [
  "WebGPU found no adapter. To fix it:",
  "  - on a machine without a GPU, install Mesa's Vulkan drivers (Debian/Ubuntu:",
  "    `apt-get install mesa-vulkan-drivers`) and run with DENO_WEBGPU_BACKEND=vulkan;",
  "  - on a machine with a GPU, install its Vulkan driver (NVIDIA: the driver's Vulkan ICD);",
  "  - check `vulkaninfo --summary` lists a device.",
].join("\n");

let pending: Promise<Gpu> | undefined;
let current: Gpu | undefined;

/** Acquire (once) and return the WebGPU device. Throws with fixing instructions if none. */
export function initGpu(): Promise<Gpu> {
  pending ??= acquire().then((g) => (current = g));
  return pending;
}

/** The device acquired by {@link initGpu}; throws if it has not been awaited yet. */
export function gpu(): Gpu {
  if (!current) throw new Error("WebGPU is not initialised: `await initGpu()` first");
  return current;
}

async function acquire(): Promise<Gpu> {
  const chosen = Deno.env.get("DENO_WEBGPU_BACKEND");
  if (!chosen) Deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
  // Mesa's window-system probe prints "XDG_RUNTIME_DIR is invalid" on headless machines;
  // compute needs no display, so give it a private directory to find.
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "zerokit-xdg-" }));
  }
  if (typeof navigator === "undefined" || !navigator.gpu) {
    throw new Error(`navigator.gpu is missing: run Deno with --unstable-webgpu.\n${HOW_TO_FIX}`);
  }
  ensureVulkanDriver(); // before the first adapter request: Deno reads the drivers once
  let adapter = await navigator.gpu.requestAdapter();
  if (!adapter && !chosen) {
    Deno.env.delete("DENO_WEBGPU_BACKEND");
    adapter = await navigator.gpu.requestAdapter();
  }
  if (!adapter) throw new Error(HOW_TO_FIX);
  const l = adapter.limits;
  const wanted = (["timestamp-query"] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures: wanted,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      // matmul's texture path (llvmpipe loads textures without per-lane loops) wants big ones.
      maxTextureDimension2D: l.maxTextureDimension2D,
      maxTextureArrayLayers: l.maxTextureArrayLayers,
      // texture reads (core/texture_reads.ts) bind a kernel's every read-only input as one.
      maxStorageTexturesPerShaderStage: l.maxStorageTexturesPerShaderStage,
    },
  });
  device.addEventListener("uncapturederror", (e) => {
    deviceErrors.push((e as GPUUncapturedErrorEvent).error.message);
  });
  const info = adapter.info;
  return {
    adapter,
    device,
    info,
    maxBindingBytes: device.limits.maxStorageBufferBindingSize,
    maxBufferBytes: device.limits.maxBufferSize,
    offsetAlignment: device.limits.minStorageBufferOffsetAlignment,
    maxWorkgroupsPerDim: device.limits.maxComputeWorkgroupsPerDimension,
    maxWorkgroupStorageBytes: device.limits.maxComputeWorkgroupStorageSize,
    maxInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    isCpu: /llvmpipe|lavapipe|swiftshader|software/i.test(info.description ?? "") ||
      Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: new Set([...device.features]),
  };
}

/** Validation errors the device reported asynchronously; drained by `throwDeviceErrors`. */
const deviceErrors: string[] = [];

/** Throw if the device has reported an error since the last check (called at sync points). */
export function throwDeviceErrors(): void {
  if (deviceErrors.length === 0) return;
  const all = deviceErrors.splice(0);
  throw new Error(`WebGPU error: ${all.join("\n")}`);
}

/** A human-readable summary of the adapter, for `deno task gpu-info` and bench headers. */
export function describeGpu(g: Gpu): string {
  const backend = Deno.env.get("DENO_WEBGPU_BACKEND") ?? "(default)";
  return [
    `adapter: ${g.info.description || g.info.vendor} (${g.isCpu ? "CPU" : "GPU"})`,
    `backend: ${backend}`,
    `max binding: ${(g.maxBindingBytes / 2 ** 20).toFixed(0)} MiB, max buffer: ${
      (g.maxBufferBytes / 2 ** 20).toFixed(0)
    } MiB, workgroup storage: ${g.maxWorkgroupStorageBytes} B`,
    `features: ${[...g.features].join(", ") || "none"}`,
  ].join("\n");
}
