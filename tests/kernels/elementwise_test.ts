import { add, broadcastTo, div, fill, mul, scale, sub, sumTo } from "../../kernels/elementwise.ts";
import { assertClose, download, gpuReady, gradCheck, randn, upload } from "../helpers.ts";

await gpuReady;

/** float64 broadcasting reference over row-major arrays. */
function refBinary(
  f: (x: number, y: number) => number,
  a: Float64Array,
  as: number[],
  b: Float64Array,
  bs: number[],
): [Float64Array, number[]] {
  const rank = Math.max(as.length, bs.length);
  const pa = [...Array(rank - as.length).fill(1), ...as];
  const pb = [...Array(rank - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Float64Array(n);
  const idx = (p: number[], c: number[]) =>
    c.reduce((acc, ci, i) => acc * p[i] + (p[i] === 1 ? 0 : ci), 0);
  for (let i = 0; i < n; i++) {
    const c: number[] = [];
    let r = i;
    for (let d = rank - 1; d >= 0; d--) {
      c[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    out[i] = f(a[idx(pa, c)], b[idx(pb, c)]);
  }
  return [out, shape];
}

const cases: [number[], number[]][] = [
  [[1], [1]],
  [[7, 13], [7, 13]],
  [[4, 6], [4, 6]], // same shape, n % 4 == 0: the vec4 path
  [[7, 13], [13]],
  [[5, 1, 4], [3, 1]],
  [[2, 3, 4, 5], [1, 3, 1, 5]],
];

for (
  const [name, op, f] of [
    ["add", add, (x: number, y: number) => x + y],
    ["sub", sub, (x: number, y: number) => x - y],
    ["mul", mul, (x: number, y: number) => x * y],
  ] as const
) {
  Deno.test(`${name}: broadcasting forward and gradient vs float64`, async () => {
    for (const [as, bs] of cases) {
      await gradCheck(
        (a, b) => op(a, b),
        (a, b) => refBinary(f, a, as, b, bs)[0],
        [{ shape: as }, { shape: bs }],
        { label: `${name} [${as}]∘[${bs}]` },
      );
    }
  });
}

Deno.test("div: forward and gradient vs float64 (denominator away from 0)", async () => {
  const bs = [4];
  const b = randn(4).map((v) => 1.5 + Math.abs(v));
  await gradCheck(
    (x, y) => div(x, y),
    (x, y) => refBinary((p, q) => p / q, x, [3, 4], y, bs)[0],
    [{ shape: [3, 4] }, { shape: bs, data: Float32Array.from(b) }],
    { label: "div" },
  );
});

Deno.test("scale, sumTo and broadcastTo gradients", async () => {
  await gradCheck((x) => scale(x, -2.5), (x) => x.map((v) => -2.5 * v), [{ shape: [129, 3] }]);
  await gradCheck(
    (x) => sumTo(x, [1, 5]),
    (x) => {
      const out = new Float64Array(5);
      x.forEach((v, i) => (out[i % 5] += v));
      return out;
    },
    [{ shape: [6, 5] }],
  );
  await gradCheck(
    (x) => broadcastTo(x, [3, 4]),
    (x) => Float64Array.from({ length: 12 }, (_, i) => x[i % 4]),
    [{ shape: [4] }],
  );
});

Deno.test("sumTo over 100,000 broadcast rows (beyond llvmpipe's per-invocation loop limit)", async () => {
  const rows = 100_000;
  const x = Float32Array.from({ length: rows * 3 }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const got = await download(sumTo(upload(x, [rows, 3]), [3]));
  const want = [0, 1, 2].map((c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * 3 + c];
    return s;
  });
  assertClose(got, want, { rtol: 1e-5, atol: 1e-3, label: "sumTo 100k rows" });
});

Deno.test("large elementwise add beyond one dispatch dimension", async () => {
  const n = 65535 * 256 + 1000; // needs a 2-D grid
  const a = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 2001) / 100 - 10);
  const b = Float64Array.from({ length: n }, (_, i) => ((i * 104729) % 3001) / 1000 - 1.5);
  const out = add(upload(a, [n]), upload(b, [n]));
  const got = await download(out);
  const want = a.map((v, i) => Math.fround(v) + Math.fround(b[i]));
  assertClose(got, want, { rtol: 1e-6, atol: 1e-6, label: "large add" });
});

Deno.test("fill writes the value everywhere", async () => {
  const got = await download(fill([1000], 3.25));
  assertClose(got, new Float64Array(1000).fill(3.25), { rtol: 0, atol: 0 });
});
