/**
 * safetensors reader and writer (browser-safe: bytes in, bytes out; the Node file helpers live in
 * `safetensors-node.ts`).
 *
 * Format (the Python/Rust library's rules): u64 little-endian header length N, then N bytes of JSON
 * (padded with spaces to a multiple of 8), then the data section. The JSON maps each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (byte offsets into the data section, little-endian
 * elements) and may hold `__metadata__`, a string → string map.
 *
 * Every defect found while parsing throws `HsaError('E_BAD_CHECKPOINT')` naming the tensor and the problem.
 */
import { ArgumentError, bf16ToF32, DTypeError, f16ToF32, HsaError, packHalf, ShapeError } from '@hsa/kernels';

export const SAFETENSORS_DTYPES = ['F32', 'F16', 'BF16', 'I32', 'I64', 'U32', 'U8'] as const;
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U32: 4, U8: 1 };

/** The Rust library's limit on the header size (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a parsed file: where its bytes are, relative to the data section. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** byte offset of the tensor's first byte, from the start of the data section */
  readonly begin: number;
  /** byte offset one past its last byte */
  readonly end: number;
}

function bad(message: string): HsaError {
  return new HsaError('E_BAD_CHECKPOINT', `safetensors: ${message}`);
}

const isDType = (d: unknown): d is SafetensorsDType =>
  typeof d === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(d);

function checkEntry(name: string, raw: unknown, dataBytes: number): SafetensorsEntry {
  if (typeof raw !== 'object' || raw === null) throw bad(`tensor '${name}': header entry is not an object`);
  const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
  if (!isDType(dtype)) {
    throw bad(`tensor '${name}': unsupported dtype ${JSON.stringify(dtype)} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw bad(`tensor '${name}': data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
  }
  const [begin, end] = offs as number[];
  if (begin > end || end > dataBytes) {
    throw bad(`tensor '${name}': data_offsets [${begin}, ${end}] out of range (data section holds ${dataBytes} bytes)`);
  }
  const want = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== want) {
    throw bad(`tensor '${name}': shape [${shape.join(', ')}] × ${dtype} needs ${want} bytes, data_offsets span ${end - begin}`);
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

function checkMetadata(raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('__metadata__ is not a string map');
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw bad(`__metadata__ entry '${k}' is not a string`);
  }
  return { ...(raw as Record<string, string>) };
}

function checkNoOverlap(entries: SafetensorsEntry[]): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (b.begin < a.end) {
      throw bad(`tensor '${b.name}': data_offsets [${b.begin}, ${b.end}] overlap tensor '${a.name}' [${a.begin}, ${a.end}]`);
    }
  }
}

