import { attention, attentionDecode } from "../../../kernels/attention/attention.ts";
import { createLayerKVCache, kvMirror, writeKV } from "../../../kernels/attention/kv_cache.ts";
import { backward } from "../../../kernels/core/autograd.ts";
import { kernel, launchStats } from "../../../kernels/core/runtime.ts";
import { readAll, type Tensor, tensor } from "../../../kernels/core/tensor.ts";
import {
  launchReads,
  setTextureReads,
  textureReadsOn,
  withTextureReads,
} from "../../../kernels/core/texture_reads.ts";
import { addRmsNorm } from "../../../kernels/layers/rmsnorm.ts";
import { logprobsAndEntropy } from "../../../kernels/reduce/logprobs.ts";
import { assert, freshSeed, gpuReady, randInt, randn, upload } from "../../helpers.ts";

await gpuReady;

const SRC = `
struct Params { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> idx: array<u32>;   // comment naming x[0]
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x >= p.n) { return; }
  let x4 = x[idx[min(g.x, arrayLength(&idx) - 1u)]];
  out[g.x] = x4;
}`;

Deno.test("withTextureReads rewrites read-only arrays, nested indexing and length clamps", () => {
  const t = withTextureReads(SRC, ["idx", "x"]);
  assert.match(t, /var idx: texture_storage_2d<r32uint, read>;/);
  assert.match(t, /var x: texture_storage_2d<rgba32float, read>;/);
  assert.ok(t.includes("x_at(idx_at(min(g.x, 0xffffffffu - 1u)))"), t);
  assert.ok(!t.includes("x[0]"), "comments are dropped");
  assert.ok(t.includes("var<storage, read_write> out: array<vec4f>;"), "outputs stay buffers");
  assert.throws(() => withTextureReads(SRC, ["out"]), /no read-only array binding named out/);
  const pointer = SRC.replace("out[g.x] = x4;", "out[g.x] = x4 + f(&x);");
  assert.throws(() => withTextureReads(pointer, ["x"]), /x is used other than as x\[i\]/);
  // A local array or an array parameter named like the binding would be read from the
  // texture: refused. A scalar parameter of that name (never indexed) is fine.
  const shadowParam = SRC.replace(
    "@compute",
    "fn f(x: array<f32, 4>) -> f32 { return x[0]; }\n@compute",
  );
  assert.throws(() => withTextureReads(shadowParam, ["x"]), /shadows the binding x/);
  const aliased = SRC.replace(
    "@compute",
    "alias Q = array<f32, 2>;\nfn g(x: Q) -> f32 { return x[1]; }\n@compute",
  );
  assert.throws(() => withTextureReads(aliased, ["x"]), /shadows the binding x/);
  const shadowLocal = SRC.replace(
    "@compute",
    "fn h() -> f32 { var x: array<f32, 2>; return x[1]; }\n@compute",
  );
  assert.throws(() => withTextureReads(shadowLocal, ["x"]), /shadows the binding x/);
  const scalar = SRC.replace("@compute", "fn m(x: f32) -> f32 { return x; }\n@compute");
  withTextureReads(scalar, ["x"]);
});

/** Every element type through launchReads, partial texture rows, a window with an offset. */
Deno.test("texture reads return the buffer's exact bits: every type, partial rows, offsets", async () => {
  setTextureReads(true);
  try {
    if (!textureReadsOn()) return; // an adapter without read-only storage textures
    const seed = freshSeed();
    for (
      const [type, per] of [["vec4f", 4], ["vec2f", 2], ["f32", 1], ["u32", 1], ["i32", 1]] as const
    ) {
      const src = `
@group(0) @binding(0) var<storage, read> a: array<${type}>;
@group(0) @binding(1) var<storage, read_write> out: array<${type}>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let i = (w.x + w.y * nw.x) * 8u + l;
  out[i] = a[i];
}`;
      const k = kernel(`texture_reads_copy_${type}`, src);
      // 4 full 8 KiB texture rows and part of a fifth (over the 32 KiB below which launches
      // keep buffers); the window starts 64 elements in. With no tail the last row is past the
      // buffer (two copies), with one it fits (one copy).
      const row = 8192 / (4 * per);
      for (const tail of [0, row]) {
        const texels = 4 * row + 37, skip = 64;
        const bits = new Uint32Array((texels + skip + tail) * per);
        const r = randInt(bits.length, 2 ** 31, seed);
        for (let i = 0; i < bits.length; i++) bits[i] = (r[i] * 2 + (i & 1)) >>> 0;
        // Patterns a float path could alter: NaN payloads, denormals, −0, infinities.
        bits.set(
          [0x7fc00001, 0xffbfffff, 0x00000001, 0x807fffff, 0x80000000, 0x7f800000],
          skip * per,
        );
        const a = tensor(bits, [bits.length], "u32");
        const out = tensor(new Uint32Array(texels * per), [texels * per], "u32");
        const copies = launchStats().copies;
        launchReads(k, {
          bindings: [a.binding(skip * per, texels * per), out.binding()],
          workgroups: [Math.ceil(texels / 8)],
        });
        assert.equal(launchStats().copies, copies + 1, "the input went through a texture");
        const [got] = await readAll([out]);
        const want = bits.subarray(skip * per, (skip + texels) * per);
        const bad = (got as Uint32Array).findIndex((v, i) => v !== want[i]);
        assert.equal(bad, -1, `${type}, tail ${tail}: element ${bad} differs (seed ${seed})`);
        a.dispose();
        out.dispose();
      }
    }
  } finally {
    setTextureReads(undefined);
  }
});

