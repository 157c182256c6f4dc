import { backward, tapeLength } from "../../../kernels/core/autograd.ts";
import { sum } from "../../../kernels/reduce/reduce.ts";
import { setRowLayout } from "../../../kernels/reduce/rows.ts";
import { add, mul, scale } from "../../../kernels/elementwise/elementwise.ts";
import {
  crossEntropy,
  logprobsAndEntropy,
  tokenEntropy,
  tokenLogprobs,
} from "../../../kernels/reduce/logprobs.ts";
import { sync } from "../../../kernels/core/runtime.ts";
import { copyInto, empty, readAll, scope } from "../../../kernels/core/tensor.ts";
import {
  assert,
  assertClose,
  bothReadPaths,
  download,
  freshSeed,
  gpuReady,
  gradCheck,
  randInt,
  randn,
  rng,
  upload,
} from "../../helpers.ts";

await gpuReady;

/** float64 reference per row of z = x / T: logprob of the target (0 if out of range), entropy. */
function ref(
  x: ArrayLike<number>,
  targets: ArrayLike<number> | null,
  cols: number,
  temperature = 1,
) {
  const rows = x.length / cols;
  const lp = new Float64Array(rows);
  const ent = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: cols }, (_, j) => x[r * cols + j] / temperature);
    const m = z.reduce((a, b) => Math.max(a, b), -Infinity);
    let s = 0;
    for (const v of z) s += Math.exp(v - m);
    const lse = m + Math.log(s);
    let ez = 0;
    for (const v of z) ez += Math.exp(v - lse) * v;
    ent[r] = lse - ez;
    const t = targets ? targets[r] : -1;
    lp[r] = t >= 0 && t < cols ? z[t] - lse : 0;
  }
  return { lp, ent };
}

/** Cross-entropy reference: mean of −logprob over rows that count. */
function refCrossEntropy(
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  cols: number,
  mask: ArrayLike<number> | null,
  ignore: number,
) {
  const { lp } = ref(x, t, cols);
  let num = 0, den = 0;
  lp.forEach((v, r) => {
    const w = (mask ? mask[r] : 1) * (t[r] >= 0 && t[r] < cols && t[r] !== ignore ? 1 : 0);
    num -= v * w;
    den += w;
  });
  return Float64Array.of(den === 0 ? 0 : num / den);
}

async function withLayout(layout: "thread" | "group", fn: () => Promise<void>) {
  setRowLayout(layout);
  try {
    await fn();
  } finally {
    setRowLayout();
  }
}

// fp32: logits are O(1–10) and rows sum ≤ 50k exponentials in blocks of 256, so logsumexp
// carries ~1e-6 absolute error; 2e-5 absolute + 1e-5 relative leaves a 10× margin.
const TOL = { rtol: 1e-5, atol: 2e-5 };

for (const layout of ["thread", "group"] as const) {
  Deno.test(`logprobs+entropy (${layout} per row): forward vs float64 on odd and long rows`, async () => {
    await withLayout(layout, async () => {
      const errs: string[] = [];
      for (
        const [rows, cols, temperature] of [
          [1, 1, 1],
          [7, 13, 1],
          [129, 257, 0.7],
          [3, 50_000, 1],
          [5, 20_000, 1.3],
        ]
      ) {
        const seed = freshSeed();
        const xv = randn(rows * cols, seed, 3);
        const tv = randInt(rows, cols, seed + 1);
        if (rows > 1) tv[1] = -100; // out of range: logprob 0
        const { logprobs, entropy } = logprobsAndEntropy(
          upload(xv, [rows, cols]),
          upload(tv, [rows], "i32"),
          {
            temperature,
          },
        );
        const [lp, ent] = await readAll([logprobs, entropy]);
        const want = ref(Float32Array.from(xv), tv, cols, temperature);
        const label = `[${rows}, ${cols}] T=${temperature} (seed ${seed})`;
        const e1 = assertClose(lp, want.lp, { ...TOL, label: `logprobs ${label}` });
        const e2 = assertClose(ent, want.ent, { ...TOL, label: `entropy ${label}` });
        errs.push(`[${rows},${cols}] ${e1.toExponential(1)}/${e2.toExponential(1)}`);
      }
      console.log(`logprobs/entropy (${layout}) max rel err: ${errs.join(", ")}`);
    });
  });
}

