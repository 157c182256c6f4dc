import {
  add,
  addScalar,
  broadcastTo,
  clamp,
  div,
  exp,
  fill,
  maximum,
  minimum,
  mul,
  scale,
  square,
  sub,
  sumTo,
} from "../../../kernels/elementwise/elementwise.ts";
import { backward } from "../../../kernels/core/autograd.ts";
import { launchStats } from "../../../kernels/core/runtime.ts";
import type { Tensor } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  f32round,
  freshSeed,
  gpuReady,
  gradCheck,
  type GradInput,
  randn,
  rng,
  upload,
} from "../../helpers.ts";

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

bothReadPaths("div: forward and gradient vs float64 (denominator away from 0)", async () => {
  const bs = [4];
  const b = randn(4).map((v) => 1.5 + Math.abs(v));
  await gradCheck(
    (x, y) => div(x, y),
    (x, y) => refBinary((p, q) => p / q, x, [3, 4], y, bs)[0],
    [{ shape: [3, 4] }, { shape: bs, data: Float32Array.from(b) }],
    { label: "div" },
  );
});

bothReadPaths("scale, sumTo and broadcastTo gradients", async () => {
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

bothReadPaths(
  "sumTo over 100,000 broadcast rows (beyond llvmpipe's per-invocation loop limit)",
  async () => {
    const rows = 100_000;
    const x = Float32Array.from({ length: rows * 3 }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const got = await download(sumTo(upload(x, [rows, 3]), [3]));
    const want = [0, 1, 2].map((c) => {
      let s = 0;
      for (let r = 0; r < rows; r++) s += x[r * 3 + c];
      return s;
    });
    assertClose(got, want, { rtol: 1e-5, atol: 1e-3, label: "sumTo 100k rows" });
  },
);

bothReadPaths("large elementwise add beyond one dispatch dimension", async () => {
  const n = 65535 * 256 + 1000; // needs a 2-D grid
  const a = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 2001) / 100 - 10);
  const b = Float64Array.from({ length: n }, (_, i) => ((i * 104729) % 3001) / 1000 - 1.5);
  const out = add(upload(a, [n]), upload(b, [n]));
  const got = await download(out);
  const want = a.map((v, i) => Math.fround(v) + Math.fround(b[i]));
  assertClose(got, want, { rtol: 1e-6, atol: 1e-6, label: "large add" });
});

bothReadPaths("fill writes the value everywhere", async () => {
  const got = await download(fill([1000], 3.25));
  assertClose(got, new Float64Array(1000).fill(3.25), { rtol: 0, atol: 0 });
});

// ---------------------------------------------------------------------------------------
// exp, square, clamp, minimum, maximum, addScalar

/**
 * gradCheck for shapes too large for a full finite-difference sweep (129×257 would take ~1
 * min per op: every probe re-runs the whole reference). Same forward check; the backward is
 * compared with central differences of the float64 reference at `samples` random elements
 * of each input, plus its first and last.
 */
async function gradCheckSampled(
  op: (...xs: Tensor[]) => Tensor,
  ref: (...xs: Float64Array[]) => Float64Array,
  inputs: GradInput[],
  { samples = 48, h = 1e-6, label = "gradCheckSampled" } = {},
): Promise<number> {
  const seed = freshSeed();
  const values = inputs.map((inp, i) =>
    Float64Array.from(
      inp.data ?? f32round(randn(inp.shape.reduce((a, b) => a * b, 1), seed + 101 * i)),
    )
  );
  const tensors = values.map((v, i) => {
    const t = upload(v, inputs[i].shape);
    t.requiresGrad = inputs[i].grad ?? true;
    return t;
  });
  const out = op(...tensors);
  const upstream = f32round(randn(out.size, seed + 7));
  const gOut = upload(upstream, [...out.shape]);
  assertClose(await download(out), ref(...values), {
    rtol: 1e-4,
    atol: 1e-5,
    label: `${label} forward (seed ${seed})`,
  });
  backward(out, gOut);
  const dot = (a: Float64Array) => a.reduce((s, v, i) => s + v * upstream[i], 0);
  const pick = rng(seed + 13);
  let worst = 0;
  for (let i = 0; i < inputs.length; i++) {
    if (!tensors[i].requiresGrad) continue;
    assert.ok(tensors[i].grad, `${label}: input ${i} received no gradient`);
    const got = await download(tensors[i].grad!);
    const x = values[i];
    const idx = [0, x.length - 1, ...Array.from({ length: samples }, () => pick() * x.length | 0)];
    const numeric = idx.map((k) => {
      const keep = x[k];
      x[k] = keep + h;
      const plus = dot(ref(...values));
      x[k] = keep - h;
      const minus = dot(ref(...values));
      x[k] = keep;
      return (plus - minus) / (2 * h);
    });
    worst = Math.max(
      worst,
      assertClose(idx.map((k) => got[k]), numeric, {
        rtol: 2e-3,
        atol: 1e-4,
        label: `${label} grad of input ${i} at sampled elements (seed ${seed})`,
      }),
    );
  }
  for (const t of [...tensors, out, gOut]) t.dispose();
  return worst;
}

/** Shapes for the unary ops: 1, odd 7×13, a vec4 one (320 elements), and a large odd one. */
const unaryShapes = [[1], [7, 13], [16, 20]];
const LARGE = [129, 257];

/** Fresh f32 normals with every value at least `gap` from each of `kinks`. */
function awayFrom(n: number, kinks: number[], gap = 1e-3): Float64Array {
  const x = f32round(randn(n));
  for (let i = 0; i < n; i++) {
    for (const k of kinks) if (Math.abs(x[i] - k) < gap) x[i] = k + (x[i] < k ? -2 : 2) * gap;
  }
  return f32round(x);
}

for (
  const [name, op, f] of [
    ["exp", exp, Math.exp],
    ["square", square, (v: number) => v * v],
    ["addScalar", (x: Tensor) => addScalar(x, -0.75), (v: number) => v - 0.75],
  ] as const
) {
  Deno.test(`${name}: forward and gradient vs float64`, async () => {
    const rels: string[] = [];
    for (const shape of unaryShapes) {
      const r = await gradCheck((x) => op(x), (x) => x.map(f), [{ shape }], {
        label: `${name} [${shape}]`,
      });
      rels.push(`[${shape}] fwd ${r.forward.toExponential(1)} grad ${r.grads[0].toExponential(1)}`);
    }
    const big = await gradCheckSampled((x) => op(x), (x) => x.map(f), [{ shape: LARGE }], {
      label: `${name} [${LARGE}]`,
    });
    console.log(`${name}: ${rels.join(", ")}; [${LARGE}] grad ${big.toExponential(1)}`);
  });
}

bothReadPaths("clamp: forward and gradient vs float64 (inputs away from the bounds)", async () => {
  const [lo, hi] = [-0.5, 0.8];
  const flo = Math.fround(lo), fhi = Math.fround(hi);
  const ref = (x: Float64Array) => x.map((v) => Math.min(Math.max(v, flo), fhi));
  let worst = 0;
  const track = (r: { forward: number; grads: number[] }) =>
    worst = Math.max(worst, r.forward, ...r.grads);
  for (const shape of unaryShapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    track(
      await gradCheck((x) => clamp(x, lo, hi), ref, [{ shape, data: awayFrom(n, [flo, fhi]) }], {
        label: `clamp [${shape}]`,
      }),
    );
  }
  const n = LARGE[0] * LARGE[1];
  worst = Math.max(
    worst,
    await gradCheckSampled((x) => clamp(x, lo, hi), ref, [{
      shape: LARGE,
      data: awayFrom(n, [flo, fhi]),
    }], { label: `clamp [${LARGE}]` }),
  );
  // One-sided clamps through ±Infinity.
  track(
    await gradCheck(
      (x) => clamp(x, -Infinity, 0.25),
      (x) => x.map((v) => Math.min(v, 0.25)),
      [{ shape: [7, 13], data: awayFrom(91, [0.25]) }],
      { label: "clamp(-inf, 0.25)" },
    ),
  );
  console.log(`clamp: max relative error (forward and gradient) ${worst.toExponential(1)}`);
});

bothReadPaths(
  "clamp: boundary convention — x == lo or x == hi gets the full gradient (torch.clamp)",
  async () => {
    const [lo, hi] = [-0.5, 0.75]; // exact in f32
    const xs = [lo, hi, lo - 1, hi + 1, 0.125, lo, hi, -3]; // 8: vec4 path; first 7: scalar path
    for (const n of [8, 7]) {
      const x = upload(xs.slice(0, n), [n]);
      x.requiresGrad = true;
      const g = Float64Array.from({ length: n }, (_, i) => i + 1.5);
      const out = clamp(x, lo, hi);
      const fwd = await download(out);
      backward(out, upload(g, [n]));
      const grad = await download(x.grad!);
      assertClose(fwd, xs.slice(0, n).map((v) => Math.min(Math.max(v, lo), hi)), {
        rtol: 0,
        atol: 0,
        label: `clamp boundary forward n=${n}`,
      });
      const want = xs.slice(0, n).map((v, i) => (v >= lo && v <= hi ? g[i] : 0));
      assertClose(grad, want, { rtol: 0, atol: 0, label: `clamp boundary grad n=${n}` });
      x.dispose();
    }
    // lo > hi: torch.clamp gives hi everywhere, and no element lies in [lo, hi].
    for (const n of [8, 7]) {
      const x = upload(xs.slice(0, n), [n]);
      x.requiresGrad = true;
      const out = clamp(x, 1, -1);
      const fwd = await download(out);
      backward(out, upload(new Float64Array(n).fill(1), [n]));
      assertClose(fwd, new Float64Array(n).fill(-1), { rtol: 0, atol: 0, label: "clamp lo > hi" });
      assertClose(await download(x.grad!), new Float64Array(n), {
        rtol: 0,
        atol: 0,
        label: "clamp lo > hi grad",
      });
      x.dispose();
    }
  },
);

/** Flat indices into a and b of every output element under broadcasting. */
function broadcastIndex(as: number[], bs: number[]): { ia: number[]; ib: number[] } {
  const [ia] = refBinary(
    (x) => x,
    Float64Array.from({ length: numel(as) }, (_, i) => i),
    as,
    new Float64Array(numel(bs)),
    bs,
  );
  const [ib] = refBinary(
    (_, y) => y,
    new Float64Array(numel(as)),
    as,
    Float64Array.from({ length: numel(bs) }, (_, i) => i),
    bs,
  );
  return { ia: [...ia], ib: [...ib] };
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fresh f32 normals a, b with every broadcast pair |a − b| ≥ `gap` (away from the kink). */
function separated(as: number[], bs: number[], gap = 1e-3): [Float64Array, Float64Array] {
  const a = f32round(randn(numel(as)));
  const b = f32round(randn(numel(bs)));
  const { ia, ib } = broadcastIndex(as, bs);
  for (let pass = 0; pass < 100; pass++) {
    let moved = false;
    ia.forEach((i, k) => {
      const j = ib[k];
      if (Math.abs(a[i] - b[j]) < gap) {
        b[j] = Math.fround(b[j] + 3 * gap);
        moved = true;
      }
    });
    if (!moved) return [a, b];
  }
  throw new Error("separated: could not separate the inputs");
}

const minMaxCases: [number[], number[]][] = [
  [[1], [1]],
  [[7, 13], [7, 13]],
  [[16, 20], [16, 20]], // same shape, n % 4 == 0: the vec4 forward and backward
  [[7, 13], [13]],
  [[5, 1, 4], [3, 1]],
  [[2, 3, 4, 5], [1, 3, 1, 5]],
  [[1], [7, 13]],
];

for (
  const [name, op, f] of [
    ["minimum", minimum, Math.min],
    ["maximum", maximum, Math.max],
  ] as const
) {
  Deno.test(`${name}: broadcasting forward and gradient vs float64 (pairs away from ties)`, async () => {
    let worst = 0;
    const track = (r: { forward: number; grads: number[] }) =>
      worst = Math.max(worst, r.forward, ...r.grads);
    for (const [as, bs] of minMaxCases) {
      const [a, b] = separated(as, bs);
      const ref = (x: Float64Array, y: Float64Array) => refBinary(f, x, as, y, bs)[0];
      track(
        await gradCheck((x, y) => op(x, y), ref, [{ shape: as, data: a }, { shape: bs, data: b }], {
          label: `${name} [${as}]∘[${bs}]`,
        }),
      );
    }
    // Only one input needing a gradient (the kernel writes one output).
    const [a, b] = separated([7, 13], [13]);
    const ref = (x: Float64Array, y: Float64Array) => refBinary(f, x, [7, 13], y, [13])[0];
    track(
      await gradCheck((x, y) => op(x, y), ref, [
        { shape: [7, 13], data: a },
        { shape: [13], data: b, grad: false },
      ], { label: `${name} grad a only` }),
    );
    track(
      await gradCheck((x, y) => op(x, y), ref, [
        { shape: [7, 13], data: a, grad: false },
        { shape: [13], data: b },
      ], { label: `${name} grad b only` }),
    );
    for (const [as, bs] of [[LARGE, LARGE], [[128, 256], [128, 256]], [LARGE, [257]]]) {
      const [a, b] = separated(as, bs);
      worst = Math.max(
        worst,
        await gradCheckSampled(
          (x, y) => op(x, y),
          (x, y) => refBinary(f, x, as, y, bs)[0],
          [{ shape: as, data: a }, { shape: bs, data: b }],
          { label: `${name} [${as}]∘[${bs}]` },
        ),
      );
    }
    console.log(`${name}: max relative error (forward and gradient) ${worst.toExponential(1)}`);
  });
}

bothReadPaths(
  "minimum / maximum: exact ties split the gradient g/2 each (torch.minimum/maximum)",
  async () => {
    const av = [1, 2, 3, 4, -1, 0.5, 7, 8];
    const bv = [1, 0, 5, 4, -1, 0.25, 9, 8]; // ties at 0, 3, 4, 7
    const cases: [number[], number[], number[]][] = [
      [[8], [8], bv], // vec4 path
      [[7], [7], bv.slice(0, 7)], // scalar, same shape
      [[2, 4], [4], [1, 0, 5, 4]], // broadcast: b's gradient sums over rows
    ];
    for (
      const [name, op, f] of [["minimum", minimum, Math.min], [
        "maximum",
        maximum,
        Math.max,
      ]] as const
    ) {
      for (const [as, bs, bData] of cases) {
        const aData = av.slice(0, numel(as));
        const a = upload(aData, as);
        const b = upload(bData, bs);
        a.requiresGrad = b.requiresGrad = true;
        const out = op(a, b);
        const g = Float64Array.from({ length: out.size }, (_, i) => 0.5 + i);
        const fwd = await download(out);
        backward(out, upload(g, [...out.shape]));
        const [ga, gb] = [await download(a.grad!), await download(b.grad!)];
        const { ia, ib } = broadcastIndex(as, bs);
        const wantA = new Float64Array(aData.length);
        const wantB = new Float64Array(bData.length);
        const wantF: number[] = [];
        ia.forEach((i, k) => {
          const [x, y] = [aData[i], bData[ib[k]]];
          wantF.push(f(x, y));
          const aWins = x === y ? 0.5 : f(x, y) === x ? 1 : 0;
          const bWins = x === y ? 0.5 : f(x, y) === y ? 1 : 0;
          wantA[i] += aWins * g[k];
          wantB[ib[k]] += bWins * g[k];
        });
        const label = `${name} ties [${as}]∘[${bs}]`;
        assertClose(fwd, wantF, { rtol: 0, atol: 0, label: `${label} forward` });
        assertClose(ga, wantA, { rtol: 0, atol: 0, label: `${label} grad a` });
        assertClose(gb, wantB, { rtol: 0, atol: 0, label: `${label} grad b` });
        a.dispose();
        b.dispose();
      }
    }
  },
);

bothReadPaths("minimum(x, x) / maximum(x, x): two half gradients sum to g", async () => {
  for (const op of [minimum, maximum]) {
    const x = upload(f32round(randn(91)), [7, 13]);
    x.requiresGrad = true;
    const g = f32round(randn(91));
    backward(op(x, x), upload(g, [7, 13]));
    assertClose(await download(x.grad!), g, { rtol: 0, atol: 0, label: `${op.name}(x, x)` });
    x.dispose();
  }
});

bothReadPaths("minimum / maximum / clamp propagate NaN like PyTorch", async () => {
  const xv = [NaN, 1, NaN, -2, 0.5, NaN, 3, 4];
  const yv = [1, NaN, NaN, 5, 0.5, 2, NaN, 1];
  for (const n of [8, 7]) { // vec4 and scalar paths
    const x = upload(xv.slice(0, n), [n]);
    const y = upload(yv.slice(0, n), [n]);
    const [mn, mx, cl] = await Promise.all(
      [minimum(x, y), maximum(x, y), clamp(x, -1, 1)].map(download),
    );
    const want = (f: (a: number, b: number) => number) => xv.slice(0, n).map((a, i) => f(a, yv[i]));
    const eq = (got: Float64Array, w: number[], label: string) =>
      assert.deepEqual([...got].map(String), w.map(String), `${label} n=${n}`);
    eq(mn, want(Math.min), "minimum"); // Math.min/max propagate NaN too
    eq(mx, want(Math.max), "maximum");
    eq(cl, xv.slice(0, n).map((v) => Math.min(Math.max(v, -1), 1)), "clamp");
    x.dispose();
    y.dispose();
  }
});

Deno.test("dispatch counts: forward 1 each; backward 1 (+ sumTo per broadcast input)", async () => {
  const count = (fn: () => void) => {
    const before = launchStats().dispatches;
    fn();
    return launchStats().dispatches - before;
  };
  const leaf = (shape: number[]) => {
    const t = upload(randn(numel(shape)), shape);
    t.requiresGrad = true;
    return t;
  };
  const measured: Record<string, [number, number]> = {};
  const cases: [string, number[][], (...xs: Tensor[]) => Tensor][] = [
    ["exp", [[7, 13]], (x) => exp(x)],
    ["square", [[16, 20]], (x) => square(x)],
    ["clamp", [[7, 13]], (x) => clamp(x, -0.5, 0.5)],
    ["addScalar", [[7, 13]], (x) => addScalar(x, 2)],
    ["minimum same", [[16, 20], [16, 20]], (a, b) => minimum(a, b)],
    ["maximum same", [[7, 13], [7, 13]], (a, b) => maximum(a, b)],
    ["minimum bcast", [[7, 13], [13]], (a, b) => minimum(a, b)],
  ];
  for (const [name, shapes, op] of cases) {
    const xs = shapes.map(leaf);
    let out!: Tensor;
    const fwd = count(() => (out = op(...xs)));
    const g = upload(randn(out.size), [...out.shape]);
    const bwd = count(() => backward(out, g));
    measured[name] = [fwd, bwd];
    for (const t of [...xs, out, g]) t.dispose();
  }
  assert.deepEqual(measured, {
    "exp": [1, 1],
    "square": [1, 1],
    "clamp": [1, 1],
    "addScalar": [1, 0],
    "minimum same": [1, 1],
    "maximum same": [1, 1],
    "minimum bcast": [1, 2],
  });
  await download(fill([1], 0));
});
