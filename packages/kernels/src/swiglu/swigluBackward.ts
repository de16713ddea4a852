/**
 * swigluBackward: dgate = dy·u·σ(g)·(1 + g·(1 − σ(g))), dup = dy·g·σ(g), fused, f32.
 * v1: one element per thread, 256 threads, 2-D grid (as the forward).
 */
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type SwigluBackwardParams, swigluBackwardRef } from './swigluBackward.ref.js';

const U = defineUniforms({ n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'gate', access: 'read', type: 'f32' },
  { name: 'up', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'dgate', access: 'read_write', type: 'f32' },
  { name: 'dup', access: 'read_write', type: 'f32' },
];

const wgsl = () =>
  elementwiseWgsl(
    `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`,
    `  let g = gate[i];
  let s = 1.0 / (1.0 + exp(-g));
  let d = dy[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;`,
  );

export const swigluBackward: Kernel<SwigluBackwardParams> = {
  name: 'swigluBackward',
  ref: (arrays, p) => swigluBackwardRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'swigluBackward',
    code: wgsl,
    buffers: BUFFERS,
    uniforms: U.pack({ n: p.n }),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};