bothReadPaths(
  "logprobs+entropy: extreme logits (±80, ties, −1e30 masks) stay finite and exact",
  async () => {
    const cols = 1000;
    const rows: number[][] = [];
    rows.push(Array(cols).fill(80)); // all tied: logprob −log V, entropy log V
    rows.push(Array.from({ length: cols }, (_, j) => (j === 7 ? 80 : -80))); // one-hot
    const r = rng(freshSeed());
    rows.push(Array.from({ length: cols }, () => (r() < 0.5 ? 80 : -80))); // many tied maxima
    rows.push(Array.from({ length: cols }, (_, j) => (j % 3 === 0 ? -1e30 : r() * 4))); // masked vocab
    rows.push(Array.from({ length: cols }, () => -80 + r())); // all very negative
    const xv = rows.flat();
    const tv = Int32Array.from([3, 7, 11, 2, 999]);
    for (const temperature of [1, 0.5]) {
      const { logprobs, entropy } = logprobsAndEntropy(
        upload(xv, [5, cols]),
        upload(tv, [5], "i32"),
        {
          temperature,
        },
      );
      const [lp, ent] = await readAll([logprobs, entropy]);
      const want = ref(Float32Array.from(xv), tv, cols, temperature);
      // ±80 / 0.5 = ±160 with V = 1000: |lse| ≈ 167, so fp32 rounding alone is ~1e-5 absolute.
      const e1 = assertClose(lp, want.lp, {
        rtol: 1e-6,
        atol: 4e-5,
        label: `extreme logprobs T=${temperature}`,
      });
      const e2 = assertClose(ent, want.ent, {
        rtol: 1e-6,
        atol: 4e-5,
        label: `extreme entropy T=${temperature}`,
      });
      console.log(
        `extreme T=${temperature}: logprob err ${e1.toExponential(1)}, entropy err ${
          e2.toExponential(1)
        }`,
      );
    }
  },
);

bothReadPaths(
  "logprobs and entropy: gradients vs finite differences (both layouts, temperature)",
  async () => {
    let worst = 0;
    const note = (r: { grads: number[] }) => (worst = Math.max(worst, ...r.grads));
    for (const layout of ["thread", "group"] as const) {
      await withLayout(layout, async () => {
        for (const [rows, cols, temperature] of [[1, 1, 1], [7, 13, 1], [3, 37, 0.7]]) {
          const t = randInt(rows, cols);
          if (rows > 2) t[2] = -100; // an ignored row: no gradient through its logprob
          const inputs = [{ shape: [rows, cols] }, {
            shape: [rows],
            data: t,
            dtype: "i32" as const,
            grad: false,
          }];
          const label = `${layout} [${rows}, ${cols}] T=${temperature}`;
          note(
            await gradCheck(
              (x, ti) => tokenLogprobs(x, ti, { temperature }),
              (x, ti) => ref(x, ti, cols, temperature).lp,
              inputs,
              { label: `logprobs ${label}` },
            ),
          );
          note(
            await gradCheck(
              (x) => tokenEntropy(x, { temperature }),
              (x) => ref(x, null, cols, temperature).ent,
              [inputs[0]],
              { label: `entropy ${label}` },
            ),
          );
          // Both outputs in one loss: their gradients meet at the joint node, one backward pass.
          note(
            await gradCheck(
              (x, ti) => {
                const { logprobs, entropy } = logprobsAndEntropy(x, ti, { temperature });
                return add(logprobs, scale(entropy, 0.3));
              },
              (x, ti) => {
                const { lp, ent } = ref(x, ti, cols, temperature);
                return lp.map((v, i) => v + 0.3 * ent[i]);
              },
              inputs,
              { label: `logprobs + 0.3·entropy ${label}` },
            ),
          );
        }
      });
    }
    console.log(`logprobs/entropy grad max rel err ${worst.toExponential(1)}`);
  },
);

bothReadPaths("crossEntropy: masked mean with ignoreIndex, forward and gradient", async () => {
  const [B, T, V] = [3, 5, 11];
  const t = randInt(B * T, V);
  t[4] = -100; // PyTorch's default ignore index
  t[6] = 0; // counts unless ignoreIndex = 0
  const mask = Float64Array.from({ length: B * T }, (_, i) => (i % 4 === 3 ? 0 : 1));
  const inputs = [
    { shape: [B, T, V] },
    { shape: [B, T], data: t, dtype: "i32" as const, grad: false },
    { shape: [B, T], data: mask, grad: false },
  ];
  const a = await gradCheck(
    (x, ti) => crossEntropy(x, ti),
    (x, ti) => refCrossEntropy(x, ti, V, null, -100),
    inputs.slice(0, 2),
    { label: "crossEntropy" },
  );
  const b = await gradCheck(
    (x, ti, m) => crossEntropy(x, ti, { mask: m, ignoreIndex: 0 }),
    (x, ti, m) => refCrossEntropy(x, ti, V, m, 0),
    inputs,
    { label: "crossEntropy masked, ignoreIndex 0" },
  );
  const none = crossEntropy(upload(randn(2 * V), [2, V]), upload([-100, -100], [2], "i32"));
  assert.equal((await download(none))[0], 0);
  console.log(
    `crossEntropy: forward err ${Math.max(a.forward, b.forward).toExponential(1)}, ` +
      `grad err ${Math.max(...a.grads, ...b.grads).toExponential(1)}`,
  );
});

