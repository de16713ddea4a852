/**
 * fillForward: every 32-bit word of the output = `pattern` (an f32/i32/u32 value's bits, or a 16-bit
 * value repeated in both halves); arangeForward: out[i] = start + i·step (f32: the product and the sum
 * each rounded to f32; i32: wrapping integer arithmetic).
 */
import type { TypedArray } from '../core/dtype.js';

export interface FillParams {
  /** 32-bit words to write */
  words: number;
  /** u32 bits of each word */
  pattern: number;
}

export interface ArangeParams {
  n: number;
  start: number;
  step: number;
  type: 'f32' | 'i32';
}

export function fillRef([out]: TypedArray[], p: FillParams): void {
  new Uint32Array(out.buffer, out.byteOffset, p.words).fill(p.pattern);
}

export function arangeRef([out]: TypedArray[], p: ArangeParams): void {
  for (let i = 0; i < p.n; i++) {
    out[i] = p.type === 'i32' ? (p.start + Math.imul(i, p.step)) | 0 : Math.fround(p.start + Math.fround(i * p.step));
  }
}
