/**
 * stridedCopy: one thread per element; the index is unravelled over up to 6 dims in the shader.
 * v1: 256 threads, 2-D grid. The pipeline depends only on the element type, never on the shape.
 */
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type CopyParams, copyRef, MAX_RANK } from './copy.ref.js';

const dims = [0, 1, 2, 3, 4, 5];
const U = defineUniforms({
  n: 'u32',
  srcOffset: 'u32',
  dstOffset: 'u32',
  ...Object.fromEntries(dims.map((d) => [`shape${d}`, 'u32'])),
  ...Object.fromEntries(dims.map((d) => [`src${d}`, 'u32'])),
  ...Object.fromEntries(dims.map((d) => [`dst${d}`, 'u32'])),
} as Record<string, 'u32'>);

function buffers(type: CopyParams['type']): BufferBinding[] {
  return [
    { name: 'xs', access: 'read', type },
    { name: 'out', access: 'read_write', type },
  ];
}

function copyWgsl(type: CopyParams['type']): string {
  const unravel = dims
    .slice()
    .reverse()
    .map((d) => `  { let c = r % u.shape${d}; r = r / u.shape${d}; s += c * u.src${d}; o += c * u.dst${d}; }`)
    .join('\n');
  return elementwiseWgsl(
    `${U.wgsl('U')}\n${wgslBindings(buffers(type), 'U')}`,
    `  var r = i;
  var s = u.srcOffset;
  var o = u.dstOffset;
${unravel}
  out[o] = xs[s];`,
  );
}

export const stridedCopy: Kernel<CopyParams> = {
  name: 'stridedCopy',
  ref: copyRef,
  program(p, caps) {
    const rank = p.shape.length;
    if (rank > MAX_RANK) throw new RangeError(`stridedCopy supports rank ≤ ${MAX_RANK}, got ${rank}`);
    const pad = MAX_RANK - rank;
    const n = p.shape.reduce((a, b) => a * b, 1);
    const values: Record<string, number> = { n, srcOffset: p.srcOffset, dstOffset: p.dstOffset };
    dims.forEach((d) => {
      values[`shape${d}`] = d < pad ? 1 : p.shape[d - pad];
      values[`src${d}`] = d < pad ? 0 : p.srcStrides[d - pad];
      values[`dst${d}`] = d < pad ? 0 : p.dstStrides[d - pad];
    });
    return {
      key: `stridedCopy:${p.type}`,
      code: () => copyWgsl(p.type),
      buffers: buffers(p.type),
      uniforms: U.pack(values),
      workgroups: elementwiseGrid(n, caps),
    };
  },
};