bothReadPaths(
  "logprobs: saved stats survive scopes; the tape is empty after backward",
  async () => {
    const [rows, cols] = [9, 50];
    const x = upload(randn(rows * cols), [rows, cols]);
    const t = upload(randInt(rows, cols), [rows], "i32");
    x.requiresGrad = true;
    const direct = logprobsAndEntropy(x, t);
    backward(sum(add(direct.logprobs, direct.entropy)));
    const want = await download(x.grad!);
    x.grad = null;
    // Every handle the forward made is disposed at the scope's end; the tape keeps the buffers.
    const loss = scope(() => {
      const { logprobs, entropy } = logprobsAndEntropy(x, t);
      return sum(add(logprobs, entropy));
    });
    backward(loss);
    assert.equal(tapeLength(), 0);
    assert.deepEqual(await download(x.grad!), want);
  },
);

bothReadPaths("logprobs: forward and backward are bit-identical run to run", async () => {
  const [rows, cols] = [37, 3001];
  const x = upload(randn(rows * cols, freshSeed(), 2), [rows, cols]);
  const t = upload(randInt(rows, cols), [rows], "i32");
  const g = upload(randn(rows), [rows]);
  const runOnce = async () => {
    x.requiresGrad = true;
    const { logprobs, entropy } = logprobsAndEntropy(x, t);
    backward(add(logprobs, entropy), g);
    const [a, b, c] = await readAll([logprobs, entropy, x.grad!]);
    x.grad!.dispose();
    x.grad = null;
    return [a, b, c].map((v) => new Uint32Array(v.buffer));
  };
  const first = await runOnce();
  const second = await runOnce();
  first.forEach((v, i) => assert.deepEqual(v, second[i], `output ${i} differs between runs`));
});

