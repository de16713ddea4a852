/**
 * WGSL for `cast`. Every value travels as raw f32 bits (u32) so no float op can flush subnormals or
 * rewrite NaNs; the f16/bf16 encoders are integer ports of f32ToF16 / f32ToBf16.
 */
import type { CastType } from './cast.ref.js';

/** fn bitsOf(i) -> u32: the f32 bits of element i of `xs`. */
export const WGSL_BITS_OF: Record<CastType, string> = {
  f32: 'fn bitsOf(i: u32) -> u32 { return xs[i]; }',
  // hi·2¹⁶ and lo are exact in f32, so their sum is the one correctly rounded conversion
  i32: 'fn bitsOf(i: u32) -> u32 { let v = xs[i]; return bitcast<u32>(f32(v >> 16u) * 65536.0 + f32(v & 0xffff)); }',
  bf16: 'fn bitsOf(i: u32) -> u32 { return ((xs[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu) << 16u; }',
  f16: /* wgsl */ `fn bitsOf(i: u32) -> u32 {
  let h = (xs[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0x1fu) { return s | 0x7f800000u | (m << 13u); }
  if (e == 0u) { return s | bitcast<u32>(f32(m) * 5.9604644775390625e-8); }
  return s | ((e + 112u) << 23u) | (m << 13u);
}`,
};

export const WGSL_ENCODE_BF16 = /* wgsl */ `fn enc(b: u32) -> u32 {
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) { return ((b >> 16u) | 0x40u) & 0xffffu; }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}`;

export const WGSL_ENCODE_F16 = /* wgsl */ `fn enc(b: u32) -> u32 {
  let s = (b >> 16u) & 0x8000u;
  let x = (b >> 23u) & 0xffu;
  var m = b & 0x7fffffu;
  if (x == 0xffu) { return s | 0x7c00u | select(0u, 0x200u, m != 0u); }
  let e = i32(x) - 112;
  if (e >= 0x1f) { return s | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return s; }
    m |= 0x800000u;
    let sh = u32(14 - e);
    let mid = 1u << (sh - 1u);
    let rest = m & ((1u << sh) - 1u);
    var r = m >> sh;
    if (rest > mid || (rest == mid && (r & 1u) == 1u)) { r++; }
    return s | r;
  }
  var r = (u32(e) << 10u) | (m >> 13u);
  let rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1u) == 1u)) { r++; }
  return s | r;
}`;

export const WGSL_ENCODE_I32 = /* wgsl */ `fn enc(b: u32) -> i32 {
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0; }
  let f = bitcast<f32>(b);
  if (f >= 2147483648.0) { return 2147483647; }
  if (f < -2147483648.0) { return i32(-2147483647) - 1; }
  return i32(f);
}`;
