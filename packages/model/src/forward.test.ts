/**
 * The full forward against the reference run in ../shared/golden (reference-model.md §7), on every
 * backend: logits and every recorded intermediate within abs 1e-4, retrieval indices exact.
 */
import type { Backend, Tensor } from '@hsa/tensor';
import { testBackends } from '@hsa/tensor/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HsaModel } from './model.js';
import { goldenModel, goldenRun, maxAbsDiff } from './test-utils/golden.js';

const TOL = 1e-4;
/**
 * The 512-token forward takes ~20 s on SwiftShader alone (hsaChunkAttention's prefill is ~3.4 s of
 * each HSA layer there) and several times that while CI runs every package's tests at once.
 */
const GPU_FORWARD_MS = 300_000;

describe.each(testBackends())('golden forward on %s', (name, make) => {
  let backend: Backend;
  let model: HsaModel;
  const recorded = new Map<string, Tensor>();
  let logits: Float32Array;

  beforeAll(async () => {
    backend = await make();
    model = goldenModel(backend);
    const ids = goldenRun().int32('input_ids');
    const t0 = performance.now();
    const out = await model.forward(ids, { record: (n, t) => recorded.set(n, t) });
    logits = (await out.data()) as Float32Array;
    console.info(`${name}: golden forward (512 tokens) ${(performance.now() - t0).toFixed(0)} ms`);
    out.dispose();
  }, GPU_FORWARD_MS);

  afterAll(() => {
    for (const t of recorded.values()) t.dispose();
    model?.dispose();
  });

  it('logits within 1e-4', () => {
    const err = maxAbsDiff(logits, goldenRun().float32('logits'));
    console.info(`${name}: logits max abs error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(TOL);
  });

  it('retrieval indices exact, weights within 1e-4', async () => {
    for (const g of [0, 1]) {
      const idx = await recorded.get(`retrieval${g}.indices`)!.data();
      expect(Array.from(idx)).toEqual(Array.from(goldenRun().int32(`retrieval${g}.indices`)));
      const w = await recorded.get(`retrieval${g}.weights`)!.data();
      expect(maxAbsDiff(w, goldenRun().float32(`retrieval${g}.weights`))).toBeLessThan(TOL);
    }
  });

  it('every intermediate of the golden file within 1e-4', async () => {
    const names = goldenRun().names.filter((n) => n.startsWith('hidden.') || n.startsWith('chunk.') || n.startsWith('hsa'));
    expect(names.length).toBe(15);
    for (const n of names) {
      const t = recorded.get(n);
      expect(t, `${n} recorded`).toBeDefined();
      const err = maxAbsDiff(await t!.data(), goldenRun().float32(n));
      expect(err, `${n}: max abs error ${err.toExponential(2)}`).toBeLessThan(TOL);
    }
  });
});
