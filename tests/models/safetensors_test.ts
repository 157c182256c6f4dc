import { FIXTURE_DIR, hasFixture } from "../fixtures.ts";
import assert from "node:assert/strict";
import {
  bf16BitsToF32,
  encodeSafetensors,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  openSafetensors,
  safetensorsFromBytes,
  writeSafetensors,
} from "../../models/safetensors.ts";

const FIXTURE = `${FIXTURE_DIR}/model.safetensors`;

/** Builds a safetensors file by hand, so malformed headers can be written. */
function rawFile(header: unknown, data: Uint8Array, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === "string" ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Writes bytes to a temp file and returns its path, so errors must name that path. */
async function tempFile(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await Deno.writeFile(path, bytes);
  return path;
}

function bitsOf(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return dv.getUint32(0, true);
}

function floatOf(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits >>> 0, true);
  return dv.getFloat32(0, true);
}

/** Independent f32 → bf16: compare the two bf16 neighbours' distances in float64. */
function refBf16(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  const lo = bitsOf(x) & 0xffff0000; // toward zero
  const hi = lo + 0x10000; // away from zero (may step into inf, which is right)
  // Past the largest finite value, IEEE rounds as if the next step were 2^128.
  const hiValue = (hi & 0x7fffffff) === 0x7f800000 ? Math.sign(x) * 2 ** 128 : floatOf(hi);
  const dLo = Math.abs(x - floatOf(lo));
  const dHi = Math.abs(hiValue - x);
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : ((lo >>> 16) & 1) === 0 ? lo : hi;
  return (pick >>> 16) & 0xffff;
}

