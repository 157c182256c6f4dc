import { backward } from "../../../kernels/core/autograd.ts";
import {
  embedding,
  embeddingGrad,
  embeddingGradInto,
  embeddingLimits,
} from "../../../kernels/layers/embedding.ts";
import { readAll, tensor } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  download,
  f32round,
  gpuReady,
  gradCheck,
  randInt,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

function refLookup(w: ArrayLike<number>, ids: ArrayLike<number>, h: number): Float64Array {
  const out = new Float64Array(ids.length * h);
  for (let t = 0; t < ids.length; t++) {
    for (let j = 0; j < h; j++) out[t * h + j] = w[ids[t] * h + j];
  }
  return out;
}

/** float64 dense gradient: row v = Σ over tokens with id v of g's row. */
function refGrad(
  g: ArrayLike<number>,
  ids: ArrayLike<number>,
  vocab: number,
  h: number,
): Float64Array {
  const dw = new Float64Array(vocab * h);
  for (let t = 0; t < ids.length; t++) {
    for (let j = 0; j < h; j++) dw[ids[t] * h + j] += g[t * h + j];
  }
  return dw;
}

/** Run `fn` with the device's window size and with tiny windows (>6 per lookup dispatch). */
async function windowSizes(fn: (label: string) => Promise<void>): Promise<void> {
  try {
    embeddingLimits.windowRows = 0;
    await fn("one window");
    // As small as the 256-byte offset alignment allows: 1 row when h % 64 == 0 (a [300, 64]
    // weight spans 300 windows, 50 lookup dispatches), 64 rows when h is odd.
    embeddingLimits.windowRows = 1;
    await fn("tiny windows");
  } finally {
    embeddingLimits.windowRows = 0;
  }
}

// A lookup is a copy, so it must be exact.
Deno.test("embedding forward: exact rows, odd shapes, windows", async () => {
  await windowSizes(async (label) => {
    const cases: [number, number, number[]][] = [[1, 1, [1]], [67, 13, [7, 13]], [300, 64, [
      2,
      3,
      5,
    ]], [
      1000,
      257,
      [129],
    ]];
    for (const [vocab, h, idsShape] of cases) {
      const w = f32round(randn(vocab * h));
      const ids = randInt(idsShape.reduce((a, b) => a * b, 1), vocab);
      const out = embedding(upload(w, [vocab, h]), upload(ids, [...idsShape], "i32"));
      assert.deepEqual(out.shape, [...idsShape, h]);
      assertClose(await download(out), refLookup(w, ids, h), {
        rtol: 0,
        atol: 0,
        label: `${label} [${vocab},${h}]`,
      });
    }
  });
  console.log("embedding forward: exact (max rel err 0)");
});

Deno.test("embedding forward: ids outside [0, vocab) give zero rows; cpuIds are range-checked", async () => {
  await windowSizes(async () => {
    const w = f32round(randn(67 * 13));
    const ids = Int32Array.from([3, -1, 66, 67, 1 << 30, 0]);
    const got = await download(embedding(upload(w, [67, 13]), upload(ids, [6], "i32")));
    const want = refLookup(w, ids.map((v) => (v < 0 || v >= 67 ? 0 : v)), 13);
    for (const t of [1, 3, 4]) want.fill(0, t * 13, t * 13 + 13);
    assertClose(got, want, { rtol: 0, atol: 0 });
  });
  assert.throws(() =>
    embedding(upload(randn(26), [2, 13]), tensor(Int32Array.from([2]), [1]), {
      cpuIds: Int32Array.from([2]),
    })
  );
});

Deno.test("embedding forward and gradient with a weight over the 128 MiB binding cap", async () => {
  const [vocab, h] = [140000, 256]; // 143 MB
  const w = new Float32Array(vocab * h);
  for (let i = 0; i < w.length; i += 97) w[i] = (i % 1013) - 506;
  for (let v = 0; v < vocab; v++) w[v * h] = v; // column 0 names the row
  const weight = tensor(w, [vocab, h]);
  const ids = Int32Array.from([0, 139999, 131071, 131072, 65536, 7, 139999, 131073, 100000]);
  const idt = tensor(ids, [3, 3]);
  const got = await download(embedding(weight, idt));
  assertClose(got, refLookup(w, ids, h), { rtol: 0, atol: 0, label: "large" });
  weight.dispose();
  // Backward over the same vocabulary: the dense gradient spans two 128 MiB windows.
  const g = f32round(randn(ids.length * h));
  const dw = await download(embeddingGrad(upload(g, [3, 3, h]), idt, vocab, { cpuIds: ids }));
  const want = new Map<number, Float64Array>();
  ids.forEach((v, t) => {
    const row = want.get(v) ?? new Float64Array(h);
    for (let j = 0; j < h; j++) row[j] += g[t * h + j];
    want.set(v, row);
  });
  let err = 0;
  for (let v = 0; v < vocab; v++) {
    const row = want.get(v);
    for (let j = 0; j < h; j++) err = Math.max(err, Math.abs(dw[v * h + j] - (row ? row[j] : 0)));
  }
  assert.ok(err < 1e-6, `large dense gradient: max abs err ${err}`);
  console.log(
    `embedding [${vocab},${h}] (${(vocab * h * 4 / 2 ** 20).toFixed(0)} MiB): forward exact, ` +
      `dense gradient max abs err ${err.toExponential(2)}`,
  );
});

