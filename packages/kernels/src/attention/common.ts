/**
 * Shared pieces of the attention references: argument guards (typed errors naming the op) and the
 * scalar helpers whose exact form the reference fixes (softplus with threshold 15).
 */
import type { FloatArray } from '../core/dtype.js';
import { ArgumentError, ShapeError } from '../core/errors.js';

/** Query heads per KV head (GQA, repeat-interleave: query head h uses KV head floor(h / ratio)). */
export function headRatio(op: string, hq: number, hk: number): number {
  positiveInt(op, 'hq', hq);
  positiveInt(op, 'hk', hk);
  if (hq % hk !== 0) throw new ShapeError(`${op}: ${hq} query heads do not divide into ${hk} KV heads`);
  return hq / hk;
}

export function positiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${v}`);
}

export function nonNegativeInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`${op}: ${name} must be a non-negative integer, got ${v}`);
}

/** Throws a ShapeError unless `a` holds at least `n` elements. */
export function needLength(op: string, name: string, a: ArrayLike<number>, n: number, shape: string): void {
  if (a.length < n) throw new ShapeError(`${op}: ${name} has ${a.length} elements, shape ${shape} needs ${n}`);
}

/** softplus with PyTorch's threshold 15: x for x > 15, else log(1 + eᵡ). */
export const softplus15 = (x: number): number => (x > 15 ? x : Math.log1p(Math.exp(x)));

/** d softplus15 / dx: σ(x) below the threshold, 1 above it. */
export const softplus15Grad = (x: number): number => (x > 15 ? 1 : 1 / (1 + Math.exp(-x)));

/** Σ_d a[ia + d]·b[ib + d]. */
export function dot(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, n: number): number {
  let s = 0;
  for (let d = 0; d < n; d++) s += a[ia + d] * b[ib + d];
  return s;
}

/** y[iy + d] += alpha·x[ix + d] for d < n. */
export function axpy(alpha: number, x: ArrayLike<number>, ix: number, y: { [i: number]: number }, iy: number, n: number): void {
  for (let d = 0; d < n; d++) y[iy + d] += alpha * x[ix + d];
}

/**
 * acc[i] += Σ_j p[j − lo]·v[vo + (j − lo)·vs + i] over j = lo..hi in j order; four keys per pass
 * (the same sequence of float64 roundings per acc[i], a quarter of the acc loads and stores).
 */
export function weightedSum(p: Float64Array, v: FloatArray, lo: number, hi: number, vo: number, vs: number, acc: Float64Array, d: number): void {
  let j = lo;
  for (; j + 3 <= hi; j += 4) {
    const [w0, w1, w2, w3] = [p[j - lo], p[j - lo + 1], p[j - lo + 2], p[j - lo + 3]];
    const v0 = vo + (j - lo) * vs;
    const v1 = v0 + vs;
    const v2 = v1 + vs;
    const v3 = v2 + vs;
    for (let i = 0; i < d; i++) acc[i] = acc[i] + w0 * v[v0 + i] + w1 * v[v1 + i] + w2 * v[v2 + i] + w3 * v[v3 + i];
  }
  for (; j <= hi; j++) {
    const w = p[j - lo];
    const o = vo + (j - lo) * vs;
    for (let i = 0; i < d; i++) acc[i] += w * v[o + i];
  }
}
