/**
 * unary: out = f(x), elementwise, f32.
 * v1: one element per thread, 256 threads, 2-D grid for > 65535 workgroups.
 */
import { elementwiseGrid } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type UnaryParams, unaryRef } from './unary.ref.js';
import { unaryWgsl } from './unary.wgsl.js';

const U = defineUniforms({ n: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

export const unary: Kernel<UnaryParams> = {
  name: 'unary',
  ref: (arrays, p) => unaryRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: `unary:${p.op}`,
    code: () => unaryWgsl(p.op, `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`),
    buffers: BUFFERS,
    uniforms: U.pack({ n: p.n }),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};
