/**
 * rope: rotate-half rotary embedding of x [..., T, H, D] at positions offset + t or from an i32
 * tensor; the math is in rope.ref.ts. f32 in and out; freqs [3, D/2] (ropeFreqs: inv_freq, K0, K1) an
 * f32 input.
 * v1: one thread per (b, t, h, i < D/2) pair, 256 threads, 2-D grid. The angle was the fp32 product
 *     fp32(pos)·inv_freq (PyTorch's rounding), its sin/cos evaluated accurately by sincos.wgsl.ts.
 * v2: the angle is PyTorch's product only for |pos| < 4096 (the trained range, bit-for-bit); beyond,
 *     |pos| splits into l + 4096·h₀ + 2²¹·h₁ and the terms l·f, h₀·K0, h₁·K1 (K0, K1 = 4096·f and
 *     2²¹·f mod 2π from the host, rows 1 and 2 of `freqs`) are each reduced mod 2π before they are
 *     summed, so the angle is within 3.7e-4 rad of the exact pos·f mod 2π up to |pos| = 2³⁰ (the old
 *     product was 0.5 rad off at 16M: needle retrieved, answer wrong) and stays within about ±3π.
 *     Negative positions (the autograd backward) use angle(−p) = −angle(p).
 * v3: one thread per (b, t, i < D/2) for every head: the angle and its sin/cos depend on the position
 *     and i only, so they are computed once for the H heads (v2 computed them H times, with five
 *     integer divisions a pair); the results are the same bits.
 * `negate` rotates by −pos (a uniform: the autograd backward, no positions tensor to build).
 * A compiler may contract a product and the subtraction after it into an fma (WGSL allows it); that
 * skips a rounding of l·f, h₀·K0 or h₁·K1 and moves the angle by at most 2⁻¹² rad from rope.ref.ts.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { INV_TWO_PI, type RopeParams, ropeRef, TWO_PI_HI, TWO_PI_LO } from './rope.ref.js';
import { wgslSinCos } from './sincos.wgsl.js';

const WG = 256;
const U = defineUniforms({ count: 'u32', t: 'u32', h: 'u32', d: 'u32', offset: 'i32', posBatchStride: 'u32', sign: 'i32' });

function buffers(mode: RopeParams['posMode']): BufferBinding[] {
  return [
    { name: 'xs', access: 'read', type: 'f32' },
    { name: 'freqs', access: 'read', type: 'f32' },
    ...(mode === 'tensor' ? [{ name: 'positions', access: 'read', type: 'i32' } as const] : []),
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

const lit = (x: number) => Math.fround(x).toPrecision(9);

/** WGSL `rope_angle(p, i, half)`, step for step ropeAngle of rope.ref.ts; reads freqs [3, D/2]. */
function wgslRopeAngle(): string {
  return /* wgsl */ `
fn reduce2pi(x: f32) -> f32 {
  let n = round(x * ${lit(INV_TWO_PI)});
  return (x - n * ${TWO_PI_HI.toFixed(5)}) - n * ${lit(TWO_PI_LO)};
}
fn rope_angle(p: i32, i: u32, half: u32) -> f32 {
  let a = abs(p);
  let lf = f32(a & 4095) * freqs[i];
  let h = a >> 12u;
  var angle = lf;
  if (h != 0) {
    let hk = reduce2pi(f32(h & 511) * freqs[half + i]) + reduce2pi(f32(h >> 9u) * freqs[2u * half + i]);
    angle = reduce2pi(lf) + hk;
  }
  return select(angle, -angle, p < 0);
}`;
}

function ropeWgsl(mode: RopeParams['posMode']): string {
  const pos = mode === 'tensor' ? 'positions[b * u.posBatchStride + t]' : 'u.offset + i32(t)';
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(mode), 'U')}
${wgslSinCos()}
${wgslRopeAngle()}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (idx >= u.count) { return; }
  let half = u.d / 2u;
  let i = idx % half;
  let bt = idx / half;
  let t = bt % u.t;
  let b = bt / u.t;
  let sc = sincos(rope_angle(u.sign * (${pos}), i, half));
  for (var h = 0u; h < u.h; h++) {
    let base = (bt * u.h + h) * u.d;
    let x1 = xs[base + i];
    let x2 = xs[base + i + half];
    out[base + i] = x1 * sc.y - x2 * sc.x;
    out[base + i + half] = x2 * sc.y + x1 * sc.x;
  }
}`;
}

export const rope: Kernel<RopeParams> = {
  name: 'rope',
  ref: (arrays, p) => ropeRef(arrays as (Float32Array | Int32Array)[], p),
  program(p, caps) {
    // one thread per (b, t, i), looping over the heads
    const count = p.h === 0 ? 0 : (p.batch * p.t * p.d) / 2;
    return {
      key: `rope:${p.posMode}:v3`,
      code: () => ropeWgsl(p.posMode),
      buffers: buffers(p.posMode),
      uniforms: U.pack({ count, t: p.t, h: p.h, d: p.d, offset: p.offset, posBatchStride: p.posBatchStride, sign: p.negate ? -1 : 1 }),
      workgroups: count === 0 ? [0, 1, 1] : grid(ceilDiv(count, WG), caps),
    };
  },
};
