/**
 * unaryBackward: dx = dy · f'(x) elementwise for exp, sigmoid, silu and pow with a scalar exponent
 * (math in unaryBackward.ref.ts). v1: one element per thread as the forward; inputs x, y, dy (the op
 * binds the same buffer twice where f' needs only one of x and y).
 */
import { WGSL_POW_NP } from '../binary/binary.wgsl.js';
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';
import { type UnaryBackwardOp, type UnaryBackwardParams, unaryBackwardRef } from './unaryBackward.ref.js';

const U = defineUniforms({ n: 'u32', p: 'f32' });
const BUFFERS: BufferBinding[] = [
  { name: 'xs', access: 'read', type: 'f32' },
  { name: 'ys', access: 'read', type: 'f32' },
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'dx', access: 'read_write', type: 'f32' },
];

// sigmoid through e = exp(−|x|), as the forward, so large |x| neither overflows nor loses the tail
const SIGMOID = 'fn sig(x: f32) -> f32 { let e = exp(-abs(x)); return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0); }';

const EXPR: Record<UnaryBackwardOp, string> = {
  exp: 'g * y',
  sigmoid: 'g * y * (1.0 - y)',
  silu: 'g * sig(x) * (1.0 + x * (1.0 - sig(x)))',
  pow: 'select(g * u.p * pow_np(x, u.p - 1.0), 0.0, u.p == 0.0)',
};

const wgsl = (op: UnaryBackwardOp) =>
  elementwiseWgsl(
    `${U.wgsl('U')}\n${wgslBindings(BUFFERS, 'U')}`,
    '  dx[i] = f(xs[i], ys[i], dy[i]);',
    `${op === 'pow' ? WGSL_POW_NP : ''}\n${op === 'silu' ? SIGMOID : ''}\nfn f(x: f32, y: f32, g: f32) -> f32 { return ${EXPR[op]}; }`,
  );

export const unaryBackward: Kernel<UnaryBackwardParams> = {
  name: 'unaryBackward',
  ref: (arrays, p) => unaryBackwardRef(arrays as Float32Array[], p),
  program: (p, caps) => ({
    key: `unaryBackward:${p.op}`,
    code: () => wgsl(p.op),
    buffers: BUFFERS,
    uniforms: U.pack({ n: p.n, p: p.p ?? 0 }),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};