function readHeaderLength(bytes: Uint8Array): number {
  if (bytes.byteLength < 8) throw bad(`truncated file: ${bytes.byteLength} bytes, the header length alone needs 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER_BYTES) throw bad(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + n > bytes.byteLength) throw bad(`header length ${n} runs past the end of the ${bytes.byteLength}-byte file (truncated?)`);
  return n;
}

/** A parsed safetensors file over its bytes (tensor views may share memory with them). */
export class SafetensorsFile {
  readonly metadata: Record<string, string>;
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
  /** bytes [begin, end) of the data section */
  private readonly read: (begin: number, end: number) => Uint8Array;

  private constructor(read: (begin: number, end: number) => Uint8Array, metadata: Record<string, string>, tensors: Map<string, SafetensorsEntry>) {
    this.read = read;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  /** Parses and validates the header; throws `E_BAD_CHECKPOINT` on any defect. Does not copy the data. */
  static parse(input: ArrayBuffer | Uint8Array): SafetensorsFile {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    const n = readHeaderLength(bytes);
    const data = bytes.subarray(8 + n);
    return SafetensorsFile.fromHeader(bytes.subarray(0, 8 + n), data.byteLength, (b, e) => data.subarray(b, e));
  }

  /**
   * A file whose data is read on demand: `head` holds the 8-byte length and the JSON header,
   * `dataBytes` is the size of the data section (every entry is checked against it, so a truncated
   * file fails here), `read(begin, end)` returns those bytes of the data section (e.g. a positioned
   * file read), called once per tensor access.
   */
  static fromHeader(head: Uint8Array, dataBytes: number, read: (begin: number, end: number) => Uint8Array): SafetensorsFile {
    const n = readHeaderLength(head);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + n)));
    } catch (e) {
      throw new HsaError('E_BAD_CHECKPOINT', `safetensors: header is not valid UTF-8 JSON (${(e as Error).message})`, {
        cause: e,
      });
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header JSON is not an object');
    let metadata: Record<string, string> = {};
    const tensors = new Map<string, SafetensorsEntry>();
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') metadata = checkMetadata(raw);
      else tensors.set(name, checkEntry(name, raw, dataBytes));
    }
    checkNoOverlap([...tensors.values()]);
    return new SafetensorsFile(read, metadata, tensors);
  }

  /** Length of the header (8-byte length + JSON) that starts `bytes` (the first 8 bytes suffice). */
  static headerBytes(first8: Uint8Array): number {
    const dv = new DataView(first8.buffer, first8.byteOffset, 8);
    return 8 + dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  }

  get names(): string[] {
    return [...this.tensors.keys()];
  }

  entry(name: string): SafetensorsEntry {
    const e = this.tensors.get(name);
    if (!e) throw bad(`no tensor '${name}' in the file (it holds ${this.tensors.size} tensors)`);
    return e;
  }

  /** The tensor's raw little-endian bytes (a view of a parsed buffer, or freshly read for a lazy file). */
  bytes(name: string): Uint8Array {
    const e = this.entry(name);
    return this.read(e.begin, e.end);
  }

  /** F32 / F16 / BF16 (and the integer dtypes, converted) as f32 values. */
  float32(name: string): Float32Array {
    const e = this.entry(name);
    const b = this.bytes(name);
    if (e.dtype === 'F32') {
      const a = aligned(b, 4);
      return new Float32Array(a.buffer, a.byteOffset, a.byteLength / 4);
    }
    if (e.dtype === 'F16' || e.dtype === 'BF16') {
      const conv = e.dtype === 'F16' ? f16ToF32 : bf16ToF32;
      return Float32Array.from(this.half16(name), conv);
    }
    return Float32Array.from(this.int32(name));
  }

  /** Raw 16-bit words of an F16 or BF16 tensor (what a packed-16 `Tensor` stores). */
  half16(name: string): Uint16Array {
    const e = this.entry(name);
    if (e.dtype !== 'F16' && e.dtype !== 'BF16') throw bad(`tensor '${name}' is ${e.dtype}, not F16 or BF16`);
    const b = aligned(this.bytes(name), 2);
    return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  }

  /** I32 / I64 (range-checked) / U32 (range-checked) / U8 as i32 values. */
  int32(name: string): Int32Array {
    const e = this.entry(name);
    const b = aligned(this.bytes(name), e.dtype === 'I64' ? 8 : DTYPE_BYTES[e.dtype]);
    switch (e.dtype) {
      case 'I32':
        return new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      case 'U8':
        return Int32Array.from(b);
      case 'U32':
        return toI32(name, new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4));
      case 'I64':
        return toI32(name, new BigInt64Array(b.buffer, b.byteOffset, b.byteLength / 8));
      default:
        throw bad(`tensor '${name}' is ${e.dtype}, not an integer dtype (I32, I64, U32, U8)`);
    }
  }
}

/** `b` itself when its offset is a multiple of `align`, else an aligned copy. */
function aligned(b: Uint8Array, align: number): Uint8Array {
  return b.byteOffset % align === 0 ? b : b.slice();
}

function toI32(name: string, src: BigInt64Array | Uint32Array): Int32Array {
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (v < -(2 ** 31) || v > 2 ** 31 - 1) {
      throw bad(`tensor '${name}': element ${i} = ${src[i]} does not fit in i32`);
    }
    out[i] = v;
  }
  return out;
}

/** A tensor to write: typed data matching its dtype (F16/BF16 as raw 16-bit words or f32 values). */
export interface SafetensorsTensorInput {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint32Array | Uint8Array;
}

function encodeData(name: string, t: SafetensorsTensorInput): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`serializeSafetensors: tensor '${name}' has invalid shape [${t.shape.join(', ')}]`);
  }
  if (t.data.length !== n) {
    throw new ShapeError(`serializeSafetensors: tensor '${name}': ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
  let d: ArrayBufferView = t.data;
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && !(t.data instanceof Uint16Array)) {
    d = packHalf(t.data as ArrayLike<number>, t.dtype === 'F16' ? 'f16' : 'bf16');
  } else if (t.dtype === 'I64' && !(t.data instanceof BigInt64Array)) {
    d = BigInt64Array.from(t.data as ArrayLike<number>, (v) => BigInt(v));
  }
  const bytes = n * DTYPE_BYTES[t.dtype];
  if (d.byteLength < bytes) {
    throw new DTypeError(`serializeSafetensors: tensor '${name}': ${t.data.constructor.name} does not hold ${t.dtype} data`);
  }
  return new Uint8Array(d.buffer, d.byteOffset, bytes);
}

/**
 * Writes a safetensors file: tensors ordered by element size (largest first) then name, as the Python
 * library does, so wide elements stay aligned; header padded with spaces to a multiple of 8.
 * Assumes a little-endian host (every browser and Node platform in use).
 */
export function serializeSafetensors(
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort(
    (a, b) => DTYPE_BYTES[tensors[b].dtype] - DTYPE_BYTES[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = checkMetadata(metadata);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new ArgumentError(`serializeSafetensors: '__metadata__' is not a tensor name`);
    const t = tensors[name];
    if (!isDType(t.dtype)) {
      throw new DTypeError(`serializeSafetensors: tensor '${name}': dtype ${t.dtype} (supported: ${SAFETENSORS_DTYPES.join(', ')})`);
    }
    const bytes = encodeData(name, t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, padded % 2 ** 32, true);
  dv.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