/** Independent IEEE half decoding from the definition. */
function refF16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Independent f32 → f16: nearest of all positive halves, ties to even mantissa. */
const POSITIVE_HALVES = Array.from({ length: 0x7c00 }, (_, h) => refF16Value(h));
function refF16(x: number): number {
  if (Number.isNaN(x)) return -1; // any NaN; checked separately
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // halfway to 2^16 and above round to inf
  let lo = 0, hi = POSITIVE_HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE_HALVES[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - POSITIVE_HALVES[lo], dHi = POSITIVE_HALVES[hi] - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

/** Awkward f32 values: specials, ties, subnormals of both formats, overflow edges. */
function testValues(): Float32Array {
  const v = [0, -0, 1, -1, 0.1, 1 / 3, 65504, 65519, 65520, 70000, -1e30, 3.4e38, 1e-8, 6e-8];
  v.push(2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -15 + 2 ** -25, 1e-40, -1e-45);
  v.push(Infinity, -Infinity, NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11);
  let s = 12345;
  for (let i = 0; i < 20000; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    v.push(floatOf(s)); // random bit patterns cover every exponent
  }
  return new Float32Array(v);
}

Deno.test("f32 round trip through a file is bit-exact, metadata kept", async () => {
  const a = testValues();
  const b = new Float32Array([1, 2, 3, 4, 5, 6]);
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await writeSafetensors(path, {
    "b.weight": { data: b, shape: [2, 3] },
    a: { data: a, shape: [a.length] },
  }, {
    dtype: "F32",
    metadata: { format: "pt", note: "héllo" },
  });
  using st = openSafetensors(path);
  assert.deepEqual(st.names(), ["a", "b.weight"]);
  assert.deepEqual(st.metadata, { format: "pt", note: "héllo" });
  assert.deepEqual(st.info("b.weight"), { dtype: "F32", shape: [2, 3] });
  assert.deepEqual(new Uint32Array(st.getF32("a").buffer), new Uint32Array(a.buffer));
  assert.deepEqual(st.getF32("b.weight"), b);
});

Deno.test("header is space-padded to 8 bytes, tensors laid out in sorted-name order", () => {
  const bytes = encodeSafetensors({
    zeta: { data: new Float32Array(3), shape: [3] },
    "é": { data: new Float32Array(1), shape: [1] },
    alpha: { data: new Float32Array(2), shape: [1, 2] },
  }, { dtype: "BF16" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  const header = JSON.parse(text);
  assert.deepEqual(header.alpha.data_offsets, [0, 4]);
  assert.deepEqual(header.zeta.data_offsets, [4, 10]);
  assert.deepEqual(header["é"].data_offsets, [10, 12]);
  assert.equal(bytes.length, 8 + n + 12);
});

Deno.test("bf16 conversion matches an independent round-to-nearest-even", () => {
  const x = testValues();
  const bits = f32ToBf16Bits(x);
  for (let i = 0; i < x.length; i++) {
    assert.equal(bits[i], refBf16(x[i]), `x=${x[i]} (0x${bitsOf(x[i]).toString(16)})`);
  }
  const back = bf16BitsToF32(bits);
  for (let i = 0; i < x.length; i++) {
    const want = bits[i] === 0x7fc0 ? NaN : floatOf(bits[i] << 16);
    assert.ok(Object.is(back[i], want), `bits 0x${bits[i].toString(16)}`);
  }
});

Deno.test("f16 conversion matches an independent IEEE half (subnormals, inf, nan)", () => {
  const x = testValues();
  const bits = f32ToF16Bits(x);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) assert.ok((bits[i] & 0x7c00) === 0x7c00 && (bits[i] & 0x3ff) !== 0);
    else assert.equal(bits[i], refF16(x[i]), `x=${x[i]}`);
  }
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = f16BitsToF32(all);
  for (let h = 0; h < 65536; h++) assert.ok(Object.is(decoded[h], refF16Value(h)), `h=${h}`);
});

Deno.test("f16 and bf16 files read back as the rounded values", () => {
  const x = new Float32Array([0.1, -2.5, 1e-6, 70000, 3]);
  for (const dtype of ["F16", "BF16"] as const) {
    using st = safetensorsFromBytes(encodeSafetensors({ x: { data: x, shape: [5] } }, { dtype }));
    const got = st.getF32("x");
    const want = dtype === "F16"
      ? Array.from(x, (v) => refF16Value(refF16(v)))
      : Array.from(x, (v) => floatOf(refBf16(v) << 16));
    assert.deepEqual(Array.from(got), want);
  }
});

Deno.test("integer and f64 dtypes read raw and as f32", () => {
  const i64 = new BigInt64Array([-3n, 151643n]);
  const i32 = new Int32Array([7, -8, 9]);
  const f64 = new Float64Array([0.5, -1.25]);
  const u8 = new Uint8Array([1, 0, 1, 255]);
  const data = new Uint8Array(16 + 12 + 16 + 4);
  data.set(new Uint8Array(i64.buffer), 0);
  data.set(new Uint8Array(i32.buffer), 16);
  data.set(new Uint8Array(f64.buffer), 28);
  data.set(u8, 44);
  const bytes = rawFile({
    ids: { dtype: "I64", shape: [2], data_offsets: [0, 16] },
    n: { dtype: "I32", shape: [3], data_offsets: [16, 28] },
    d: { dtype: "F64", shape: [2], data_offsets: [28, 44] },
    mask: { dtype: "BOOL", shape: [2, 2], data_offsets: [44, 48] },
  }, data);
  using st = safetensorsFromBytes(bytes);
  assert.deepEqual(st.getTyped("ids"), i64);
  assert.deepEqual(Array.from(st.getF32("ids")), [-3, 151643]);
  assert.deepEqual(st.getTyped("n"), i32);
  assert.deepEqual(Array.from(st.getF32("d")), [0.5, -1.25]);
  assert.deepEqual(Array.from(st.getF32("mask")), [1, 0, 1, 255]);
  assert.deepEqual(st.getBytes("mask"), u8);
});

Deno.test("overwrite is atomic: no temp files left, old content replaced", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/model.safetensors`;
  await writeSafetensors(path, { a: { data: new Float32Array([1]), shape: [1] } }, {
    dtype: "F32",
  });
  await writeSafetensors(path, { b: { data: new Float32Array([2]), shape: [1] } }, {
    dtype: "F32",
  });
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(files, ["model.safetensors"]);
  using st = openSafetensors(path);
  assert.deepEqual(st.names(), ["b"]);
  await assert.rejects(
    writeSafetensors(path, { bad: { data: new Float32Array(3), shape: [2, 2] } }, { dtype: "F32" }),
    /tensor "bad": shape \[2,2\] needs 4 values, got 3/,
  );
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.safetensors"]);
});

Deno.test("reads after close() throw", () => {
  const st = safetensorsFromBytes(
    encodeSafetensors({ a: { data: new Float32Array(1), shape: [1] } }, {
      dtype: "F32",
    }),
  );
  st.close();
  assert.throws(() => st.getF32("a"), /after close/);
});

Deno.test({
  name: "HF-written tiny llama fixture loads with every expected shape",
  ignore: !hasFixture,
  fn() {
    using st = openSafetensors(FIXTURE);
    const want: Record<string, number[]> = {
      "model.embed_tokens.weight": [16, 128],
      "lm_head.weight": [16, 128],
      "model.norm.weight": [128],
    };
    for (let i = 0; i < 4; i++) {
      const p = `model.layers.${i}.`;
      for (const m of ["q", "k", "v", "o"]) want[`${p}self_attn.${m}_proj.weight`] = [128, 128];
      want[`${p}mlp.gate_proj.weight`] = [344, 128];
      want[`${p}mlp.up_proj.weight`] = [344, 128];
      want[`${p}mlp.down_proj.weight`] = [128, 344];
      want[`${p}input_layernorm.weight`] = [128];
      want[`${p}post_attention_layernorm.weight`] = [128];
    }
    assert.deepEqual(st.names(), Object.keys(want).sort());
    for (const [name, shape] of Object.entries(want)) {
      assert.deepEqual(st.info(name), { dtype: "BF16", shape });
      assert.equal(st.getF32(name).length, shape.reduce((a, b) => a * b, 1));
    }
    assert.deepEqual(st.metadata, { format: "pt" });
    // Golden sums computed with numpy from the same bytes (f64 accumulation).
    const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    const embed = st.getF32("model.embed_tokens.weight");
    assert.deepEqual(Array.from(embed.subarray(0, 3)), [
      0.0240478515625,
      0.0203857421875,
      0.0133056640625,
    ]);
    assert.ok(Math.abs(sum(embed) - -0.5850042998790741) < 1e-12);
    assert.ok(Math.abs(sum(st.getF32("lm_head.weight")) - -0.4152096211910248) < 1e-12);
    assert.ok(
      Math.abs(sum(st.getF32("model.layers.3.mlp.down_proj.weight")) - 0.7812879383563995) < 1e-12,
    );
    assert.ok(st.getF32("model.norm.weight").every((v) => v === 1));
  },
});

Deno.test({
  name: "truncated fixture fails naming the file and the tensor",
  ignore: !hasFixture,
  async fn() {
    const bytes = await Deno.readFile(FIXTURE);
    const path = await tempFile(bytes.subarray(0, bytes.length - 100));
    assert.throws(() => openSafetensors(path), (e: Error) => {
      assert.ok(e.message.startsWith(`${path}: tensor "`), e.message);
      assert.match(e.message, /run past the end .*truncated/);
      return true;
    });
    const cut = await tempFile(bytes.subarray(0, 1000)); // inside the header
    assert.throws(
      () => openSafetensors(cut),
      new RegExp(`^Error: ${cut}: header length \\d+ runs past`),
    );
  },
});

