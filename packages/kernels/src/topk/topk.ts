/**
 * topk: the k largest entries of each row (values and indices, best first, ties by lower index), as a
 * tree of passes: each pass sorts chunks of ≤ 2048 candidates per workgroup and keeps k of each.
 * v1: bitonic sort in workgroup memory, ≤ 256 threads, one workgroup per (row, chunk), 2-D grid.
 */
import { type BufferBinding, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type TopkParams, topkRef } from './topk.ref.js';
import { topkWgsl } from './topk.wgsl.js';

const U = defineUniforms({ rows: 'u32', n: 'u32', len: 'u32', chunks: 'u32', k: 'u32' });

function buffers(first: boolean): BufferBinding[] {
  const b: BufferBinding[] = [{ name: 'xs', access: 'read', type: 'u32' }];
  if (!first) {
    b.push({ name: 'candK', access: 'read', type: 'u32' }, { name: 'candI', access: 'read', type: 'u32' });
  }
  b.push({ name: 'outA', access: 'read_write', type: 'u32' }, { name: 'outB', access: 'read_write', type: 'u32' });
  return b;
}

export const topk: Kernel<TopkParams> = {
  name: 'topk',
  ref: topkRef,
  program(p, caps) {
    const chunks = Math.ceil(p.len / p.chunk);
    const wg = Math.min(256, p.chunk / 2);
    const b = buffers(p.first);
    return {
      key: `topk:${p.chunk}:${p.first}:${p.final}`,
      code: () => topkWgsl(p.chunk, wg, p.first, p.final, `${U.wgsl('U')}\n${wgslBindings(b, 'U')}`),
      buffers: b,
      uniforms: U.pack({ rows: p.rows, n: p.n, len: p.len, chunks, k: p.k }),
      workgroups: grid(p.rows * chunks, caps),
    };
  },
};
