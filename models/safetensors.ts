/**
 * Read and write the Hugging Face safetensors format.
 *
 * A file is: 8 bytes (u64, little-endian) giving the header length N, then N bytes of
 * UTF-8 JSON mapping each tensor name to `{dtype, shape, data_offsets: [start, end]}`
 * (offsets relative to the first byte after the header, plus an optional
 * `"__metadata__"` map of strings), then the raw little-endian tensor bytes.
 *
 * Reading is lazy: {@link openSafetensors} reads and validates only the header; each
 * `getF32` / `getBytes` then reads that tensor's byte range through a file handle. A
 * whole-file `Deno.readFile` would be simpler, but a real Qwen2.5-0.5B checkpoint is
 * ~1 GB of bf16 and the loader converts and uploads one tensor at a time, so ranged
 * reads keep the peak at one tensor instead of the file plus one tensor, and opening
 * a shard costs only its header.
 *
 * @example
 * ```ts
 * import { openSafetensors, writeSafetensors } from "./safetensors.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, { w: { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] } }, {
 *   dtype: "BF16",
 * });
 * using st = openSafetensors(path);
 * st.info("w"); // { dtype: "BF16", shape: [2, 2] }
 * st.getF32("w"); // Float32Array [1, 2, 3, 4]
 * ```
 * @module
 */

/** Bytes per element of every dtype the safetensors spec names with whole bytes. */
const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

/** A safetensors dtype name, e.g. `"BF16"`. */
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** The dtypes {@link writeSafetensors} can store float weights as. */
export type FloatDtype = "F32" | "F16" | "BF16";

/** What the header says about one tensor. */
export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
}

/** A tensor's elements in the typed array native to its dtype (BF16 as raw bits). */
export type TypedTensorData =
  | Float32Array
  | Float64Array
  | Float16Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Lazy access to the tensors of one safetensors file (or of a sharded checkpoint). */
export interface SafetensorsHandle extends Disposable {
  /** The `__metadata__` map (empty when absent). */
  readonly metadata: Record<string, string>;
  /** Tensor names, sorted. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The tensor converted to f32 (any numeric dtype but F8; 64-bit ints may round). */
  getF32(name: string): Float32Array;
  /** The tensor in its own dtype's typed array, for integer data such as token ids. */
  getTyped(name: string): TypedTensorData;
  /** The raw little-endian bytes, in a fresh buffer the caller owns. */
  getBytes(name: string): Uint8Array;
  /** Releases the file handle(s); later reads throw. */
  close(): void;
}

