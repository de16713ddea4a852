/**
 * softmax over the last axis, numerically stable: y = exp(x − max x) / Σ exp(x − max x), f32.
 * v1: one workgroup of 256 per row (2-D grid for > 65535 rows): a strided pass for the max and one
 * for Σexp, each closed by a tree reduction in workgroup memory (2 KiB), then a pass writing y.
 */
import { type BufferBinding, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type SoftmaxParams, softmaxRef } from './softmax.ref.js';
import { softmaxWgsl } from './softmax.wgsl.js';

const WG = 256;
const U = defineUniforms({ rows: 'u32', n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

export const softmax: Kernel<SoftmaxParams> = {
  name: 'softmax',
  ref: (arrays, p) => softmaxRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'softmax',
    code: () => softmaxWgsl(WG, `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`),
    buffers: BUFFERS,
    uniforms: U.pack({ rows: p.rows, n: p.n }),
    workgroups: p.rows === 0 || p.n === 0 ? [0, 1, 1] : grid(p.rows, caps),
  }),
};
