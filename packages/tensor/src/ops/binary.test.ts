import { BINARY_OPS, type BinaryOp, binary as binaryKernel, DTypeError, PORTABLE_CAPS, ShapeError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { contiguousStrides, numel, type Shape, Tensor } from '../tensor.js';
import { EPS32, expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import { add, binary, broadcastShapes, maximum, pow, scale } from './binary.js';

const F64: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: Math.max,
  min: Math.min,
  pow: (a, b) => a ** b,
};

/** float64 oracle: unravel each output index and read a and b right-aligned, size-1 dims pinned. */
function oracle(op: BinaryOp, a: Float32Array, as: Shape, b: Float32Array, bs: Shape, out: Shape): Float64Array {
  const res = new Float64Array(numel(out));
  const at = (x: Float32Array, s: Shape, idx: number[]) => {
    let off = 0;
    for (let k = 0; k < s.length; k++) off = off * s[k] + (s[k] === 1 ? 0 : idx[idx.length - s.length + k]);
    return x[off];
  };
  for (let e = 0; e < res.length; e++) {
    const idx: number[] = [];
    let r = e;
    for (let k = out.length - 1; k >= 0; k--) {
      idx[k] = r % out[k];
      r = Math.floor(r / out[k]);
    }
    res[e] = F64[op](at(a, as, idx), at(b, bs, idx));
  }
  return res;
}

/**
 * add..min are correctly rounded in f32 (ε/2 relative). pow goes through exp2(b·log2|a|) in WGSL:
 * an absolute error δ in b·log2|a| becomes a relative error δ·ln2, and log2/exp2 are a few ulp each,
 * so the bound is relative (|b·log2|a|| + 4)·2⁻¹⁹ (|b·log2 a| ≤ 8 here).
 */
function tol(op: BinaryOp, want: number, a: number, b: number): number {
  const rel = op === 'pow' ? (Math.abs(b * Math.log2(Math.abs(a))) + 4) * 2 ** -19 : EPS32;
  return rel * Math.abs(want) + 1e-30;
}

const CASES: [Shape, Shape][] = [
  [[70_001], [70_001]],
  // flat with n a multiple of 4: four elements a thread (vec4), a partial last workgroup
  [[1028, 7], [1028, 7]],
  [[4], [4]],
  [[7, 13], [13]],
  [[1, 5, 1], [3, 1, 4]],
  [[257, 1], [1]],
  [[2, 1, 3, 1, 5, 2], [3, 7, 1, 2]],
  [[], [31, 3]],
];

function inputs(op: BinaryOp, n: number, seed: number, isB: boolean): Float32Array {
  // pow: positive bases in [1/4, 4] with exponents in [-4, 4]; negative bases are tested separately
  if (op === 'pow') return isB ? randF32(n, seed, -4, 4) : randF32(n, seed, 0.25, 4);
  // div: keep the divisor away from 0
  if (op === 'div' && isB) return randF32(n, seed, 0.5, 4).map((v, i) => (i % 2 ? -v : v));
  return randF32(n, seed, -8, 8);
}

describe.each(testBackends())('binary on %s', (_name, make) => {
  it.each(BINARY_OPS)('%s broadcasts like NumPy vs float64', async (op) => {
    const b = await make();
    for (const [sa, sb] of CASES) {
      const seed = freshSeed();
      const out = broadcastShapes(op, sa, sb);
      const xa = inputs(op, numel(sa), seed, false);
      const xb = inputs(op, numel(sb), seed + 1, true);
      const ta = Tensor.from(b, xa, sa);
      const tb = Tensor.from(b, xb, sb);
      const y = binary(op, ta, tb);
      expect(y.shape).toEqual(out);
      const want = oracle(op, xa, sa, xb, sb, out);
      const got = await y.data();
      // a and b per output element (adding zeros), for the pow bound
      const aOut = op === 'pow' ? oracle('add', xa, sa, new Float32Array(numel(sb)), sb, out) : null;
      const bOut = op === 'pow' ? oracle('add', new Float32Array(numel(sa)), sa, xb, sb, out) : null;
      expectClose(got, want, (i) => tol(op, want[i], aOut?.[i] ?? 1, bOut?.[i] ?? 0), `${op} ${sa}|${sb} seed=${seed}`);
      for (const t of [ta, tb, y]) t.dispose();
    }
  });

  it('takes the vec4 flat program where n is a multiple of 4 (not pow), the scalar one elsewhere', () => {
    const p = (op: BinaryOp, shape: number[]) => ({ op, shape, aStrides: contiguousStrides(shape), bStrides: contiguousStrides(shape) });
    expect(binaryKernel.program(p('add', [1028, 7]), PORTABLE_CAPS).key).toBe('binary:add:flat4');
    expect(binaryKernel.program(p('add', [70_001]), PORTABLE_CAPS).key).toBe('binary:add:flat');
    expect(binaryKernel.program(p('pow', [8]), PORTABLE_CAPS).key).toBe('binary:pow:flat');
  });

  it('pow of negative bases: integer exponents keep the sign, others give NaN', async () => {
    const b = await make();
    const ta = Tensor.from(b, [-2, -2, -3, -0.5, 0, 0, 2], [7]);
    const tb = Tensor.from(b, [3, 2, 0.5, -3, 2, 0, -1], [7]);
    const got = await pow(ta, tb).data();
    expectClose(got, [-8, 4, Number.NaN, -8, 0, 1, 0.5], (i) => 2 ** -18 * Math.abs([8, 4, 1, 8, 1, 1, 1][i]));
  });

  it('reads non-contiguous views and scalar forms', async () => {
    const b = await make();
    const seed = freshSeed();
    const x = randF32(6 * 5, seed, -3, 3);
    const t = Tensor.from(b, x, [6, 5]);
    const tt = t.transpose(); // [5, 6]
    const s = Tensor.from(b, [0.25, -1, 2, 3, 4, 5], [6]);
    const got = await add(tt, s).data();
    const want = Array.from({ length: 30 }, (_, e) => x[(e % 6) * 5 + Math.floor(e / 6)] + [0.25, -1, 2, 3, 4, 5][e % 6]);
    expectClose(got, want, (i) => EPS32 * Math.abs(want[i]), `view seed=${seed}`);
    const sc = await scale(t, 0.1).data();
    expectClose(sc, Array.from(x, (v) => v * Math.fround(0.1)), (i) => EPS32 * Math.abs(x[i]), 'scale');
    const mx = await maximum(t, 0).data();
    expectClose(mx, Array.from(x, (v) => Math.max(v, 0)), 0, 'maximum scalar');
  });

  it('rejects bad shapes, dtypes and ranks with typed errors', async () => {
    const b = await make();
    const a = Tensor.from(b, new Float32Array(6), [2, 3]);
    const c = Tensor.from(b, new Float32Array(4), [4]);
    expect(() => add(a, c)).toThrow(ShapeError);
    expect(() => add(a, c)).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast/);
    const i = Tensor.from(b, [1, 2, 3], [3], 'i32');
    expect(() => add(a, i)).toThrow(DTypeError);
    const r7 = Tensor.from(b, [1], [1, 1, 1, 1, 1, 1, 1]);
    expect(() => add(r7, a)).toThrow(/rank 7 > 6/);
  });
});
