import {
  accumulateInto,
  backward,
  clearTape,
  noGrad,
  tapeLength,
  zeroGrad,
} from "../../../kernels/core/autograd.ts";
import { add, fill, mul, scale } from "../../../kernels/elementwise/elementwise.ts";
import { gpu } from "../../../kernels/core/device.ts";
import { kernel, launch, launchStats, sync, u32 } from "../../../kernels/core/runtime.ts";
import { empty, keep, pool, readAll, scope, tensor, write } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  gpuReady,
  randn,
  upload,
} from "../../helpers.ts";
import { textureReadsOn } from "../../../kernels/core/texture_reads.ts";

await gpuReady;

Deno.test("upload and read back f32, i32 and u32 exactly", async () => {
  const f = randn(1001);
  const i = Int32Array.from({ length: 77 }, (_, k) => k * 7919 - 300000);
  const u = Uint32Array.from({ length: 5 }, (_, k) => 4000000000 + k);
  const [a, b, c] = await readAll([upload(f, [7, 143]), tensor(i), tensor(u)]);
  assert.deepEqual(Array.from(a), Array.from(Float32Array.from(f)));
  assert.deepEqual(Array.from(b), Array.from(i));
  assert.deepEqual(Array.from(c), Array.from(u));
});

Deno.test("write() is ordered after work encoded before it", async () => {
  const x = tensor(new Float32Array([1, 2, 3, 4]));
  const y = scale(x, 10); // encoded, not yet submitted
  write(x, [5, 6, 7, 8]); // must not be visible to `y`
  const z = scale(x, 10);
  const [ry, rz] = await readAll([y, z]);
  assert.deepEqual(Array.from(ry), [10, 20, 30, 40]);
  assert.deepEqual(Array.from(rz), [50, 60, 70, 80]);
});

Deno.test("reshape views share the buffer; the buffer lives until the last view goes", async () => {
  const x = upload(randn(12), [3, 4]);
  const v = x.reshape([2, -1]);
  assert.deepEqual(v.shape, [2, 6]);
  x.dispose();
  const got = await download(v); // still alive through the view
  assert.equal(got.length, 12);
  v.dispose();
  assert.throws(() => v.buffer, /used after dispose/);
  assert.throws(() => upload(randn(6), [6]).reshape([4, -1]), /cannot reshape/);
});

Deno.test("scope disposes temporaries, keeps its result, and the pool stops growing", async () => {
  const a = keep(upload(randn(4096), [4096]));
  const step = () =>
    scope(() => {
      const t = mul(a, a);
      const u = add(t, a);
      return scale(u, 0.5);
    });
  const first = step();
  assert.equal((await download(first)).length, 4096);
  first.dispose();
  const before = pool.allocatedBytes;
  for (let i = 0; i < 20; i++) step().dispose();
  await sync();
  assert.equal(pool.allocatedBytes, before, "steady-state loop must reuse pooled buffers");
});

Deno.test("ops batch into one submit until a sync point", async () => {
  const x = upload(randn(256), [256]);
  await sync();
  const s0 = launchStats();
  let y = x;
  for (let i = 0; i < 200; i++) y = scale(y, 1.001);
  const s1 = launchStats();
  assert.equal(s1.submits, s0.submits, "encoding 200 ops must not submit");
  assert.equal(s1.dispatches - s0.dispatches, 200);
  await download(y);
  assert.equal(launchStats().submits, s0.submits + 1, "one readback, one submit");
});

Deno.test("autograd: gradients accumulate across backward calls; zeroGrad clears", async () => {
  const xv = randn(10);
  const wv = randn(10);
  const x = upload(xv, [10]);
  const w = upload(wv, [10]);
  w.requiresGrad = true;
  for (let k = 0; k < 2; k++) {
    const y = mul(mul(x, w), w); // d/dw Σ x w² · g = 2 x w g
    backward(y, fill([10], 1));
  }
  const g = await download(w.grad!);
  assertClose(g, xv.map((v, i) => 2 * 2 * Math.fround(v) * Math.fround(wv[i])), { rtol: 1e-5 });
  assert.equal(tapeLength(), 0);
  zeroGrad([w]);
  assert.equal(w.grad, null);
});