bothReadPaths(
  "logprobs: 230 × 151,936 peaked logits (140 MB, over the binding cap) in row windows",
  async () => {
    const [rows, cols] = [230, 151_936];
    const xv = new Float32Array(rows * cols);
    const seed = freshSeed();
    const r = rng(seed);
    for (let i = 0; i < xv.length; i++) xv[i] = (r() - 0.5) * 12;
    // Peaked rows, as a trained policy's are: the noise alone has log-sum-exp ≈ 15.4; one column
    // per row is raised to 14.4, 17.4 or 20.4 (by row mod 3), so p(peak) is 0.27–0.99 and row
    // log-sum-exps (15.7, 17.5, 20.4) differ by 1.8–4.7 nats. Rows r and r + 220 (the same index inside the two
    // windows) never share a peak height: a kernel reading another row's statistics — e.g. the
    // window-local row r instead of the global row — is off by e^2 or more in every p.
    const tv = randInt(rows, cols, seed + 1);
    const peaks = randInt(rows, cols, seed + 2);
    for (let row = 0; row < rows; row++) {
      xv[row * cols + peaks[row]] = [14.4, 17.4, 20.4][row % 3];
      if (row % 2 === 0) tv[row] = peaks[row]; // half the rows sample their peak
    }
    const x = upload(xv, [rows, cols]);
    const t = upload(tv, [rows], "i32");
    const g = upload(randn(rows), [rows]);
    const gh = upload(randn(rows), [rows]);
    x.requiresGrad = true;
    // Compile the pipelines for this row length first, so the timings below are steady state.
    const warm = upload(xv.subarray(0, cols), [1, cols]);
    warm.requiresGrad = true;
    backward(logprobsAndEntropy(warm, upload([5], [1], "i32")).logprobs, upload([1], [1]));
    await sync();
    let t0 = performance.now();
    const { logprobs, entropy } = logprobsAndEntropy(x, t);
    const [lp, ent] = await readAll([logprobs, entropy]);
    const forwardMs = performance.now() - t0;
    t0 = performance.now();
    backward(logprobsAndEntropy(x, t).logprobs, g);
    await sync();
    const backwardMs = performance.now() - t0;
    const lpOnlyGrad = x.grad!;
    x.grad = null;
    const mixed = logprobsAndEntropy(x, t);
    backward(add(mixed.logprobs, mul(mixed.entropy, gh)), g);

    // Rows on both sides of the window edge (220 rows fit in 128 MiB) and the ends.
    const sample = [0, 1, 2, 219, 220, 221, 229];
    const rowsOut = sample.map(() => empty([cols]));
    const rowsMixed = sample.map(() => empty([cols]));
    sample.forEach((row, k) => {
      copyInto(lpOnlyGrad, rowsOut[k], row * cols, 0, cols);
      copyInto(x.grad!, rowsMixed[k], row * cols, 0, cols);
    });
    const got = await readAll([...rowsOut, ...rowsMixed, g, gh]);
    const gv = got.at(-2)!;
    const ghv = got.at(-1)!;
    let worstFwd = 0, worstBwd = 0;
    const lses: number[] = [];
    sample.forEach((row, k) => {
      const xr = xv.subarray(row * cols, (row + 1) * cols);
      const want = ref(xr, [tv[row]], cols);
      worstFwd = Math.max(
        worstFwd,
        assertClose([lp[row], ent[row]], [want.lp[0], want.ent[0]], {
          ...TOL,
          label: `row ${row} forward`,
        }),
      );
      // d/dz of g·lp + gh·g·H: g·(onehot − p) − gh·g·p·(z − Σ p·z)
      const m = xr.reduce((a, b) => Math.max(a, b), -Infinity);
      let s = 0;
      for (const v of xr) s += Math.exp(v - m);
      const lse = m + Math.log(s);
      lses.push(lse);
      let ez = 0;
      for (const v of xr) ez += Math.exp(v - lse) * v;
      const wantLp = new Float64Array(cols);
      const wantMixed = new Float64Array(cols);
      // The size of each element's terms: |g|·([j = target] + p) + |gh·g·p·(z − Σ p·z)|.
      const sizeLp = new Float64Array(cols);
      const sizeMixed = new Float64Array(cols);
      for (let j = 0; j < cols; j++) {
        const p = Math.exp(xr[j] - lse);
        const onehot = j === tv[row] ? 1 : 0;
        wantLp[j] = gv[row] * (onehot - p);
        const entropyTerm = ghv[row] * gv[row] * p * (xr[j] - ez);
        wantMixed[j] = wantLp[j] - entropyTerm;
        sizeLp[j] = Math.abs(gv[row]) * (onehot + p);
        sizeMixed[j] = sizeLp[j] + Math.abs(entropyTerm);
      }
      // Relative to the true gradient, element by element — to its terms' size, where they
      // cancel (1 − p at a peaked target, the entropy term against the logprob's): p = exp(z −
      // lse) in f32 carries ~|z − lse|·eps plus the lse's ~1e-6 absolute error, so 1e-4 of the
      // terms is a wide margin; another row's statistics are off by e^1.8 or more.
      worstBwd = Math.max(
        worstBwd,
        termwise(got[k], wantLp, sizeLp, `row ${row} dlogits (seed ${seed})`),
        termwise(
          got[sample.length + k],
          wantMixed,
          sizeMixed,
          `row ${row} dlogits with entropy (seed ${seed})`,
        ),
      );
    });
    const spread = Math.max(...lses) - Math.min(...lses);
    assert.ok(spread > 4, `sampled rows' log-sum-exps differ by only ${spread} nats`);
    console.log(
      `230×151936 peaked (lse ${lses.map((v) => v.toFixed(1)).join("/")}): forward err ${
        worstFwd.toExponential(1)
      }, backward err (elementwise, relative to its terms) ${worstBwd.toExponential(1)}; ` +
        `forward+readback ${forwardMs.toFixed(0)} ms, forward+backward+sync ${
          backwardMs.toFixed(0)
        } ms`,
    );
    for (const t of [...rowsOut, ...rowsMixed, lpOnlyGrad]) t.dispose();
  },
);

/**
 * Assert |got − want| ≤ 1e-4·|size| per element (`size`: the true gradient, or the magnitude
 * of the terms it sums); returns the largest ratio |got − want| / |size|.
 */
function termwise(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  size: ArrayLike<number>,
  label: string,
): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= 1e-4 * Math.abs(size[i]))) {
      assert.fail(`${label}: element ${i}: got ${got[i]}, want ${want[i]} (scale ${size[i]})`);
    }
    if (size[i] !== 0) worst = Math.max(worst, err / Math.abs(size[i]));
  }
  return worst;
}
