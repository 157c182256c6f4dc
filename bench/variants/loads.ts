/**
 * What a lane-varying load costs by resource kind on this adapter — the measurement behind
 * kernels/core/texture_reads.ts (bench/README.md, "Speed round 2"). Each variant is a kernel
 * in which every invocation of 8-lane workgroups sums `LOADS` independent vec4 loads per
 * iteration of a 256-iteration loop from a 16 MiB array; its sums are checked against a float64
 * reference, then it is timed (wall ns per lane and vec4, all llvmpipe threads) and the copy of
 * the array into a texture is timed too.
 *
 * ```
 * deno run -A --unstable-webgpu bench/variants/loads.ts [--only name,...]
 * ```
 * @module
 */
import { describeGpu, gpu, initGpu } from "../../kernels/core/device.ts";

await initGpu();
const device = gpu().device;
const N = 1 << 20; // vec4 elements
const INV = 8192, ITERS = 256, LOADS = 4, W = 2048, H = N / W;

const data = new Float32Array(N * 4);
let seed = 12345;
for (let i = 0; i < data.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  data[i] = seed / 2 ** 32 - 0.5;
}
const buf = device.createBuffer({
  size: data.byteLength,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
});
device.queue.writeBuffer(buf, 0, data);
const out = device.createBuffer({
  size: INV * 16,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
});
const rgba = device.createTexture({
  size: [W, H],
  format: "rgba32float",
  usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
});
const r32 = device.createTexture({
  size: [W * 4, H / 4],
  format: "r32float",
  usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
});
{
  const e = device.createCommandEncoder();
  e.copyBufferToTexture({ buffer: buf, bytesPerRow: W * 16 }, { texture: rgba }, [W, H]);
  e.copyBufferToTexture({ buffer: buf, bytesPerRow: W * 16 }, { texture: r32 }, [W * 4, H / 4]);
  device.queue.submit([e.finish()]);
}

/** Element index of load l in iteration it of the invocation with base b (as the WGSL does). */
const index = (b: number, it: number, l: number) => ((b + it * 131) % (N - 8)) + 2 * l;
/** The base of invocation g: per invocation, or per workgroup of 8 (`uniform` variants). */
const base = (g: number, uniform: boolean) => ((uniform ? Math.floor(g / 8) : g) * 977) % N;

interface Variant {
  /** WGSL declaration of binding 0 (`x`) and the expression loading vec4 `e` of it. */
  decl: string;
  load: (e: string) => string;
  resource: GPUBindingResource;
  uniform?: boolean;
  wg?: number;
}
const ssbo = { buffer: buf };
const stex = "var x: texture_storage_2d<rgba32float, read>;";
const r32At = (e: string) => `textureLoad(x, vec2u((${e}) & ${W * 4 - 1}u, (${e}) >> 13u)).x`;
const VARIANTS: Record<string, Variant> = {
  ssbo_vec4: {
    decl: "var<storage, read> x: array<vec4f>;",
    load: (e) => `x[${e}]`,
    resource: ssbo,
  },
  ssbo_vec4_wg1: {
    decl: "var<storage, read> x: array<vec4f>;",
    load: (e) => `x[${e}]`,
    resource: ssbo,
    wg: 1,
  },
  ssbo_f32x4: {
    decl: "var<storage, read> x: array<f32>;",
    load: (e) => `vec4f(x[4u*(${e})], x[4u*(${e})+1u], x[4u*(${e})+2u], x[4u*(${e})+3u])`,
    resource: ssbo,
  },
  ssbo_vec4u_bitcast: {
    decl: "var<storage, read> x: array<vec4u>;",
    load: (e) => `bitcast<vec4f>(x[${e}])`,
    resource: ssbo,
  },
  ssbo_vec4_uniform: {
    decl: "var<storage, read> x: array<vec4f>;",
    load: (e) => `x[${e}]`,
    resource: ssbo,
    uniform: true,
  },
  texture_rgba: {
    decl: stex,
    load: (e) => `textureLoad(x, vec2u((${e}) % ${W}u, (${e}) / ${W}u))`,
    resource: rgba.createView(),
  },
  texture_rgba_uniform: {
    decl: stex,
    load: (e) => `textureLoad(x, vec2u((${e}) % ${W}u, (${e}) / ${W}u))`,
    resource: rgba.createView(),
    uniform: true,
  },
  texture_r32x4: {
    decl: "var x: texture_storage_2d<r32float, read>;",
    load: (e) =>
      `vec4f(${r32At(`4u*(${e})`)}, ${r32At(`4u*(${e})+1u`)}, ${r32At(`4u*(${e})+2u`)}, ${
        r32At(`4u*(${e})+3u`)
      })`,
    resource: r32.createView(),
  },
};

