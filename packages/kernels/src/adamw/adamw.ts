/**
 * adamwStep: the fused AdamW update of one parameter tensor (math in the ref), param, m and v updated
 * in place from one read of the gradient.
 * v1: one element per thread, 256 threads, 2-D grid; hyper-parameters in the uniform struct, so a
 * new learning rate or step never recompiles.
 */
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type AdamwParams, adamwRef } from './adamw.ref.js';

const U = defineUniforms({
  n: 'u32',
  decay: 'f32',
  step: 'f32',
  sbc2: 'f32',
  beta1: 'f32',
  beta2: 'f32',
  eps: 'f32',
  gscale: 'f32',
});
const BUFFERS: BufferBinding[] = [
  { name: 'grad', access: 'read', type: 'f32' },
  { name: 'param', access: 'read_write', type: 'f32' },
  { name: 'ms', access: 'read_write', type: 'f32' },
  { name: 'vs', access: 'read_write', type: 'f32' },
];

const wgsl = () =>
  elementwiseWgsl(
    `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`,
    `  let g = grad[i] * u.gscale;
  let m = u.beta1 * ms[i] + (1.0 - u.beta1) * g;
  let v = u.beta2 * vs[i] + (1.0 - u.beta2) * g * g;
  ms[i] = m;
  vs[i] = v;
  param[i] = param[i] * u.decay - u.step * m / (sqrt(v) / u.sbc2 + u.eps);`,
  );

export const adamw: Kernel<AdamwParams> = {
  name: 'adamw',
  ref: (arrays, p) => adamwRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: 'adamw',
    code: wgsl,
    buffers: BUFFERS,
    uniforms: U.pack({
      n: p.n,
      decay: 1 - p.lr * p.weightDecay,
      step: p.lr / p.bc1,
      sbc2: Math.sqrt(p.bc2),
      beta1: p.beta1,
      beta2: p.beta2,
      eps: p.eps,
      gscale: p.gscale,
    }),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};
