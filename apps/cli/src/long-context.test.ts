/** The machinery `hsa eval` and `hsa needle` share: size lists, needle chunks, retrieval hits. */
import type { RetrievalStep } from '@hsa/model';
import type { Sample } from '@hsa/tasks';
import { describe, expect, it } from 'vitest';
import { needleChunks, parseSizes, stepHits } from './long-context.js';

const sample = (needles: { start: number; length: number; queried: boolean }[]) => ({ needles }) as unknown as Sample;
const step = (chunks: number[], weights: number[]): RetrievalStep => ({
  index: 0,
  position: 1000,
  chunkSize: 64,
  layers: [{ group: 0, layer: 3, kvHeads: 1, k: chunks.length, chunks: Int32Array.from(chunks), weights: Float32Array.from(weights) }],
});

describe('long-context helpers', () => {
  it('parses sizes with k and m suffixes and rejects the rest', () => {
    expect(parseSizes('4k, 1m,1000,1.5K', 'lengths')).toEqual([4096, 1 << 20, 1000, 1536]);
    expect(() => parseSizes('4q', 'lengths')).toThrow(/eval: lengths must be comma-separated numbers/);
    expect(() => parseSizes('x', '--length', 'needle')).toThrow(/^needle: --length/);
  });

  it('takes every chunk a queried needle touches', () => {
    expect([...needleChunks(sample([{ start: 60, length: 10, queried: true }]), 64)]).toEqual([0, 1]);
    expect([...needleChunks(sample([{ start: 64, length: 64, queried: true }, { start: 300, length: 5, queried: false }]), 64)]).toEqual([1]);
  });

  it('counts a hit only for a chunk chosen with weight > 0', () => {
    expect(stepHits(step([5, 2], [0.6, 0.4]), new Set([2]))).toBe(true);
    expect(stepHits(step([5, 2], [1, 0]), new Set([2]))).toBe(false);
    expect(stepHits(undefined, new Set([2]))).toBe(false);
  });
});