function source(v: Variant): string {
  const wg = v.wg ?? 8;
  const loads = Array.from({ length: LOADS }, (_, l) => `acc += ${v.load(`o + ${2 * l}u`)};`);
  return `@group(0) @binding(0) ${v.decl}
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let g = gid.x;
  let base = (${v.uniform ? "(g / 8u)" : "g"} * 977u) % ${N}u;
  var acc = vec4f(0.0);
  for (var it = 0u; it < ${ITERS}u; it++) {
    let o = (base + it * 131u) % ${N - 8}u;
    ${loads.join("\n    ")}
  }
  out[g] = acc;
}`;
}

/** float64 sums of invocations 0 … 63 (the check), as the kernel forms them. */
function reference(uniform: boolean): Float64Array {
  const ref = new Float64Array(64 * 4);
  for (let g = 0; g < 64; g++) {
    for (let it = 0; it < ITERS; it++) {
      for (let l = 0; l < LOADS; l++) {
        const e = index(base(g, uniform), it, l);
        for (let c = 0; c < 4; c++) ref[4 * g + c] += data[4 * e + c];
      }
    }
  }
  return ref;
}

async function readOut(): Promise<Float32Array> {
  const staging = device.createBuffer({
    size: 64 * 16,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const e = device.createCommandEncoder();
  e.copyBufferToBuffer(out, 0, staging, 0, 64 * 16);
  device.queue.submit([e.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return got;
}

const onlyAt = Deno.args.indexOf("--only");
const only = onlyAt >= 0 ? Deno.args[onlyAt + 1].split(",") : null;
console.log(`device: ${describeGpu(gpu())}`);
console.log(
  `| variant | max abs err | ms | ns / lane / vec4 (wall) |\n| --- | ---: | ---: | ---: |`,
);
let failed = false;
for (const [name, v] of Object.entries(VARIANTS)) {
  if (only && !only.includes(name)) continue;
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code: source(v) }), entryPoint: "main" },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: v.resource }, { binding: 1, resource: { buffer: out } }],
  });
  const run = async (reps: number) => {
    const e = device.createCommandEncoder();
    for (let r = 0; r < reps; r++) {
      const p = e.beginComputePass();
      p.setPipeline(pipeline);
      p.setBindGroup(0, group);
      p.dispatchWorkgroups(INV / (v.wg ?? 8));
      p.end();
    }
    device.queue.submit([e.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run(1);
  const got = await readOut();
  const ref = reference(!!v.uniform);
  const err = ref.reduce((m, r, i) => Math.max(m, Math.abs(got[i] - r)), 0);
  const ok = err < 1e-3; // 1024 f32 additions of values in ±0.5
  failed ||= !ok;
  let best = Infinity;
  for (let s = 0; s < 3; s++) {
    const t0 = performance.now();
    await run(4);
    best = Math.min(best, (performance.now() - t0) / 4);
  }
  const ns = (best * 1e6) / (INV * ITERS * LOADS);
  console.log(
    `| ${name} | ${err.toExponential(1)}${ok ? "" : " FAILED"} | ${best.toFixed(2)} | ${
      ns.toFixed(2)
    } |`,
  );
}
// The copy a texture read pays first: copyBufferToTexture of the 16 MiB array.
{
  const copy = async (reps: number) => {
    const e = device.createCommandEncoder();
    for (let r = 0; r < reps; r++) {
      e.copyBufferToTexture({ buffer: buf, bytesPerRow: W * 16 }, { texture: rgba }, [W, H]);
    }
    device.queue.submit([e.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await copy(1);
  let best = Infinity;
  for (let s = 0; s < 3; s++) {
    const t0 = performance.now();
    await copy(4);
    best = Math.min(best, (performance.now() - t0) / 4);
  }
  console.log(
    `\ncopyBufferToTexture 16 MiB: ${best.toFixed(2)} ms, ${(16.8 / best).toFixed(2)} GB/s`,
  );
}
if (failed) Deno.exit(1);
