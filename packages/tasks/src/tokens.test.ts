import { describe, expect, it } from 'vitest';
import { loadShakespeare } from './node.js';
import { Rng } from './rng.js';
import { generateSample } from './sample.js';
import { TASKS } from './tasks.js';
import { bpeTokenizer, charTokenizer } from './test-utils/tokenizers.js';
import { encodeCached, fillerPieces, MAX_PAD, rechunk, TokenCursor } from './tokens.js';

const ints = (...xs: number[]) => Int32Array.from(xs);

describe('TokenCursor', () => {
  // Pieces of 3, 2 and 50 tokens; the char tokenizer's pad is "\n" (10).
  const source = () => [ints(1, 1, 1), ints(2, 2), ints(...Array(50).fill(3))][Symbol.iterator]();
  const take = (cursor: TokenCursor, n: number) => [...cursor.take(n)].flatMap((a) => [...a]);

  it('ends a count on a piece boundary, padding a short gap, and keeps the piece for later', () => {
    const cursor = new TokenCursor(source(), charTokenizer);
    expect(take(cursor, 4)).toEqual([1, 1, 1, 10]);
    expect(take(cursor, 2)).toEqual([2, 2]);
  });

  it('cuts a piece when the gap is over MAX_PAD', () => {
    const cursor = new TokenCursor(source(), charTokenizer);
    take(cursor, 5);
    expect(take(cursor, MAX_PAD + 1)).toEqual(Array(MAX_PAD + 1).fill(3));
    expect(take(cursor, 50 - MAX_PAD - 1)).toEqual(Array(50 - MAX_PAD - 1).fill(3));
  });
});

describe('rechunk', () => {
  it('regroups into fixed-size fresh arrays, the last one shorter', () => {
    const chunks = [...rechunk([ints(1, 2, 3), ints(4), ints(5, 6, 7, 8, 9)], 4)];
    expect(chunks.map((c) => [...c])).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    expect(() => [...rechunk([], 0)]).toThrow(/chunk/);
  });
});

describe('fillerPieces', () => {
  it('cycles the shuffled paragraphs, reshuffled each round, tokenizing each line once', () => {
    const paragraphs = ['A:\nx', 'B:\ny', 'C:\nz'];
    const it = fillerPieces(charTokenizer, paragraphs, new Rng(1));
    const text = Array.from({ length: 60 }, () => charTokenizer.decode(it.next().value!)).join('');
    const rounds = text.match(/.{18}/gs)!; // a round: three paragraphs of "A:\n" and "x\n\n", 6 pieces
    expect(rounds.every((r) => [...'ABC'].every((c) => r.includes(`${c}:\n`)))).toBe(true);
    expect(new Set(rounds).size).toBeGreaterThan(1);
    expect(encodeCached(charTokenizer, 'A:\n')).toBe(encodeCached(charTokenizer, 'A:\n'));
  });
});

describe('streaming a long prompt', () => {
  it('streams a 2M-token S-NIAH prompt in bounded memory, exactly 2M tokens', () => {
    const tokenizer = bpeTokenizer();
    const corpus = loadShakespeare();
    const length = 2_000_000;
    const make = (n: number) => generateSample({ task: TASKS.niah_single_2, length: n, depth: 70, seed: 3, tokenizer, corpus });
    // Warm the paragraph memo (it holds the held-out split's tokens, ~40K, once): one round of the corpus.
    for (const _ of make(100_000).pieces());
    const sample = make(length);
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let count = 0;
    let pieces = 0;
    const t0 = performance.now();
    for (const piece of sample.pieces()) {
      count += piece.length;
      if (++pieces % 4096 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(count).toBe(length);
    // The prompt as one Int32Array would be 8 MB; the stream allocates no token storage at all.
    expect(peak).toBeLessThan(1 << 20);
    const sizes = [...make(300_000).tokens(1 << 16)].map((c) => c.length);
    expect(sizes).toEqual([65536, 65536, 65536, 65536, 37856]);
    // Measured ≈ 0.1 s alone, 7 s with every package's tests at once on 2 cores; a bound against
    // anything quadratic, not a benchmark (16M tokens take about 0.5 s, see the README).
    expect(seconds).toBeLessThan(30);
  });
});
