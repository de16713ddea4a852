/**
 * binary: out = f(a, b) elementwise with NumPy broadcasting (rank ≤ 6), f32; binaryScalar: out =
 * f(x, s) with s in a uniform.
 * v1: one element per thread, 256 threads, 2-D grid; broadcast via per-dim strides in uniforms (0
 * for a broadcast dim), unravelled in the shader; a `flat` variant when no input is broadcast.
 * v2 flat: four elements a thread as vec4 where n is a multiple of 4 (not pow). H200, the training
 * step's 84 adds of 4096 × 512: see docs/benchmarks.md (training step).
 */
import { type BufferBinding, ceilDiv, grid, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import {
  BINARY_MAX_RANK,
  type BinaryParams,
  type BinaryScalarParams,
  binaryRef,
  binaryScalarRef,
} from './binary.ref.js';
import { binaryFlat4Wgsl, binaryScalarWgsl, binaryWgsl } from './binary.wgsl.js';

const WG = 256;
const DIMS = [0, 1, 2, 3, 4, 5];
const U = defineUniforms({
  n: 'u32',
  ...Object.fromEntries(DIMS.map((d) => [`shape${d}`, 'u32'])),
  ...Object.fromEntries(DIMS.map((d) => [`a${d}`, 'u32'])),
  ...Object.fromEntries(DIMS.map((d) => [`b${d}`, 'u32'])),
} as Record<string, 'u32'>);
const BUFFERS: BufferBinding[] = [
  { name: 'lhs', access: 'read', type: 'f32' },
  { name: 'rhs', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

const US = defineUniforms({ n: 'u32', scalar: 'f32' });
const BUFFERS_S: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

function isFlat(p: BinaryParams): boolean {
  const full = (s: readonly number[]) => {
    let acc = 1;
    for (let k = p.shape.length - 1; k >= 0; k--) {
      if (p.shape[k] !== 1 && s[k] !== acc) return false;
      acc *= p.shape[k];
    }
    return true;
  };
  return full(p.aStrides) && full(p.bStrides);
}

export const binary: Kernel<BinaryParams> = {
  name: 'binary',
  ref: (arrays, p) => binaryRef(arrays as Float32Array[], p),
  program(p, caps) {
    const rank = p.shape.length;
    if (rank > BINARY_MAX_RANK) throw new RangeError(`binary supports rank ≤ ${BINARY_MAX_RANK}, got ${rank}`);
    const pad = BINARY_MAX_RANK - rank;
    const n = p.shape.reduce((a, b) => a * b, 1);
    const values: Record<string, number> = { n };
    for (const d of DIMS) {
      values[`shape${d}`] = d < pad ? 1 : p.shape[d - pad];
      values[`a${d}`] = d < pad ? 0 : p.aStrides[d - pad];
      values[`b${d}`] = d < pad ? 0 : p.bStrides[d - pad];
    }
    const flat = isFlat(p);
    const op = p.op;
    // the flat case four elements a thread where they are whole vec4s (pow has no vec4 form)
    const four = flat && n % 4 === 0 && op !== 'pow';
    const header = `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U', four ? 'vec4<f32>' : undefined)}`;
    return {
      key: `binary:${op}:${four ? 'flat4' : flat ? 'flat' : 'strided'}`,
      code: () => (four ? binaryFlat4Wgsl(op, WG, header) : binaryWgsl(op, WG, header, flat)),
      buffers: BUFFERS,
      uniforms: U.pack(values),
      workgroups: grid(ceilDiv(four ? n / 4 : n, WG), caps),
    };
  },
};

export const binaryScalar: Kernel<BinaryScalarParams> = {
  name: 'binaryScalar',
  ref: (arrays, p) => binaryScalarRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: `binaryScalar:${p.op}`,
    code: () => binaryScalarWgsl(p.op, WG, `${US.wgsl('U')}\n${wgslBindings(BUFFERS_S, 'U')}`),
    buffers: BUFFERS_S,
    uniforms: US.pack({ n: p.n, scalar: p.scalar }),
    workgroups: grid(ceilDiv(p.n, WG), caps),
  }),
};
