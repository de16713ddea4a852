/** `hsa needle`'s report: chunks ranked by mean fusion weight per layer, the needle's marked. */
import type { RetrievalStep } from '@hsa/model';
import { describe, expect, it } from 'vitest';
import { formatChunks, rankChunks } from './needle-report.js';

/** one answer token's retrieval: two KV heads per layer, top-2 */
const step = (index: number, layers: Record<number, number[][]>): RetrievalStep => ({
  index,
  position: 500 + index,
  chunkSize: 64,
  layers: Object.entries(layers).map(([layer, heads], g) => ({
    group: g,
    layer: Number(layer),
    kvHeads: heads.length,
    k: 2,
    chunks: Int32Array.from(heads.flatMap((h) => h.filter((_, i) => i % 2 === 0))),
    weights: Float32Array.from(heads.flatMap((h) => h.filter((_, i) => i % 2 === 1))),
  })),
});

describe('needle report', () => {
  it('ranks the chunks of each layer by mean weight over tokens × heads and marks the needle', () => {
    // layer 3: [chunk, weight, chunk, weight] per head
    const steps = [step(0, { 3: [[7, 0.75, 2, 0.25], [7, 0.5, 4, 0.5]], 5: [[1, 1, 0, 0], [1, 1, 0, 0]] }), step(1, { 3: [[2, 1, 7, 0], [4, 1, 7, 0]] })];
    const layers = rankChunks(steps, new Set([2]));
    expect(layers.map((l) => l.layer)).toEqual([3, 5]);
    // chunk 7: (0.75 + 0.5) / 4 rows; chunk 2: (0.25 + 1) / 4; chunk 4: (0.5 + 1) / 4; weight-0 slots dropped
    expect(layers[0].chunks).toEqual([
      { chunk: 4, weight: 0.375, needle: false },
      { chunk: 2, weight: 0.3125, needle: true },
      { chunk: 7, weight: 0.3125, needle: false },
    ]);
    expect(layers[1].chunks).toEqual([{ chunk: 1, weight: 1, needle: false }]);
    expect(formatChunks(layers)).toBe('chunks L3: 4, 2*, 7  L5: 1');
  });

  it('shows the heaviest chunks and a needle chunk past them', () => {
    const chunks = Array.from({ length: 12 }, (_, i) => ({ chunk: 100 + i, weight: 1 - i / 12, needle: i === 10 }));
    expect(formatChunks([{ layer: 0, chunks }], 3)).toBe('chunks L0: 100, 101, 102, … 110*');
    expect(formatChunks([{ layer: 0, chunks: chunks.slice(0, 5) }], 3)).toBe('chunks L0: 100, 101, 102, …');
    expect(formatChunks([])).toMatch(/no chunk complete/);
  });
});
