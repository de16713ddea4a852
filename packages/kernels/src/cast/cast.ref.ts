/**
 * castForward: out[i] = convert(x[i]) between f32, i32 and packed f16/bf16. To f16/bf16: round to
 * nearest even with subnormals, overflow to ±∞, NaN stays NaN (as f32ToF16 / f32ToBf16). i32 → f32
 * rounds to nearest even; f32 → i32 truncates toward 0, saturates, and maps NaN to 0.
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, type TypedArray } from '../core/dtype.js';

export type CastType = 'f32' | 'i32' | 'f16' | 'bf16';

export interface CastParams {
  /** element count */
  n: number;
  from: CastType;
  to: CastType;
}

/** f32 value → i32: toward zero, saturating, NaN → 0. */
export function f32ToI32(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (v >= 2147483648) return 2147483647;
  if (v < -2147483648) return -2147483648;
  return Math.trunc(v);
}

const DECODE: Record<CastType, (v: number) => number> = {
  f32: (v) => v,
  i32: Math.fround,
  f16: f16ToF32,
  bf16: bf16ToF32,
};
const ENCODE: Record<CastType, (v: number) => number> = {
  f32: (v) => v,
  i32: f32ToI32,
  f16: f32ToF16,
  bf16: f32ToBf16,
};

export function castRef([x, out]: TypedArray[], p: CastParams): void {
  const dec = DECODE[p.from];
  const enc = ENCODE[p.to];
  for (let i = 0; i < p.n; i++) out[i] = enc(dec(x[i]));
  // the high half of a packed output's last word is zero, as on the GPU
  if ((p.to === 'f16' || p.to === 'bf16') && p.n & 1 && out.length > p.n) out[p.n] = 0;
}