Deno.test("malformed files fail naming the file and the tensor", async () => {
  const f32x4 = new Uint8Array(16);
  const cases: [string, Uint8Array, RegExp][] = [
    ["tiny", new Uint8Array(5), /too few for the header length/],
    ["huge header", rawFile({}, f32x4, 2 ** 40), /exceeds the 100000000-byte cap/],
    ["not json", rawFile("{not json", f32x4), /header is not valid UTF-8 JSON/],
    ["array header", rawFile("[1]", f32x4), /header is not a JSON object/],
    ["bad metadata", rawFile({ __metadata__: { n: 1 } }, f32x4), /"__metadata__" must map strings/],
    [
      "missing dtype",
      rawFile({ w: { shape: [4], data_offsets: [0, 16] } }, f32x4),
      /tensor "w": unknown dtype undefined/,
    ],
    [
      "unknown dtype",
      rawFile({ w: { dtype: "F128", shape: [1], data_offsets: [0, 16] } }, f32x4),
      /tensor "w": unknown dtype "F128"/,
    ],
    [
      "prototype dtype",
      rawFile({ w: { dtype: "toString", shape: [1], data_offsets: [0, 16] } }, f32x4),
      /tensor "w": unknown dtype/,
    ],
    [
      "bad shape",
      rawFile({ w: { dtype: "F32", shape: [-4], data_offsets: [0, 16] } }, f32x4),
      /tensor "w": shape \[-4\] is not a list/,
    ],
    [
      "missing offsets",
      rawFile({ w: { dtype: "F32", shape: [4] } }, f32x4),
      /tensor "w": data_offsets undefined is not \[start, end\]/,
    ],
    [
      "shape-size mismatch",
      rawFile({ w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 16] } }, f32x4),
      /tensor "w": shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0, 16\] hold 16/,
    ],
    [
      "overlap",
      rawFile({
        a: { dtype: "F32", shape: [3], data_offsets: [0, 12] },
        b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
      }, f32x4),
      /tensor "b": data overlaps tensor "a"/,
    ],
    [
      "out of bounds",
      rawFile({ w: { dtype: "F32", shape: [5], data_offsets: [0, 20] } }, f32x4),
      /tensor "w": data_offsets \[0, 20\] run past the end of the 16 data bytes/,
    ],
    [
      "reversed offsets",
      rawFile({ w: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, f32x4),
      /tensor "w": data_offsets \[8, 4\] end before they start/,
    ],
  ];
  for (const [what, bytes, pattern] of cases) {
    const path = await tempFile(bytes);
    assert.throws(() => openSafetensors(path), (e: Error) => {
      assert.ok(e.message.startsWith(`${path}: `), `${what}: ${e.message}`);
      assert.match(e.message, pattern, what);
      return true;
    }, what);
  }
  assert.throws(
    () => openSafetensors("/nonexistent/x.safetensors"),
    /^Error: \/nonexistent\/x.safetensors: cannot open/,
  );
});

Deno.test("unknown tensor name is an error naming the file", () => {
  using st = safetensorsFromBytes(
    encodeSafetensors({ a: { data: new Float32Array(1), shape: [1] } }, { dtype: "F32" }),
    "mem.safetensors",
  );
  assert.throws(() => st.info("b"), /^Error: mem.safetensors: no tensor named "b"/);
});
