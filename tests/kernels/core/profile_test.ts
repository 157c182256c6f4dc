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
  ok(p.kernels.every((k) => k.encodeMs >= 0));
  if (gpu().device.features.has("timestamp-query")) {
    ok(p.gpuMs > 0 && p.gpuMs <= p.wallMs * 1.05, `gpu ${p.gpuMs} ms of wall ${p.wallMs} ms`);
    // The 256³ product (33.5 MFLOP) is the largest kernel by far: first in the table.
    ok(p.kernels[0].name.startsWith("matmul"), formatProfile(p));
  }
  console.log(formatProfile(p));
});
