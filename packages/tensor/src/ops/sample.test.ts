import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor.js';
import { freshSeed, rng, testBackends } from '../test-utils/index.js';
import { sample } from './sample.js';

/** Float64 oracle: kept token ids (best first) and their renormalized probabilities. */
function truncated(logits: number[], temperature: number, topK: number, topP: number) {
  const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  const m = logits[order[0]];
  const w = order.map((i) => Math.exp((logits[i] - m) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let cum = 0;
  let c = 0;
  while (c < w.length && (cum += w[c]) < topP * total) c++;
  const kept = order.slice(0, c + 1);
  return { kept, probs: w.slice(0, c + 1).map((x) => x / cum) };
}

/** Inverse CDF in float64; null when u lies within `edge` of a bucket edge (f32 rounding may flip it). */
function invCdf(probs: number[], u: number, edge = 1e-5): number | null {
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i];
    if (Math.abs(acc - u) < edge) return null;
    if (acc > u) return i;
  }
  return probs.length - 1;
}

function randomUniforms(rows: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: rows }, () => r());
}

/** Pearson chi-square of counts against rows·p, with a threshold far in the tail (≈ 6σ above df). */
function expectChiSquare(counts: number[], probs: number[], rows: number, label: string): void {
  const chi = probs.reduce((s, p, i) => s + (counts[i] - rows * p) ** 2 / (rows * p), 0);
  const df = probs.length - 1;
  expect(chi, `${label} chi²=${chi.toFixed(1)} df=${df}`).toBeLessThan(df + 6 * Math.sqrt(2 * Math.max(df, 1)) + 5);
}

describe.each(testBackends())('sample on %s', (_name, make) => {
  const cases = [
    { n: 10, temperature: 1, topK: 10, cut: Number.POSITIVE_INFINITY, rows: 20_000 },
    { n: 37, temperature: 0.7, topK: 6, cut: Number.POSITIVE_INFINITY, rows: 20_000 },
    { n: 37, temperature: 1.3, topK: 12, cut: 4, rows: 20_000 },
    // fewer rows: a 301-wide top-256 sorts 512-entry chunks, slow on a software rasterizer
    { n: 301, temperature: 2, topK: 256, cut: 20, rows: 1_500 },
  ];
  it.each(cases)('n=$n T=$temperature topK=$topK keeps $cut: inverse CDF, exact truncation, chi²', async (c) => {
    const b = await make();
    const seed = freshSeed();
    const r = rng(seed);
    const logits = Array.from({ length: c.n }, () => Math.fround(4 * r() - 2));
    logits[c.n >> 1] = Number.NEGATIVE_INFINITY; // a masked token is never drawn
    // topP halfway between two cumulative masses, so the nucleus is unambiguous in f32
    const full = truncated(logits, c.temperature, c.topK, 1);
    const cdf = full.probs.map(((s) => (p: number) => (s += p))(0));
    const topP = Number.isFinite(c.cut) ? (cdf[c.cut - 1] + cdf[c.cut]) / 2 : 1;
    const { kept, probs } = truncated(logits, c.temperature, c.topK, topP);
    const rows = c.rows;
    const u = randomUniforms(rows, seed + 1);
    const x = Tensor.from(b, Float32Array.from({ length: rows * c.n }, (_, i) => logits[i % c.n]), [rows, c.n]);
    const tok = sample(x, { temperature: c.temperature, topK: c.topK, topP, uniform: u });
    const got = await tok.data();
    const label = `n=${c.n} seed=${seed}`;
    const counts = new Array<number>(kept.length).fill(0);
    for (let i = 0; i < rows; i++) {
      const slot = kept.indexOf(got[i]);
      expect(slot, `${label} row ${i}: token ${got[i]} outside the nucleus`).toBeGreaterThanOrEqual(0);
      counts[slot]++;
      const want = invCdf(probs, u[i]);
      if (want !== null) expect(got[i], `${label} row ${i} u=${u[i]}`).toBe(kept[want]);
    }
    expectChiSquare(counts, probs, rows, label);
    x.dispose();
    tok.dispose();
  });

  it('temperature 0 is argmax; a seed draws host uniforms reproducibly', async () => {
    const b = await make();
    const x = Tensor.from(b, [0, 3, 3, -1, 2, 9, 9, 1], [2, 4]);
    const g = sample(x, { temperature: 0 });
    expect(Array.from(await g.data())).toEqual([1, 1]);
    const s1 = sample(x, { seed: 7 });
    const s2 = sample(x, { seed: 7 });
    expect(Array.from(await s1.data())).toEqual(Array.from(await s2.data()));
    for (const t of [x, g, s1, s2]) t.dispose();
  });

  it('rejects bad options with typed errors naming the shape', async () => {
    const b = await make();
    const x = Tensor.from(b, new Float32Array(2 * 300), [2, 300]);
    expect(() => sample(x, { seed: 1 })).toThrow(/topK 300 .*\[2, 300\]/);
    expect(() => sample(x, { topK: 5 })).toThrow(/pass seed or uniform/);
    expect(() => sample(x, { topK: 5, seed: 1, topP: 0 })).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    expect(() => sample(x, { topK: 5, uniform: [0.5] })).toThrow(/1 uniforms for 2 rows/);
    x.dispose();
  });
});
