/**
 * reduce: out[o, j] = ⊕_k x[o, k, j] over x viewed as [outer, R, inner] (sum, max, min, mean), f32.
 * v1: a thread per output looping over R (coalesced over j when inner > 1, the choice for short R);
 * v2: a workgroup of 256 per output, strided partials then a tree in workgroup memory (long R, or
 * too few outputs to fill the device). 2-D grid either way.
 * v3: `chunk` gives the first pass of a two-pass reduction (partials over runs of `chunk`, each a
 * workgroup), so a long axis with few outputs spreads over many workgroups; the op sums the partials
 * in a second call. Deterministic: fixed runs, fixed trees.
 * v4: `thread` four outputs a thread as vec4 where inner is a multiple of 4 (the training step's
 * split-K sums over [S, M·N]); the same order of additions per output.
 */
import { type BufferBinding, ceilDiv, type DeviceCaps, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type ReduceParams, reduceChunks, reduceRef } from './reduce.ref.js';
import { reduceThreadWgsl, reduceWorkgroupWgsl } from './reduce.wgsl.js';

const WG = 256;
const U = defineUniforms({ count: 'u32', r: 'u32', inner: 'u32', chunk: 'u32', nb: 'u32' });
const BUFFERS: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];
const HEADER = `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`;
const HEADER4 = `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U', 'vec4<f32>')}`;

/** Workgroup per output when R is long, or when there are too few outputs for a thread each. */
export function reduceVariant(p: ReduceParams): 'thread' | 'workgroup' {
  const outputs = p.outer * p.inner * reduceChunks(p);
  const len = p.chunk ?? p.r;
  return len > 256 || (len > 16 && outputs < 8192) ? 'workgroup' : 'thread';
}

/** Workgroups of a call: one per output, or one per WG threads of `perThread` outputs each. */
function workgroups(p: ReduceParams, caps: DeviceCaps, variant: 'thread' | 'workgroup', perThread: number): [number, number, number] {
  const outputs = p.outer * p.inner * reduceChunks(p);
  if (outputs === 0) return [0, 1, 1];
  return grid(variant === 'workgroup' ? outputs : ceilDiv(outputs / perThread, WG), caps);
}

export const reduce: Kernel<ReduceParams> = {
  name: 'reduce',
  ref: (arrays, p) => reduceRef(arrays as Float32Array[], p),
  program(p, caps) {
    const variant = reduceVariant(p);
    // the thread variant four outputs a thread where they are whole vec4s
    const four = variant === 'thread' && p.inner % 4 === 0;
    return {
      key: `reduce:${p.op}:${variant}${four ? '4' : ''}`,
      code: () => (variant === 'workgroup' ? reduceWorkgroupWgsl(p.op, WG, HEADER) : reduceThreadWgsl(p.op, WG, four ? HEADER4 : HEADER, four)),
      buffers: BUFFERS,
      uniforms: U.pack({ count: p.outer * p.inner * reduceChunks(p), r: p.r, inner: p.inner, chunk: p.chunk ?? p.r, nb: reduceChunks(p) }),
      workgroups: workgroups(p, caps, variant, four ? 4 : 1),
    };
  },
};
