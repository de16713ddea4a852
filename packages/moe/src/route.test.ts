import { Tensor } from '@hsa/tensor';
import { expectClose, freshSeed, rng, testBackends } from '@hsa/tensor/test-utils';
import { describe, expect, it } from 'vitest';
import { route } from './ops.js';

interface Case {
  T: number;
  E: number;
  k: number;
  nGroup: number;
  topkGroup: number;
  scoreFn: 'sigmoid' | 'softmax';
  norm: boolean;
  scale: number;
}

/** Float64 scores of every token's row: sigmoid or softmax of the logits. */
function scoresOf(logits: Float32Array, c: Case): number[] {
  const out: number[] = [];
  for (let t = 0; t < c.T; t++) {
    const r = Array.from(logits.subarray(t * c.E, (t + 1) * c.E));
    const m = Math.max(...r);
    const z = r.reduce((s, v) => s + Math.exp(v - m), 0);
    out.push(...r.map((v) => (c.scoreFn === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : Math.exp(v - m) / z)));
  }
  return out;
}

/**
 * Independent oracle of the selection: sort by (p + b desc, index asc) within the allowed groups,
 * from the given scores (the backend's own, so keys and group sums are rounded to f32 as it forms
 * them: a float64 key could order two keys that f32 makes equal).
 */
function oracle(scores: ArrayLike<number>, bias: Float32Array, c: Case) {
  const idx: number[] = [];
  const w: number[] = [];
  const f = Math.fround;
  for (let t = 0; t < c.T; t++) {
    const p = Array.from({ length: c.E }, (_, e) => scores[t * c.E + e]);
    const key = p.map((v, e) => f(v + bias[e]));
    const byKey = (a: number, b: number) => key[b] - key[a] || a - b;
    const gs = c.E / c.nGroup;
    const gScore = Array.from({ length: c.nGroup }, (_, g) => {
      const top = Array.from({ length: gs }, (_, i) => g * gs + i).sort(byKey);
      return gs > 1 ? f(key[top[0]] + key[top[1]]) : key[top[0]];
    });
    const groups = new Set(
      Array.from({ length: c.nGroup }, (_, g) => g)
        .sort((a, b) => gScore[b] - gScore[a] || a - b)
        .slice(0, c.topkGroup),
    );
    const sel = Array.from({ length: c.E }, (_, e) => e)
      .filter((e) => c.nGroup === 1 || groups.has(Math.floor(e / gs)))
      .sort(byKey)
      .slice(0, c.k);
    const sum = sel.reduce((s, e) => s + p[e], 0);
    idx.push(...sel);
    w.push(...sel.map((e) => (c.norm ? p[e] / sum : p[e]) * c.scale));
  }
  return { idx, w };
}

const CASES: Case[] = [
  { T: 1, E: 1, k: 1, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: true, scale: 1 },
  { T: 13, E: 7, k: 3, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: false, scale: 2.5 },
  { T: 257, E: 64, k: 4, nGroup: 1, topkGroup: 1, scoreFn: 'sigmoid', norm: true, scale: 1 },
  { T: 31, E: 24, k: 6, nGroup: 6, topkGroup: 2, scoreFn: 'sigmoid', norm: true, scale: 2.5 },
  { T: 61, E: 256, k: 8, nGroup: 8, topkGroup: 4, scoreFn: 'softmax', norm: false, scale: 1 },
  { T: 7, E: 9, k: 2, nGroup: 9, topkGroup: 3, scoreFn: 'softmax', norm: true, scale: 0.5 },
];

describe.each(testBackends())('moe route on %s', (_name, make) => {
  // the workgroup selection's picks on subgroups (the default where the adapter has them, SwiftShader's
  // included: by two reductions, v4, and by the shuffle butterfly, v3) and by the workgroup tree
  const variants = CASES.flatMap((c) => [
    { ...c, variant: 'thread' as const },
    { ...c, variant: 'workgroup' as const },
    { ...c, variant: 'workgroup' as const, subgroupPicks: 'butterfly' as const },
    { ...c, variant: 'workgroup' as const, selectOnSubgroups: false },
  ]);
  it.each(variants)('matches the float64 oracle, ties to the lower index: %o', async (c) => {
    const b = await make();
    const seed = freshSeed();
    const r = rng(seed);
    // logits on a 1/16 grid and biases from three values: exact ties are frequent
    const logits = Float32Array.from({ length: c.T * c.E }, () => Math.floor(r() * 96 - 48) / 16);
    const bias = Float32Array.from({ length: c.E }, () => [0, 0.25, -0.25][Math.floor(r() * 3)]);
    const out = route(Tensor.from(b, logits, [c.T, c.E]), Tensor.from(b, bias, [c.E]), c);
    const p = await out.scores.data();
    const p64 = scoresOf(logits, c);
    // softmax: the f32 sum of E exponentials has a relative error up to ~E·2⁻²⁴ (1.2e-6 seen at E = 256)
    const rel = Math.max(1e-6, c.scoreFn === 'softmax' ? (c.E + 4) * 2 ** -24 : 0);
    expectClose(p, p64, (i) => rel * Math.abs(p64[i]) + 1e-9, `scores seed=${seed}`);
    const want = oracle(p, bias, c);
    expect(Array.from(await out.idx.data()), `idx seed=${seed}`).toEqual(want.idx);
    expectClose(await out.weights.data(), want.w, (i) => 1e-5 * Math.abs(want.w[i]), `weights seed=${seed}`);
  });
});
