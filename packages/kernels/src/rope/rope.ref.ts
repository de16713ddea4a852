/**
 * ropeForward, rotate-half (GPT-NeoX / Llama HF layout, not interleaved), x [..., T, H, D]:
 *   y[:D/2] = x[:D/2]·cos − x[D/2:]·sin,  y[D/2:] = x[D/2:]·cos + x[:D/2]·sin,
 * with inv_freq f_i = fp32(1 / fp32(theta ^ fp32(2i / D))) as `1 / theta ** (arange(0, D, 2).float() / D)`
 * and the angle of an integer position p (|p| ≤ 2³⁰) built from f32 steps (ropeAngle):
 *   |p| < 4096: angle = fp32(p·f_i), bit-for-bit PyTorch's `pos.float() @ inv_freq` (the trained range);
 *   beyond: |p| = l + 4096·h₀ + 2²¹·h₁ (l < 4096, h₀ < 512, h₁ ≤ 512) and
 *     angle = R(fp32(l·f_i)) + (R(fp32(h₀·K0_i)) + R(fp32(h₁·K1_i))),
 *     K0_i = fp32(4096·f_i mods 2π), K1_i = fp32(2²¹·f_i mods 2π) (host constants, ropeFreqs),
 *   with x mods 2π the remainder in [−π, π] (so |K| ≤ π) and R a Cody–Waite reduction of an f32 to
 *   about [−π, π]. The split is of |p|, and angle(−p) = −angle(p) exactly, so the autograd backward
 *   (rope at −pos) is the exact inverse rotation.
 * Why not PyTorch's product everywhere: fp32(p·f) is off by up to ulp/2 (0.125 rad at 4M, 0.5 rad at
 * 16M for f ≈ 1), which scrambles the sliding-window attention's high-frequency pairs: at 16M tokens
 * the model retrieved the needle chunk but answered wrongly. Error against the exact p·f_i mod 2π
 * (f_i the fp32 inv_freq): at most 2⁻¹³ (l·f) + 4·2⁻¹⁴ (two K roundings ×≤512, two products < 2048)
 * + ~2e-6 ≈ 3.7e-4 rad; measured max 2.4e-4 rad over 10⁶ random (p, i) each for D = 128,
 * θ = 10⁴ and 5·10⁵, |p| ≤ 2³⁰ (v1's fp32(fp32(p)·f): 0.5 rad just below 2²⁴, 1.4 rad just above,
 * where p itself rounds).
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
  /** rotate by −pos instead (the backward of a rotation; exact: angle(−p) = −angle(p)) */
  negate?: boolean;
}

/**
 * The guaranteed |ropeAngle − exact p·f mod 2π| for |p| ≤ 2³⁰, rad: 2⁻¹³ (l·f) + 4·2⁻¹⁴ (the two K
 * roundings and products) + ~2e-6 (see the header).
 */
export const ROPE_ANGLE_BOUND = 2 ** -13 + 2 ** -12 + 2e-6;

const TWO_PI = 2 * Math.PI;
/** 2π = HI + LO with HI = 201/32 (8 significant bits): n·HI is exact in f32 for |n| < 2¹⁶. */
export const TWO_PI_HI = 6.28125;
export const TWO_PI_LO = Math.fround(TWO_PI - TWO_PI_HI);
export const INV_TWO_PI = Math.fround(1 / TWO_PI);

/** inv_freq in fp32, bit-for-bit as HF computes it in fp32 (f64 pow then one rounding ≈ powf). */
export function ropeInvFreq(d: number, theta: number): Float32Array {
  const out = new Float32Array(d / 2);
  const base = Math.fround(theta);
  for (let i = 0; i < d / 2; i++) out[i] = 1 / Math.fround(base ** Math.fround((2 * i) / d));
  return out;
}

/** x − 2π·round(x / 2π) in float64 (fmod is exact; the f64 2π is off by 2.4e-16, ×2¹⁸ at most). */
function mods2pi(x: number): number {
  const r = x % TWO_PI;
  return r > Math.PI ? r - TWO_PI : r < -Math.PI ? r + TWO_PI : r;
}

/**
 * The f32 table [3, D/2] the kernel reads: row 0 inv_freq f_i, row 1 K0_i = 4096·f_i mods 2π, row 2
 * K1_i = 2²¹·f_i mods 2π, each from the fp32 f_i in float64 and rounded once (|K| ≤ π, so ±2⁻²³).
 */
export function ropeFreqs(d: number, theta: number): Float32Array {
  const half = d / 2;
  const inv = ropeInvFreq(d, theta);
  const out = new Float32Array(3 * half);
  out.set(inv);
  for (let i = 0; i < half; i++) {
    out[half + i] = mods2pi(4096 * inv[i]);
    out[2 * half + i] = mods2pi(2 ** 21 * inv[i]);
  }
  return out;
}

/** Round half to even, as WGSL's round(). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x to about [−π, π] in f32 steps, as the kernel's reduce2pi: n·HI and x − n·HI are exact. */
function reduce2pi(x: number): number {
  const n = roundEven(Math.fround(x * INV_TWO_PI));
  return Math.fround(Math.fround(x - n * TWO_PI_HI) - Math.fround(n * TWO_PI_LO));
}

/** The f32 angle of integer position p (|p| ≤ 2³⁰) for inv_freq f and its K0, K1 (see the header). */
export function ropeAngle(p: number, f: number, k0: number, k1: number): number {
  const a = Math.abs(p);
  const lf = Math.fround((a & 4095) * f);
  const h = a >>> 12;
  if (h === 0) return p < 0 ? -lf : lf;
  const hk = Math.fround(reduce2pi(Math.fround((h & 511) * k0)) + reduce2pi(Math.fround((h >>> 9) * k1)));
  const angle = Math.fround(reduce2pi(lf) + hk);
  return p < 0 ? -angle : angle;
}

/** Arrays: x, freqs [3, D/2] (ropeFreqs), (positions i32 in 'tensor' mode), out. */
export function ropeRef(arrays: (FloatArray | Int32Array)[], p: RopeParams): void {
  const [x, freqs] = arrays;
  const pos = p.posMode === 'tensor' ? arrays[2] : null;
  const out = arrays[arrays.length - 1];
  const half = p.d / 2;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let b = 0; b < p.batch; b++) {
    for (let t = 0; t < p.t; t++) {
      const position = (p.negate ? -1 : 1) * (pos ? pos[b * p.posBatchStride + t] : p.offset + t);
      for (let i = 0; i < half; i++) {
        const a = ropeAngle(position, freqs[i], freqs[half + i], freqs[2 * half + i]);
        cos[i] = Math.cos(a);
        sin[i] = Math.sin(a);
      }
      for (let hh = 0; hh < p.h; hh++) {
        const base = ((b * p.t + t) * p.h + hh) * p.d;
        for (let i = 0; i < half; i++) {
          const x1 = x[base + i];
          const x2 = x[base + i + half];
          out[base + i] = x1 * cos[i] - x2 * sin[i];
          out[base + i + half] = x2 * cos[i] + x1 * sin[i];
        }
      }
    }
  }
}