async function bothWays(run: () => Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const results: Float32Array[][] = [];
  for (const on of [true, false]) {
    setTextureReads(on);
    try {
      const ts = run();
      results.push((await readAll(ts)) as Float32Array[]);
      ts.forEach((t) => t.dispose());
    } finally {
      setTextureReads(undefined);
    }
  }
  return [results[0], results[1]];
}

function assertSameBits(a: Float32Array[], b: Float32Array[], what: string, seed: number) {
  a.forEach((x, i) => {
    const ua = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const ub = new Uint32Array(b[i].buffer, b[i].byteOffset, b[i].length);
    const bad = ua.findIndex((v, j) => v !== ub[j]);
    assert.equal(bad, -1, `${what} output ${i}: element ${bad} differs (seed ${seed})`);
  });
}

Deno.test("texture reads and buffer reads give bit-identical kernels (attention, rmsnorm, logprobs)", async () => {
  if (!textureReadsOn()) return;
  const seed = freshSeed();
  const [B, T, Hq, Hkv, D] = [2, 37, 4, 2, 24];
  const qd = randn(B * T * Hq * D, seed), kd = randn(B * T * Hkv * D, seed + 1);
  const vd = randn(B * T * Hkv * D, seed + 2), gd = randn(B * T * Hq * D, seed + 3);
  const [tex, buf] = await bothWays(() => {
    const q = upload(qd, [B, T, Hq, D]), k = upload(kd, [B, T, Hkv, D]);
    const v = upload(vd, [B, T, Hkv, D]);
    for (const t of [q, k, v]) t.requiresGrad = true;
    const o = attention(q, k, v);
    backward(o, upload(gd, [...o.shape]));
    return [o, q.grad!, k.grad!, v.grad!];
  });
  assertSameBits(tex, buf, "attention", seed);

  const [H, rows, V] = [96, 53, 43];
  const xd = randn(rows * H, seed + 4), rd = randn(rows * H, seed + 5);
  const wd = randn(H, seed + 6), ld = randn(rows * V, seed + 7);
  const ids = randInt(rows, V, seed + 8);
  const [tex2, buf2] = await bothWays(() => {
    const x = upload(xd, [rows, H]), delta = upload(rd, [rows, H]), w = upload(wd, [H]);
    const [sum, y] = addRmsNorm(x, delta, w, 1e-6);
    const lp = logprobsAndEntropy(upload(ld, [rows, V]), tensor(ids, [rows], "i32"));
    return [sum, y, lp.logprobs, lp.entropy];
  });
  assertSameBits(tex2, buf2, "rmsnorm / logprobs", seed);
});

Deno.test("KV-cache mirrors: decode reads them without copying the cache, bit-identical to buffers", async () => {
  if (!textureReadsOn()) return;
  const seed = freshSeed();
  const [B, Hq, Hkv, maxT, D, P] = [3, 4, 2, 40, 24, 17];
  const kp = randn(B * P * Hkv * D, seed), vp = randn(B * P * Hkv * D, seed + 1);
  const k1 = randn(B * Hkv * D, seed + 2), v1 = randn(B * Hkv * D, seed + 3);
  const q1 = randn(B * Hq * D, seed + 4);
  const decode = (on: boolean) => {
    setTextureReads(on);
    try {
      const cache = createLayerKVCache(B, Hkv, maxT, D);
      assert.equal(kvMirror(cache.k) !== undefined, on, "a mirror exactly when reads are on");
      writeKV(cache, upload(kp, [B, P, Hkv, D]), upload(vp, [B, P, Hkv, D]), 0);
      writeKV(cache, upload(k1, [B, 1, Hkv, D]), upload(v1, [B, 1, Hkv, D]), P);
      const before = launchStats().copyBytes;
      const out = attentionDecode(upload(q1, [B, 1, Hq, D]), cache.k, cache.v, { length: P + 1 });
      const copied = launchStats().copyBytes - before;
      return { out, cache, copied };
    } finally {
      setTextureReads(undefined);
    }
  };
  const tex = decode(true), buf = decode(false);
  assert.ok(tex.copied < tex.cache.k.bytes, `copied ${tex.copied} bytes: the cache was copied`);
  const [a, b] = (await readAll([tex.out, buf.out])) as Float32Array[];
  assertSameBits([a], [b], "decode", seed);
  for (const r of [tex, buf]) {
    r.out.dispose();
    r.cache.dispose();
  }
});
