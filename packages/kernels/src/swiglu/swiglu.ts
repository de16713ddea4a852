/**
 * swiglu: out = silu(gate) ⊙ up, fused (one read of each input, one write), f32.
 * v1: one element per thread, 256 threads, 2-D grid. silu(g) = g / (1 + exp(−g)): for g → −∞ the
 * denominator goes to +inf and the quotient to −0, never NaN.
 */
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type SwigluParams, swigluRef } from './swiglu.ref.js';

const U = defineUniforms({ n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'gate', access: 'read', type: 'f32' },
  { name: 'up', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

const swigluWgsl = () =>
  elementwiseWgsl(
    `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`,
    `  let g = gate[i];
  out[i] = g / (1.0 + exp(-g)) * up[i];`,
  );

export const swiglu: Kernel<SwigluParams> = {
  name: 'swiglu',
  ref: (arrays, p) => swigluRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'swiglu',
    code: swigluWgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ n: p.n }),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};
