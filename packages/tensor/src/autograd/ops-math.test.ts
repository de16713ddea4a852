/**
 * The math and join ops (div, maximum, minimum, exp, sigmoid, silu, pow, concat, slice): float64
 * analytic gradients against central finite differences on the CPU references, then each backend's
 * f32 gradients against those, on fresh random inputs of awkward shapes; plus the backward kernels
 * at sizes past one workgroup against float64 oracles written here.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { type GradCase, gradientSuites } from '../test-utils/gradcheck-suite.js';
import { expectClose, freshSeed, randF32, testBackends } from '../test-utils/index.js';
import * as ag from './index.js';
import { binaryGrads, unaryGrad } from './ops-math.js';

const CASES: GradCase[] = [
  { name: 'div (broadcast, b in [1, 3))', shapes: [[3, 7], [7]], f: ([a, b]) => ag.div(a, ag.addScalar(b, 2)) },
  { name: 'div by a number', shapes: [[13]], f: ([a]) => ag.div(a, -3) },
  { name: 'maximum (broadcast)', shapes: [[5, 3], [3]], f: ([a, b]) => ag.maximum(a, b) },
  { name: 'minimum (broadcast both ways)', shapes: [[2, 1, 5], [3, 1]], f: ([a, b]) => ag.minimum(a, b) },
  { name: 'maximum, minimum with a number', shapes: [[11]], f: ([x]) => ag.minimum(ag.maximum(x, 0), 0.5) },
  { name: 'maximum of a rank-0 tensor and a number', shapes: [[]], f: ([x]) => ag.div(ag.maximum(x, -2), 4) },
  { name: 'maximum, minimum ties (dy split evenly)', shapes: [[7]], f: ([x]) => ag.add(ag.maximum(x, x), ag.minimum(x, ag.scale(x, 1))) },
  { name: 'exp', shapes: [[13]], f: ([x]) => ag.exp(ag.scale(x, 3)) },
  { name: 'sigmoid', shapes: [[2, 7]], f: ([x]) => ag.sigmoid(ag.scale(x, 6)) },
  { name: 'silu', shapes: [[31]], f: ([x]) => ag.silu(ag.scale(x, 5)) },
  { name: 'pow 2.5 (x in [0.5, 2.5))', shapes: [[3, 5]], f: ([x]) => ag.pow(ag.addScalar(x, 1.5), 2.5) },
  { name: 'pow 3 and pow 0 (negative bases)', shapes: [[17]], f: ([x]) => ag.add(ag.pow(x, 3), ag.pow(x, 0)) },
  { name: 'concat on axis 1', shapes: [[2, 3], [2, 5], [2, 1]], f: ([a, b, c]) => ag.concat([a, b, c], 1) },
  { name: 'concat on axis -3, then slice', shapes: [[3, 2, 4], [1, 2, 4]], f: ([a, b]) => ag.slice(ag.concat([a, b], -3), 2, 1, 3) },
  { name: 'slice (a view) of a slice', shapes: [[5, 7]], f: ([x]) => ag.slice(ag.slice(x, 1, 2, 7), 0, 1, 4) },
];

// f32 elementwise ops and short sums: bounded relative to each tensor's largest gradient
gradientSuites('autograd math', CASES, 3e-5);

describe.each(testBackends())('math backward kernels on %s (past one workgroup)', (_, make) => {
  it('binaryGrads div, max over [67, 257] with b [257] (summed over 67 rows)', async () => {
    const be = await make();
    const seed = freshSeed();
    const [m, n] = [67, 257];
    const a = randF32(m * n, seed);
    // b has a repeated value of a on column 0 of row 0 (a tie) and is kept away from 0 for div
    const b = Float32Array.from(randF32(n, seed + 1), (v) => v + Math.sign(v || 1));
    b[0] = a[0];
    const dy = randF32(m * n, seed + 2);
    const want = { divA: new Float64Array(m * n), divB: new Float64Array(n), maxA: new Float64Array(m * n), maxB: new Float64Array(n) };
    // Σ |terms| of each divB sum: its f32 rounding error is bounded relative to this, not to 1
    // (b[0] is a value of a, which may lie close to 0)
    const divBAbs = new Float64Array(n);
    for (let r = 0; r < m; r++) {
      for (let j = 0; j < n; j++) {
        const [x, y, g] = [a[r * n + j], b[j], dy[r * n + j]];
        want.divA[r * n + j] = g / y;
        want.divB[j] -= (g * x) / (y * y);
        divBAbs[j] += Math.abs((g * x) / (y * y));
        const s = x === y ? 0.5 : x > y ? 1 : 0;
        want.maxA[r * n + j] = g * s;
        want.maxB[j] += g * (1 - s);
      }
    }
    const [ta, tb, td] = [Tensor.from(be, a, [m, n]), Tensor.from(be, b, [n]), Tensor.from(be, dy, [m, n])];
    const div = binaryGrads('div', ta, tb, td);
    const max = binaryGrads('max', ta, tb, td);
    const label = `seed ${seed}`;
    expectClose(await div.da.data(), want.divA, (i) => 4e-7 * Math.abs(want.divA[i]) + 1e-30, label);
    // b's gradients are sums of 67 f32 terms: error ≤ (67 + 1) unit roundoffs of their absolute sum
    expectClose(await div.db.data(), want.divB, (j) => 68 * 2 ** -24 * divBAbs[j] + 1e-30, label);
    expectClose(await max.da.data(), want.maxA, 0, label);
    expectClose(await max.db.data(), want.maxB, 67 * 2 ** -22, label);
    expect((await max.da.data())[0]).toBe(dy[0] / 2);
  });

  it('unaryGrad silu, sigmoid, pow over 70000 elements (a 2-D grid)', async () => {
    const be = await make();
    const seed = freshSeed();
    const n = 70_000;
    const x = randF32(n, seed, -8, 8);
    const dy = randF32(n, seed + 1);
    const tx = Tensor.from(be, x, [n]);
    const td = Tensor.from(be, dy, [n]);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const silu = await unaryGrad('silu', tx, tx, td).data();
    expectClose(silu, Float64Array.from(x, (v, i) => dy[i] * sig(v) * (1 + v * (1 - sig(v)))), (i) => 2 ** -18 * (Math.abs(dy[i]) * (1 + Math.abs(x[i]))), `seed ${seed}`);
    const py = Tensor.from(be, Float32Array.from(x, (v) => Math.fround(v ** 3)), [n]);
    const pow = await unaryGrad('pow', tx, py, td, 3).data();
    expectClose(pow, Float64Array.from(x, (v, i) => dy[i] * 3 * v * v), (i) => 2 ** -18 * Math.abs(dy[i] * 3 * x[i] * x[i]) + 1e-30, `seed ${seed}`);
  });
});