/** The Rust reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A random-access byte source: a file handle or an in-memory buffer. */
interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`, in a fresh buffer starting at byteOffset 0. */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(length);
      file.seekSync(offset, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < length) {
        const n = file.readSync(out.subarray(filled));
        if (n === null || n === 0) {
          throw new Error(`${path}: unexpected end of file at byte ${offset + filled}`);
        }
        filled += n;
      }
      return out;
    },
    close: () => file.close(),
  };
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read: (offset, length) => bytes.slice(offset, offset + length),
    close() {},
  };
}

interface Entry extends TensorInfo {
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

/** Parses and checks the header; nothing in it is trusted until this returns. */
function parseHeader(
  source: ByteSource,
  label: string,
): { entries: Map<string, Entry>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  if (source.size < 8) fail(`file has ${source.size} bytes, too few for the header length`);
  const headerLen = new DataView(source.read(0, 8).buffer).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte cap`);
  }
  const n = Number(headerLen);
  if (8 + n > source.size) {
    fail(`header length ${n} runs past the end of the ${source.size}-byte file (truncated?)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(source.read(8, n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isRecord(json)) return fail("header is not a JSON object");

  const dataStart = 8 + n;
  const dataSize = source.size - dataStart;
  const entries = new Map<string, Entry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isRecord(raw) || !Object.values(raw).every((v) => typeof v === "string")) {
        fail(`"__metadata__" must map strings to strings`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const bad = (msg: string): never => fail(`tensor "${name}": ${msg}`);
    if (!isRecord(raw)) bad("entry is not an object");
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      bad(`unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      bad(`data_offsets ${JSON.stringify(offsets)} is not [start, end]`);
    }
    const [start, end] = offsets as number[];
    if (start > end) bad(`data_offsets [${start}, ${end}] end before they start`);
    if (end > dataSize) {
      bad(
        `data_offsets [${start}, ${end}] run past the end of the ${dataSize} data bytes ` +
          `(file truncated?)`,
      );
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const want = numel * DTYPE_BYTES[dtype as SafetensorsDtype];
    if (want !== end - start) {
      bad(
        `shape [${shape}] of ${dtype} needs ${want} bytes but data_offsets ` +
          `[${start}, ${end}] hold ${end - start}`,
      );
    }
    entries.set(name, {
      dtype: dtype as SafetensorsDtype,
      shape: [...(shape as number[])],
      begin: dataStart + start,
      end: dataStart + end,
    });
  }
  // Overlap check: sort by start, each must begin at or after the previous end. Gaps
  // are tolerated (the Rust loader rejects them, but they cannot corrupt a read).
  const byStart = [...entries].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < byStart.length; i++) {
    const [prevName, prev] = byStart[i - 1];
    const [name, cur] = byStart[i];
    if (cur.begin < prev.end) {
      fail(`tensor "${name}": data overlaps tensor "${prevName}"`);
    }
  }
  return { entries, metadata };
}

