/**
 * Element types. f16 and bf16 are storage-only: two values packed per u32 word (element 2i in the
 * low half), unpacked to f32 in shaders with core WGSL, so no `shader-f16` is needed.
 */
export type DType = 'f32' | 'i32' | 'u32' | 'f16' | 'bf16';

export const DTYPES: readonly DType[] = ['f32', 'i32', 'u32', 'f16', 'bf16'];

/** Bytes per element (2 for the packed 16-bit types). */
export function dtypeBytes(dtype: DType): number {
  return dtype === 'f16' || dtype === 'bf16' ? 2 : 4;
}

/** True for the 16-bit float storage types. */
export function isPacked16(dtype: DType): boolean {
  return dtype === 'f16' || dtype === 'bf16';
}

/** Any typed array a reference may be run on. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint16Array;

/** Float arrays: references are generic over these so tests can run them in float64. */
export type FloatArray = Float32Array | Float64Array;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 → bf16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits → f32 value. */
export function bf16ToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** f32 → IEEE half bits, round to nearest even, with subnormals, overflow to ±inf. */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** IEEE half bits → f32 value. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Pack float values into 16-bit storage (Uint16Array; its buffer is what the GPU receives). */
export function packHalf(values: ArrayLike<number>, dtype: 'f16' | 'bf16'): Uint16Array {
  const out = new Uint16Array(values.length + (values.length & 1));
  const conv = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i]);
  return out;
}

/** Unpack 16-bit storage into f32 values. */
export function unpackHalf(bits: Uint16Array, dtype: 'f16' | 'bf16', length = bits.length): Float32Array {
  const out = new Float32Array(length);
  const conv = dtype === 'bf16' ? bf16ToF32 : f16ToF32;
  for (let i = 0; i < length; i++) out[i] = conv(bits[i]);
  return out;
}

/** WGSL helpers that read element i of a packed 16-bit array `arr` (array<u32>). */
export function wgslHalfLoad(fn: string, arr: string, dtype: 'f16' | 'bf16'): string {
  const body =
    dtype === 'bf16'
      ? `let w = ${arr}[i >> 1u]; return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));`
      : `return unpack2x16float(${arr}[i >> 1u])[i & 1u];`;
  return `fn ${fn}(i: u32) -> f32 { ${body} }`;
}
