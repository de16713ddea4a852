/**
 * stridedCopy: one thread per element; the index is unravelled over up to 6 dims in the shader.
 * v1: 256 threads, 2-D grid. The pipeline depends only on the element type, never on the shape.
 * v2: a copy whose source and destination are both contiguous over the shape (an entry of ag.unbind's
 *    gradient, a row block) is one flat range: no index arithmetic, and four elements a thread as a
 *    vec4 where the count and both offsets are multiples of 4 (v1's twelve u32 divisions per element
 *    made the step's 8–24 MB copies several times slower than a copy's bandwidth).
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

/** Both sides contiguous over the shape (size-1 dims aside): the copy is one flat range. */
function isFlat(p: CopyParams): boolean {
  let stride = 1;
  for (let d = p.shape.length - 1; d >= 0; d--) {
    if (p.shape[d] !== 1 && (p.srcStrides[d] !== stride || p.dstStrides[d] !== stride)) return false;
    stride *= p.shape[d];
  }
  return true;
}

/** The flat copy: element i (a vec4 of them with `four`) at its offset on either side. */
function flatWgsl(type: CopyParams['type'], four: boolean): string {
  return elementwiseWgsl(`${U.wgsl('U')}\n${wgslBindings(buffers(type), 'U', four ? `vec4<${type}>` : undefined)}`, '  out[u.dstOffset + i] = xs[u.srcOffset + i];');
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
    if (isFlat(p)) {
      const four = n % 4 === 0 && p.srcOffset % 4 === 0 && p.dstOffset % 4 === 0;
      const w = four ? 4 : 1;
      const values = Object.fromEntries(U.fields.map(([f]) => [f, 0]));
      Object.assign(values, { n: n / w, srcOffset: p.srcOffset / w, dstOffset: p.dstOffset / w });
      return {
        key: `stridedCopy:${p.type}:flat${four ? '4' : ''}`,
        code: () => flatWgsl(p.type, four),
        buffers: buffers(p.type),
        uniforms: U.pack(values),
        workgroups: elementwiseGrid(n / w, caps),
      };
    }
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
