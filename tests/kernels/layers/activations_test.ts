import { silu, swiglu, swigluPacked } from "../../../kernels/layers/activations.ts";
import {
  assertClose,
  bothReadPaths,
  download,
  f32round,
  gpuReady,
  gradCheck,
  randn,
  upload,
} from "../../helpers.ts";

await gpuReady;

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const refSilu = (x: Float64Array) => x.map((v) => v * sig(v));
const refSwiglu = (g: Float64Array, u: Float64Array) => g.map((v, i) => v * sig(v) * u[i]);

/** float64 packed SwiGLU: rows of [gate | up] (width 2·cols) → rows of width cols. */
function refPacked(gu: Float64Array, cols: number): Float64Array {
  const rows = gu.length / (2 * cols);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = gu[r * 2 * cols + c];
      out[r * cols + c] = g * sig(g) * gu[r * 2 * cols + cols + c];
    }
  }
  return out;
}

const SHAPES = [[1, 1], [7, 13], [129, 257], [2, 3, 8], [300, 4864]];

// Tolerance: WGSL's exp is accurate to 3 + 2|x| ulp; at |x| ≤ ~15 (4σ inputs scaled by 3)
// σ(x) is then within ~2e-6 relative, and silu/swiglu add two roundings. rtol 1e-5 with a
// small atol (for values near 0) bounds that with margin.
bothReadPaths("silu, swiglu, swigluPacked forward vs float64 (odd and large shapes)", async () => {
  const worst = { silu: 0, swiglu: 0, packed: 0 };
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = f32round(randn(n, undefined, 3));
    const u = f32round(randn(n));
    const opts = { rtol: 1e-5, atol: 1e-6, label: `[${shape}]` };
    worst.silu = Math.max(
      worst.silu,
      assertClose(await download(silu(upload(x, shape))), refSilu(x), opts),
    );
    worst.swiglu = Math.max(
      worst.swiglu,
      assertClose(
        await download(swiglu(upload(x, shape), upload(u, shape))),
        refSwiglu(x, u),
        opts,
      ),
    );
    const cols = shape.at(-1)!;
    const packedShape = [...shape.slice(0, -1), 2 * cols];
    const gu = f32round(randn(2 * n, undefined, 3));
    worst.packed = Math.max(
      worst.packed,
      assertClose(await download(swigluPacked(upload(gu, packedShape))), refPacked(gu, cols), opts),
    );
  }
  console.log(
    `activations forward max rel err: silu ${worst.silu.toExponential(2)}, swiglu ` +
      `${worst.swiglu.toExponential(2)}, packed ${worst.packed.toExponential(2)}`,
  );
});

bothReadPaths("silu, swiglu, swigluPacked gradients vs finite differences", async () => {
  const errs: number[] = [];
  for (const shape of [[1, 1], [7, 13], [3, 8]]) {
    const cols = shape.at(-1)!;
    const rs = [
      await gradCheck((x) => silu(x), refSilu, [{ shape }], { label: `silu [${shape}]` }),
      await gradCheck((g, u) => swiglu(g, u), refSwiglu, [{ shape }, { shape }], {
        label: `swiglu [${shape}]`,
      }),
      await gradCheck((gu) => swigluPacked(gu), (gu) => refPacked(gu, cols), [{
        shape: [...shape.slice(0, -1), 2 * cols],
      }], { label: `swigluPacked [${shape}]` }),
    ];
    for (const r of rs) errs.push(r.forward, ...r.grads);
  }
  // One input frozen: only the other receives a gradient.
  const r = await gradCheck((g, u) => swiglu(g, u), refSwiglu, [{ shape: [4, 8] }, {
    shape: [4, 8],
    grad: false,
  }]);
  errs.push(...r.grads);
  console.log(`activations grads: max rel err ${Math.max(...errs).toExponential(2)}`);
});

// No NaN/Inf where e^(−x) overflows or underflows; exp is 3 + 2|x| ulp, hence rtol 1e-5.
bothReadPaths("silu saturates cleanly at large |x|", async () => {
  const x = Float64Array.from([-200, -90, -30, 0, 30, 90, 200, 1e-30]);
  const got = await download(silu(upload(x, [8])));
  assertClose(got, refSilu(x), { rtol: 1e-5, atol: 1e-30, label: "silu extremes" });
});