// A gradient row sums the k rows of g with its id in f32 (k up to ~40 here, |g| ~ 1): the
// rounding error is ≲ k·2⁻²⁴·Σ|g| ≈ 1e-4 in the worst case, ~√k·2⁻²⁴·|sum| typically.
// atol 2e-5 + rtol 1e-5 sits between the two and still catches a dropped or doubled row.
Deno.test("embedding backward: repeated ids, CPU and GPU grouping, windows, vs float64", async () => {
  const errs: number[] = [];
  await windowSizes(async (label) => {
    for (const [vocab, h, n] of [[1, 1, 1], [67, 13, 91], [20, 64, 300], [500, 8, 1000]] as const) {
      const ids = randInt(n, Math.max(1, Math.floor(vocab * 0.7))); // some rows never touched
      ids[n - 1] = ids[0]; // at least one repeat
      const g = f32round(randn(n * h));
      const want = refGrad(g, ids, vocab, h);
      for (const cpu of [true, false]) {
        const dw = embeddingGrad(
          upload(g, [n, h]),
          upload(ids, [n], "i32"),
          vocab,
          cpu ? { cpuIds: ids } : {},
        );
        errs.push(assertClose(await download(dw), want, {
          rtol: 1e-5,
          atol: 2e-5,
          label: `${label} [${vocab},${h}] n=${n} ${cpu ? "cpu" : "gpu"} grouping`,
        }));
      }
      // Accumulating into an existing gradient touches only the rows that occur.
      const base = f32round(randn(vocab * h));
      const acc = upload(base, [vocab, h]);
      embeddingGradInto(acc, upload(g, [n, h]), upload(ids, [n], "i32"), { cpuIds: ids });
      errs.push(
        assertClose(await download(acc), want.map((v, i) => v + base[i]), {
          rtol: 1e-5,
          atol: 2e-5,
        }),
      );
    }
  });
  console.log(`embedding backward: max rel err ${Math.max(...errs).toExponential(2)}`);
});

Deno.test("embedding gradient vs finite differences, and bit-identical run to run", async () => {
  const ids = Int32Array.from([3, 1, 3, 0, 3, 4, 1]);
  const r = await gradCheck(
    (w, i) => embedding(w, i),
    (w) => refLookup(w, ids, 5),
    [{ shape: [6, 5] }, { shape: [7], data: ids, dtype: "i32" }],
    { label: "embedding" },
  );
  console.log(
    `embedding gradCheck: max rel err ${Math.max(r.forward, ...r.grads).toExponential(2)}`,
  );

  const [vocab, h, n] = [1000, 64, 4096];
  const idv = randInt(n, 50); // heavy repetition: ~80 tokens per id
  const w = f32round(randn(vocab * h));
  const gv = f32round(randn(n * h));
  const run = async (cpuIds?: Int32Array) => {
    const wt = upload(w, [vocab, h]);
    wt.requiresGrad = true;
    const out = embedding(wt, upload(idv, [4, n / 4], "i32"), { cpuIds });
    backward(out, upload(gv, [4, n / 4, h]));
    const [dw] = await readAll([wt.grad!]);
    wt.dispose();
    return dw;
  };
  const a = await run(idv);
  assert.deepEqual(a, await run(idv));
  assert.deepEqual(a, await run()); // GPU grouping yields the same order, hence the same bits
  const err = assertClose(a, refGrad(gv, idv, vocab, h), { rtol: 1e-5, atol: 1e-5 });
  console.log(
    `embedding backward [${vocab},${h}] n=${n}: max rel err ${err.toExponential(2)}, deterministic`,
  );
});