bothReadPaths("accumulateInto: acc += x bit for bit, vec4 and ragged sizes", async () => {
  // 40,000 floats (160 KB: on a CPU adapter acc's prior values come from a texture copy and
  // acc is only written), a ragged 1,001 (the scalar kernel) and a small vec4 one (buffer
  // kernel under the copy threshold). The result must be the f32 sum exactly.
  for (const n of [40000, 1001, 64]) {
    const av = randn(n), xv = randn(n);
    const acc = upload(av, [n]), x = upload(xv, [n]);
    const before = launchStats().copies;
    accumulateInto(acc, x);
    const copies = launchStats().copies - before;
    const got = await download(acc);
    const want = Float64Array.from(av, (v, i) => Math.fround(Math.fround(v) + Math.fround(xv[i])));
    assert.deepEqual(got, want, `n = ${n}`);
    if (n === 40000) assert.equal(copies, textureReadsOn() ? 2 : 0, "x and acc's prior copied");
    acc.dispose();
    x.dispose();
  }
});

Deno.test("autograd: noGrad records nothing; clearTape drops a forward", () => {
  const w = upload(randn(4), [4]);
  w.requiresGrad = true;
  noGrad(() => scale(w, 2));
  assert.equal(tapeLength(), 0);
  const y = scale(w, 3);
  assert.ok(y.requiresGrad);
  assert.equal(tapeLength(), 1);
  clearTape();
  assert.equal(tapeLength(), 0);
});

Deno.test("autograd: accumulation across calls on the vec4 path (n % 4 == 0)", async () => {
  const w = upload(randn(64), [8, 8]);
  w.requiresGrad = true;
  const x = upload(randn(64), [8, 8]);
  for (let k = 0; k < 3; k++) backward(mul(w, x), fill([8, 8], 1));
  const got = await download(w.grad!);
  const xs = await download(x);
  assertClose(got, xs.map((v) => 3 * v), { rtol: 1e-6 });
});

Deno.test("autograd: a gradient used twice (x + x) is not aliased", async () => {
  const x = upload([1, 2, 3], [3]);
  x.requiresGrad = true;
  const y = add(x, x);
  const z = mul(y, x); // z = 2x², dz/dx = 4x
  backward(z, fill([3], 1));
  assert.deepEqual(Array.from(await download(x.grad!)), [4, 8, 12]);
});

Deno.test("empty() of zero elements and readback of nothing work", async () => {
  const e = empty([0]);
  const [d] = await readAll([e]);
  assert.equal(d.length, 0);
});

// Reads texel i of a storage texture and of a sampled texture (2×3 texels, 2 layers each).
const TEXTURE_WGSL = `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var s: texture_storage_2d_array<rgba32float, read>;
@group(0) @binding(2) var t: texture_2d_array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= p.n) { return; }
  let xy = vec2u(g.x % 2u, (g.x / 2u) % 3u);
  out[g.x] = textureLoad(s, xy, g.x / 6u) + 2.0 * textureLoad(t, xy, g.x / 6u, 0);
}`;

Deno.test("launch binds storage and sampled textures; the dispatch is counted", async () => {
  const k = kernel("texture_test", TEXTURE_WGSL);
  assert.deepEqual(k.bindings, [
    "uniform",
    { storageTexture: { access: "read-only", format: "rgba32float", viewDimension: "2d-array" } },
    { texture: { sampleType: "unfilterable-float", viewDimension: "2d-array" } },
    "read_write",
  ]);
  const features = (navigator.gpu as { wgslLanguageFeatures?: Set<string> }).wgslLanguageFeatures;
  if (!features?.has("readonly_and_readwrite_storage_textures")) return; // parse check only
  const { device } = gpu();
  const data = [randn(48), randn(48)].map((x) => Float32Array.from(x));
  const textures = data.map((d) => {
    const t = device.createTexture({
      size: [2, 3, 2],
      format: "rgba32float",
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING |
        GPUTextureUsage.COPY_DST,
    });
    device.queue.writeTexture({ texture: t }, d, { bytesPerRow: 32, rowsPerImage: 3 }, [2, 3, 2]);
    return t;
  });
  const [sv, tv] = textures.map((t) => ({ texture: t.createView({ dimension: "2d-array" }) }));
  const out = empty([48]);
  const before = launchStats().dispatches;
  launch(k, { params: [u32(12)], bindings: [sv, tv, out.binding()], workgroups: [2] });
  assert.equal(launchStats().dispatches - before, 1);
  assert.throws(
    () => launch(k, { bindings: [out.binding(), tv, out.binding()], workgroups: [1] }),
    /binding 1 takes a texture/,
  );
  const got = await download(out);
  assert.deepEqual(Array.from(got), Array.from(data[0], (v, i) => Math.fround(v + 2 * data[1][i])));
  textures.forEach((t) => t.destroy());
  out.dispose();
});
