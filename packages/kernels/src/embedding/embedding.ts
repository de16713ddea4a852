/**
 * embedding: out[t, :] = table[ids[t], :], table f32 or packed f16/bf16, output f32.
 * v1: one thread per output element, 256 threads, 2-D grid; bad ids give zero rows.
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type EmbeddingParams, embeddingRef } from './embedding.ref.js';
import { embeddingWgsl } from './embedding.wgsl.js';

const U = defineUniforms({ vocab: 'u32', d: 'u32', total: 'u32' });
const WG = 256;

function buffers(dtype: EmbeddingParams['dtype']): BufferBinding[] {
  return [
    { name: 'table', access: 'read', type: dtype === 'f32' ? 'f32' : 'u32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ];
}

export const embedding: Kernel<EmbeddingParams> = {
  name: 'embedding',
  ref: embeddingRef,
  program(p, caps) {
    const total = p.n * p.d;
    return {
      key: `embedding:${p.dtype}`,
      code: () => embeddingWgsl(p.dtype, WG, `${U.wgsl('U')}\n${wgslBindings(buffers(p.dtype), 'U')}`),
      buffers: buffers(p.dtype),
      uniforms: U.pack({ vocab: p.vocab, d: p.d, total }),
      workgroups: grid(ceilDiv(total, WG), caps),
    };
  },
};
