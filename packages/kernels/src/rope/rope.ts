/**
 * rope: rotate-half rotary embedding of x [..., T, H, D] at positions offset + t or from an i32
 * tensor; the math is in rope.ref.ts. f32 in and out, inv_freq [D/2] an f32 input.
 * v1: one thread per (b, t, h, i < D/2) pair, 256 threads, 2-D grid. The angle is the fp32 product
 * fp32(pos)·inv_freq (PyTorch's rounding, not the exact pos·θ^(−2i/D)); its sin/cos are evaluated
 * accurately by sincos.wgsl.ts, not by WGSL's sin/cos.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, WGSL_LINEAR_WORKGROUP, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type RopeParams, ropeRef } from './rope.ref.js';
import { wgslSinCos } from './sincos.wgsl.js';

const WG = 256;
const U = defineUniforms({ count: 'u32', t: 'u32', h: 'u32', d: 'u32', offset: 'i32', posBatchStride: 'u32' });

function buffers(mode: RopeParams['posMode']): BufferBinding[] {
  return [
    { name: 'xs', access: 'read', type: 'f32' },
    { name: 'inv_freq', access: 'read', type: 'f32' },
    ...(mode === 'tensor' ? [{ name: 'positions', access: 'read', type: 'i32' } as const] : []),
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

function ropeWgsl(mode: RopeParams['posMode']): string {
  const pos = mode === 'tensor' ? 'positions[b * u.posBatchStride + t]' : 'u.offset + i32(t)';
  return /* wgsl */ `
${U.wgsl('U')}
${wgslBindings(buffers(mode), 'U')}
${wgslSinCos()}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let idx = ${WGSL_LINEAR_WORKGROUP} * ${WG}u + lid;
  if (idx >= u.count) { return; }
  let half = u.d / 2u;
  let i = idx % half;
  let bth = idx / half;
  let t = (bth / u.h) % u.t;
  let b = bth / (u.h * u.t);
  let base = bth * u.d;
  let angle = f32(${pos}) * inv_freq[i];
  let sc = sincos(angle);
  let x1 = xs[base + i];
  let x2 = xs[base + i + half];
  out[base + i] = x1 * sc.y - x2 * sc.x;
  out[base + i + half] = x2 * sc.y + x1 * sc.x;
}`;
}

export const rope: Kernel<RopeParams> = {
  name: 'rope',
  ref: (arrays, p) => ropeRef(arrays as (Float32Array | Int32Array)[], p),
  program(p, caps) {
    const count = (p.batch * p.t * p.h * p.d) / 2;
    return {
      key: `rope:${p.posMode}`,
      code: () => ropeWgsl(p.posMode),
      buffers: buffers(p.posMode),
      uniforms: U.pack({ count, t: p.t, h: p.h, d: p.d, offset: p.offset, posBatchStride: p.posBatchStride }),
      workgroups: count === 0 ? [0, 1, 1] : grid(ceilDiv(count, WG), caps),
    };
  },
};
