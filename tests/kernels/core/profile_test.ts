import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { gpu, initGpu } from "../../../kernels/core/device.ts";
import { formatProfile, profile } from "../../../kernels/core/profile.ts";
import { launchStats } from "../../../kernels/core/runtime.ts";
import { tensor } from "../../../kernels/core/tensor.ts";
import { matmul } from "../../../kernels/matmul/matmul.ts";
import { softmax } from "../../../kernels/reduce/softmax.ts";
import { randn } from "../../helpers.ts";

await initGpu();

Deno.test("profile: counts every dispatch, times kernels by size, changes no result", async () => {
  const a = tensor(randn(256 * 256, 1), [256, 256]);
  const b = tensor(randn(256 * 256, 2), [256, 256]);
  const s = tensor(randn(8 * 33, 3), [8, 33]);
  const work = async () => {
    const big = matmul(a, b);
    const small = matmul(s, s, { transB: true });
    const y = softmax(small);
    const out = await Promise.all([big.read(), y.read()]);
    for (const t of [big, small, y]) t.dispose();
    return out;
  };
  const plain = await work();
  let profiled: Awaited<ReturnType<typeof work>> | undefined;
  const before = launchStats().dispatches;
  const p = await profile(async () => {
    profiled = await work();
  });
  strictEqual(p.dispatches, launchStats().dispatches - before);
  strictEqual(p.kernels.reduce((n, k) => n + k.dispatches, 0), p.dispatches);
  ok(p.submits >= 1);
  deepStrictEqual(profiled, plain); // own passes change no number
  const names = p.kernels.map((k) => k.name);
  ok(names.includes("softmax"), names.join(","));
  if (gpu().device.features.has("timestamp-query")) {
    // Units: GPU nanoseconds read as ms would exceed the wall time around them.
    ok(p.gpuMs > 0 && p.gpuMs <= p.wallMs * 1.05, `gpu ${p.gpuMs} ms of wall ${p.wallMs} ms`);
    // The 256³ product (33.5 MFLOP) is the largest kernel by far: first in the table.
    ok(p.kernels[0].name.startsWith("matmul"), formatProfile(p));
  }
  console.log(formatProfile(p));
});

Deno.test("profile: byLabel reports matmuls per problem size", async () => {
  const a = tensor(randn(64 * 32, 4), [64, 32]);
  const b = tensor(randn(48 * 32, 5), [48, 32]);
  const p = await profile(() => matmul(a, b, { transB: true }).dispose(), { byLabel: true });
  const names = p.kernels.map((k) => k.name);
  ok(names.some((n) => n.startsWith("matmul") && n.endsWith(" 64×32×48 nt")), names.join(","));
  const plain = await profile(() => matmul(a, b, { transB: true }).dispose());
  ok(plain.kernels.every((k) => !k.name.includes("×")), "labels only when asked");
  a.dispose();
  b.dispose();
});
