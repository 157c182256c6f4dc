import { gpu } from "../../kernels/core/device.ts";
import { matmul, matmulPathDispatches, setMatmulVariant } from "../../kernels/matmul/matmul.ts";
import { tensor } from "../../kernels/core/tensor.ts";
import {
  checkVariant,
  describeProblem,
  makeInputs,
  MATMUL_VARIANTS,
  type MatmulProblem,
  maxRelError,
  referenceMatmul,
  skipReason,
} from "../../bench/variants/matmul.ts";
import { assert, freshSeed, gpuReady } from "../helpers.ts";

await gpuReady;

const p = (M: number, K: number, N: number, t: string): MatmulProblem => ({
  M,
  K,
  N,
  transA: t[0] === "t",
  transB: t[1] === "t",
});

// Odd (scalar path only), vec4-able with each transpose (every launcher path), and a
// decode-ish transB shape with 16 rows and ragged 128-column tiles (the packed path too).
const PROBLEMS = [
  p(37, 29, 41, "nn"),
  p(37, 29, 41, "tt"),
  p(64, 64, 64, "nn"),
  p(64, 64, 64, "nt"),
  p(64, 64, 64, "tn"),
  p(64, 64, 64, "tt"),
  p(16, 128, 200, "nt"),
];

Deno.test("matmul variants: every variant matches float64 where it applies", async () => {
  const ran = new Map<string, string[]>();
  const errs: string[] = [];
  for (const problem of PROBLEMS) {
    const seed = freshSeed();
    const inputs = makeInputs(problem, seed);
    try {
      for (const v of MATMUL_VARIANTS) {
        if (skipReason(v, problem)) continue;
        const { err, path } = await checkVariant(v, problem, inputs).catch((e) => {
          throw new Error(`${(e as Error).message} (seed ${seed})`);
        });
        ran.set(v.name, [...(ran.get(v.name) ?? []), `${describeProblem(problem)} ${path}`]);
        errs.push(`${v.name} ${describeProblem(problem)}: ${err.toExponential(1)}`);
      }
    } finally {
      inputs.dispose();
    }
  }
  console.log("max rel err", errs.join(", "));
  // Nothing may be skipped everywhere: every variant ran on some problem (the texture paths
  // exist on CPU adapters only).
  const cpuOnly = ["texture_tm4", "texture_tm8", "packed"];
  for (const v of MATMUL_VARIANTS) {
    if (!gpu().isCpu && cpuOnly.includes(v.name)) continue;
    assert.ok(ran.has(v.name), `${v.name} was skipped on every test problem`);
  }
  // The odd shape can only take the scalar path and the standalone kernels.
  const odd = describeProblem(PROBLEMS[0]);
  for (const [name, where] of ran) {
    if (where.some((w) => w.startsWith(odd))) {
      assert.ok(["naive", "shared16", "scalar_tm4", "matmul"].includes(name), name);
    }
  }
});

Deno.test("matmul variants: the check fails on a wrong result", async () => {
  const problem = p(64, 64, 64, "nt");
  const inputs = makeInputs(problem, freshSeed());
  const vec4 = MATMUL_VARIANTS.find((v) => v.name === "vec4_tm16")!;
  try {
    const good = await checkVariant(vec4, problem, inputs);
    assert.ok(good.err < 1e-5, `max rel err ${good.err}`);
    // One output off by 1 % of the typical magnitude: over the default tolerance.
    let rms = 0;
    for (const x of inputs.ref) rms += x * x;
    rms = Math.sqrt(rms / inputs.ref.length);
    const ref = inputs.ref.slice();
    ref[777] += 0.01 * rms;
    await assert.rejects(
      () => checkVariant(vec4, problem, { ...inputs, ref }),
      /vec4_tm16 on 64×64×64 nt: max relative error .* exceeds the tolerance/,
    );
    // The reference of the other transpose is a different product.
    const wrong = referenceMatmul(
      await inputs.a.read() as Float32Array,
      await inputs.b.read() as Float32Array,
      { ...problem, transB: false },
    );
    await assert.rejects(() => checkVariant(vec4, problem, { ...inputs, ref: wrong }));
  } finally {
    inputs.dispose();
  }
  assert.equal(maxRelError([1, NaN], [1, 2]), Infinity);
  assert.equal(maxRelError([1], [1, 2]), Infinity);
  assert.equal(maxRelError([1, 2], [1, 2]), 0);
});