/** Bit-exact bf16 → f32: a bf16 is the upper half of an f32. */
export function bf16BitsToF32(bits: Uint16Array): Float32Array {
  const out = new Int32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/**
 * f32 → bf16 bits with round-to-nearest-even, as torch does (c10's
 * round_to_nearest_even: every NaN becomes the canonical 0x7fc0).
 */
export function f32ToBf16Bits(values: Float32Array): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** IEEE half → f32 (V8's Float16Array implements subnormals, inf and NaN exactly). */
export function f16BitsToF32(bits: Uint16Array): Float32Array {
  return new Float32Array(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
}

/** f32 → IEEE half bits; the typed-array conversion rounds to nearest even. */
export function f32ToF16Bits(values: Float32Array): Uint16Array {
  return new Uint16Array(new Float16Array(values).buffer);
}

/** Typed arrays use the host's byte order; safetensors is little-endian, as are x86 and ARM. */
function typedView(bytes: Uint8Array, dtype: SafetensorsDtype): TypedTensorData {
  const b = bytes.buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(b);
    case "F64":
      return new Float64Array(b);
    case "F16":
      return new Float16Array(b);
    case "BF16":
    case "U16":
      return new Uint16Array(b);
    case "I16":
      return new Int16Array(b);
    case "I32":
      return new Int32Array(b);
    case "U32":
      return new Uint32Array(b);
    case "I64":
      return new BigInt64Array(b);
    case "U64":
      return new BigUint64Array(b);
    case "I8":
      return new Int8Array(b);
    case "BOOL":
    case "U8":
    case "F8_E4M3":
    case "F8_E5M2":
      return bytes;
  }
}

function toF32(bytes: Uint8Array, dtype: SafetensorsDtype, where: string): Float32Array {
  if (dtype === "F8_E4M3" || dtype === "F8_E5M2") {
    throw new Error(`${where}: converting ${dtype} to f32 is not supported`);
  }
  const typed = typedView(bytes, dtype);
  if (dtype === "F32") return typed as Float32Array;
  if (dtype === "BF16") return bf16BitsToF32(typed as Uint16Array);
  if (typed instanceof BigInt64Array || typed instanceof BigUint64Array) {
    const out = new Float32Array(typed.length);
    for (let i = 0; i < typed.length; i++) out[i] = Number(typed[i]);
    return out;
  }
  return new Float32Array(typed as ArrayLike<number>);
}

function makeHandle(source: ByteSource, label: string): SafetensorsHandle {
  let open = true;
  let entries: Map<string, Entry>;
  let metadata: Record<string, string>;
  try {
    ({ entries, metadata } = parseHeader(source, label));
  } catch (e) {
    source.close();
    throw e;
  }
  const names = [...entries.keys()].sort();
  const entry = (name: string): Entry => {
    const e = entries.get(name);
    if (!e) throw new Error(`${label}: no tensor named "${name}"`);
    return e;
  };
  const bytesOf = (name: string): Uint8Array => {
    if (!open) throw new Error(`${label}: read of tensor "${name}" after close()`);
    const e = entry(name);
    return source.read(e.begin, e.end - e.begin);
  };
  const close = () => {
    if (open) source.close();
    open = false;
  };
  return {
    metadata,
    names: () => [...names],
    has: (name) => entries.has(name),
    info: (name) => {
      const { dtype, shape } = entry(name);
      return { dtype, shape: [...shape] };
    },
    getBytes: bytesOf,
    getTyped: (name) => typedView(bytesOf(name), entry(name).dtype),
    getF32: (name) => toF32(bytesOf(name), entry(name).dtype, `${label}: tensor "${name}"`),
    close,
    [Symbol.dispose]: close,
  };
}

/** Opens a safetensors file, reading and validating only its header. */
export function openSafetensors(path: string): SafetensorsHandle {
  let source: ByteSource;
  try {
    source = fileSource(path);
  } catch (e) {
    throw new Error(`${path}: cannot open (${(e as Error).message})`);
  }
  return makeHandle(source, path);
}

/** Parses safetensors bytes already in memory; `label` names it in errors. */
export function safetensorsFromBytes(bytes: Uint8Array, label = "<memory>"): SafetensorsHandle {
  return makeHandle(memorySource(bytes), label);
}

/** One tensor to write: f32 values in row-major order. */
export interface TensorToWrite {
  data: Float32Array;
  shape: number[];
}

/** How {@link writeSafetensors} stores the tensors. */
export interface WriteOptions {
  /** Storage dtype for every tensor; f16/bf16 round to nearest even. */
  dtype: FloatDtype;
  /** Free-form strings saved as `__metadata__`. */
  metadata?: Record<string, string>;
}

/** The file as a list of chunks: the padded header, then each tensor's bytes. */
function* serialize(
  tensors: Record<string, TensorToWrite>,
  { dtype, metadata }: WriteOptions,
): Generator<Uint8Array> {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const { data, shape } = tensors[name];
    if (!shape.every(isCount)) throw new Error(`tensor "${name}": bad shape [${shape}]`);
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== data.length) {
      throw new Error(
        `tensor "${name}": shape [${shape}] needs ${numel} values, got ${data.length}`,
      );
    }
    const nbytes = numel * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  // Padding counts bytes, not characters: names may be non-ASCII.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  body.set(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(body.length), true);
  yield prefix;
  yield body;
  for (const name of names) {
    const { data } = tensors[name];
    if (dtype === "F32") {
      yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      const bits = dtype === "BF16" ? f32ToBf16Bits(data) : f32ToF16Bits(data);
      yield new Uint8Array(bits.buffer);
    }
  }
}

/** Serializes tensors to safetensors bytes in memory (tensors in sorted-name order). */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  options: WriteOptions,
): Uint8Array {
  const chunks = [...serialize(tensors, options)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Writes a safetensors file atomically: into a temp file in the same directory (so the
 * rename stays on one filesystem), then renamed over `path`. A crash mid-write leaves
 * the old file intact. Tensors are converted one at a time, never all at once.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  options: WriteOptions,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const base = path.slice(slash + 1);
  const tmp = `${dir}/.${base}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for (const chunk of serialize(tensors, options)) {
        let written = 0;
        while (written < chunk.length) written += await file.write(chunk.subarray(written));
      }
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`${path}: cannot write safetensors (${(e as Error).message})`);
  }
}
