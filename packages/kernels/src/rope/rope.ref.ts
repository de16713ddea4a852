/**
 * ropeForward, rotate-half (GPT-NeoX / Llama HF layout, not interleaved), x [..., T, H, D]:
 *   y[:D/2] = x[:D/2]·cos − x[D/2:]·sin,  y[D/2:] = x[D/2:]·cos + x[:D/2]·sin,
 * with angle_i = fp32(fp32(pos) · inv_freq_i) exactly as PyTorch forms `pos.float() @ inv_freq`, and
 * inv_freq_i = fp32(1 / fp32(theta ^ fp32(2i / D))) as `1 / theta ** (arange(0, D, 2).float() / D)`.
 */
import type { FloatArray } from '../core/dtype.js';

export interface RopeParams {
  /** product of the leading dims of x */
  batch: number;
  t: number;
  h: number;
  /** head dim, even */
  d: number;
  /** 'offset': pos = offset + t; 'tensor': pos = positions[b·posBatchStride + t] (an i32 input) */
  posMode: 'offset' | 'tensor';
  offset: number;
  /** 0 when positions are [T] (shared by the batch), T when they are [batch, T] */
  posBatchStride: number;
}

/** inv_freq in fp32, bit-for-bit as HF computes it in fp32 (f64 pow then one rounding ≈ powf). */
export function ropeInvFreq(d: number, theta: number): Float32Array {
  const out = new Float32Array(d / 2);
  const base = Math.fround(theta);
  for (let i = 0; i < d / 2; i++) out[i] = 1 / Math.fround(base ** Math.fround((2 * i) / d));
  return out;
}

/** Arrays: x, invFreq [D/2], (positions i32 in 'tensor' mode), out. */
export function ropeRef(arrays: (FloatArray | Int32Array)[], p: RopeParams): void {
  const [x, invFreq] = arrays;
  const pos = p.posMode === 'tensor' ? arrays[2] : null;
  const out = arrays[arrays.length - 1];
  const half = p.d / 2;
  for (let b = 0; b < p.batch; b++) {
    for (let t = 0; t < p.t; t++) {
      const position = Math.fround(pos ? pos[b * p.posBatchStride + t] : p.offset + t);
      for (let hh = 0; hh < p.h; hh++) {
        const base = ((b * p.t + t) * p.h + hh) * p.d;
        for (let i = 0; i < half; i++) {
          const a = Math.fround(position * invFreq[i]);
          const c = Math.cos(a);
          const s = Math.sin(a);
          const x1 = x[base + i];
          const x2 = x[base + i + half];
          out[base + i] = x1 * c - x2 * s;
          out[base + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
}