Deno.test("setMatmulVariant forces the path and tile, or throws", async () => {
  const a = tensor(new Float32Array(37 * 29).fill(1), [37, 29]);
  const b = tensor(new Float32Array(29 * 41).fill(1), [29, 41]);
  const a64 = tensor(new Float32Array(64 * 64).fill(1), [64, 64]);
  try {
    assert.throws(() => setMatmulVariant({ path: "vec4", tm: 3 }), /vec4 takes TM 1, 2, 4/);
    assert.throws(
      () => setMatmulVariant({ path: "texture", tm: 2 }),
      /texture takes TM 4, 8, 16, not 2/,
    );
    setMatmulVariant({ path: "vec4" });
    assert.throws(() => matmul(a, b), /variant vec4 can't take 37×29×41 nn/);
    setMatmulVariant({ path: "texture" });
    assert.throws(() => matmul(a, b), /variant texture can't take 37×29×41 nn/);
    setMatmulVariant({ path: "vec4", tm: 2 });
    assert.throws(() => matmul(a64, a64, { transA: true }), /TM ≥ 4/);

    const ran = (fn: () => void) => {
      const before = matmulPathDispatches();
      fn();
      const after = matmulPathDispatches();
      return (["texture", "vec4", "scalar"] as const).filter((k) => after[k] > before[k]);
    };
    // Scalar takes any TM, below 4 with transA too (its 16-row pipeline compiles for seconds).
    setMatmulVariant({ path: "scalar", tm: 2 });
    assert.deepEqual(ran(() => matmul(a64, a64).dispose()), ["scalar"]);
    const c = matmul(a64, a64, { transA: true });
    assert.ok((await c.read()).every((x) => x === 64), "scalar TM 2 transA");
    c.dispose();
    setMatmulVariant({ path: "vec4", tm: 1 });
    assert.deepEqual(ran(() => matmul(a64, a64).dispose()), ["vec4"]);
    setMatmulVariant(undefined);
    assert.deepEqual(
      ran(() => matmul(a64, a64).dispose()),
      [gpu().isCpu ? "texture" : "vec4"],
      "undefined restores the automatic choice",
    );
    assert.deepEqual(ran(() => matmul(a, b).dispose()), ["scalar"]);
  } finally {
    setMatmulVariant(undefined);
    for (const t of [a, b, a64]) t.dispose();
  }
});

Deno.test("matmul variants: skip reasons name the limit", () => {
  const byName = (n: string) => MATMUL_VARIANTS.find((v) => v.name === n)!;
  const tinyFwd = p(7680, 96, 288, "nt");
  assert.match(skipReason(byName("packed"), tinyFwd)!, /M = 7680 > 64/);
  assert.match(skipReason(byName("packed"), p(16, 128, 200, "nn"))!, /\(nt\)/);
  assert.match(skipReason(byName("vec4_tm4"), p(37, 29, 41, "nn"))!, /multiples of 4/);
  assert.match(skipReason(byName("vec4_tm2"), p(64, 64, 64, "tn"))!, /transA/);
  assert.match(skipReason(byName("naive"), p(4, 70000, 4, "nn"))!, /K = 70000/);
  assert.equal(skipReason(byName("scalar_tm4"), p(37, 29, 41, "tt")), null);
  assert.equal(skipReason(byName("matmul"), tinyFwd), null);
  if (gpu().isCpu) {
    assert.match(skipReason(byName("texture_tm8"), p(64, 30, 64, "nn"))!, /multiples of 4/);
    assert.equal(skipReason(byName("texture_tm8"), p(8, 64, 64, "nn")), null); // minRows waived
  } else {
    assert.match(skipReason(byName("texture_tm8"), tinyFwd)!, /texture path off/);
  }
});
