import { describe, expect, it } from 'vitest';
import { keySplit } from './keys.js';
import { loadShakespeare } from './node.js';
import { generateSample, promptText, type SampleOptions } from './sample.js';
import { TASKS, type TaskSpec } from './tasks.js';
import { collect, decodeRange } from './test-utils/collect.js';
import { bpeTokenizer, byteTokenizer, charTokenizer, wordTokenizer } from './test-utils/tokenizers.js';
import type { TaskTokenizer } from './tokens.js';

const corpus = loadShakespeare();
const tokenizers: [string, TaskTokenizer][] = [
  ['char', charTokenizer],
  ['byte', byteTokenizer],
  ['word', wordTokenizer()],
  ['bpe', bpeTokenizer()],
];
const tasks = Object.values(TASKS) as TaskSpec[];
const make = (o: Partial<SampleOptions> & Pick<SampleOptions, 'tokenizer'>) =>
  generateSample({ task: TASKS.niah_single_2, length: 2000, depth: 50, seed: 1, corpus, ...o });

describe.each(tokenizers)('%s tokenizer', (_, tokenizer) => {
  it.each([1000, 4097, 2311])('every task has exactly %d tokens, needles where reported', (length) => {
    for (const task of tasks) {
      const s = make({ task, length, depth: 37, tokenizer });
      const ids = collect(s);
      expect(ids.length).toBe(length);
      for (const n of s.needles) expect(decodeRange(tokenizer, ids, n.start, n.start + n.length)).toBe(n.text);
      expect(tokenizer.decode(ids)).toContain(s.question);
    }
  });

  it('places the needle right after the header at depth 0, mid-haystack at 50, before the question at 100', () => {
    for (const task of [TASKS.niah_single_1, TASKS.niah_single_2, TASKS.passkey]) {
      const [d0, d50, d100] = [0, 50, 100].map((depth) => make({ task, depth, length: 3000, tokenizer }));
      const header = tokenizer.encode(promptText(d0, tokenizer).split('\n')[0] + '\n').length;
      const needle = d0.needles[0].length;
      const question = tokenizer.encode('\n' + d0.question).length;
      const budget = 3000 - header - needle - question;
      expect(d0.needles[0].start).toBe(header);
      expect(d50.needles[0].start).toBe(header + Math.round(budget / 2));
      expect(d100.needles[0].start).toBe(3000 - question - needle);
      const ids = collect(d100);
      expect(decodeRange(tokenizer, ids, d100.needles[0].start, 3000)).toBe(d100.needles[0].text + '\n' + d100.question);
    }
  });
});

describe('generateSample', () => {
  const tokenizer = bpeTokenizer();

  it('is deterministic per seed, and seeds and indices differ', () => {
    for (const task of tasks) {
      const a = make({ task, seed: 5, tokenizer });
      const b = make({ task, seed: 5, tokenizer });
      expect(collect(a)).toEqual(collect(b));
      expect({ ...a, pieces: 0, tokens: 0 }).toEqual({ ...b, pieces: 0, tokens: 0 });
      const c = make({ task, seed: 6, tokenizer });
      const d = make({ task, seed: 5, index: 1, tokenizer });
      for (const other of [c, d]) {
        expect(other.answers).not.toEqual(a.answers);
        expect(collect(other)).not.toEqual(collect(a));
      }
    }
  });

  it('keeps the content of a (seed, index) across lengths and depths (paired cells)', () => {
    const a = make({ tokenizer, length: 1500, depth: 10 });
    const b = make({ tokenizer, length: 5000, depth: 90 });
    expect(b.answers).toEqual(a.answers);
    expect(b.question).toBe(a.question);
  });

  it('asks what the task says: MK one of 4 keys, MV 4 values, MQ 2 of 6 pairs, VT a 5-name chain', () => {
    const mk = make({ task: TASKS.niah_multikey, tokenizer });
    expect([mk.needles.length, mk.needles.filter((n) => n.queried).length, mk.answers.length]).toEqual([4, 1, 1]);
    const mv = make({ task: TASKS.niah_multivalue, tokenizer });
    expect([mv.needles.length, new Set(mv.needles.map((n) => n.key)).size, mv.answers.length]).toEqual([4, 1, 4]);
    const mq = make({ task: TASKS.niah_multiquery, tokenizer });
    expect([mq.needles.length, mq.needles.filter((n) => n.queried).length, mq.answers.length]).toEqual([6, 2, 2]);
    expect(mq.needles.filter((n) => n.queried).every((n) => mq.answers.includes(n.value))).toBe(true);
    const vt = make({ task: { ...TASKS.vt, chains: 2 }, depth: 60, tokenizer });
    const chain = vt.needles.filter((n) => n.queried);
    expect(chain.map((n) => n.key)).toEqual(vt.answers); // in chain order in the prompt
    expect(chain[0].text).toMatch(/^\nVAR [A-Z]{5} = \d{5}\n$/);
    expect(vt.needles.length).toBe(10);
    // The chain's first statement sits at 60% of the haystack tokens (the filler before it, excluding needles).
    const header = tokenizer.encode('Memorize and track the chain(s) of variable assignment hidden in the following text.\n').length;
    const needles = vt.needles.reduce((sum, n) => sum + n.length, 0);
    const budget = 2000 - header - needles - tokenizer.encode('\n' + vt.question).length;
    const before = vt.needles.filter((n) => n.start < chain[0].start).reduce((sum, n) => sum + n.length, 0);
    expect(chain[0].start - header - before).toBe(Math.round(0.6 * budget));
  });

  it('uses evaluation keys and held-out text by default, training ones for split "train"', () => {
    const onlyIn = (mine: readonly string[], other: readonly string[]) => {
      const theirs = new Set(other.flatMap((p) => p.split('\n')));
      return new Set(mine.flatMap((p) => p.split('\n')).filter((l) => l.length > 20 && !theirs.has(l)));
    };
    const heldOutOnly = onlyIn(corpus.heldOut, corpus.train);
    const trainOnly = onlyIn(corpus.train, corpus.heldOut);
    for (const split of ['eval', 'train'] as const) {
      const s = make({ task: TASKS.niah_multiquery, split, length: 60_000, tokenizer });
      expect(s.needles.every((n) => keySplit(n.key) === split)).toBe(true);
      const lines = promptText(s, tokenizer).split('\n');
      const [mine, other] = split === 'eval' ? [heldOutOnly, trainOnly] : [trainOnly, heldOutOnly];
      expect(lines.filter((l) => mine.has(l)).length).toBeGreaterThan(100);
      expect(lines.filter((l) => other.has(l))).toEqual([]);
    }
  });

  it('says what is wrong', () => {
    expect(() => make({ tokenizer, length: 20 })).toThrow(/E_TOO_SHORT|below the/);
    expect(() => generateSample({ task: TASKS.niah_single_2, length: 500, depth: 0, seed: 0, tokenizer })).toThrow(/needs options.corpus/);
    expect(() => make({ tokenizer, depth: 101 })).toThrow(/depth/);
    expect(() => make({ tokenizer, length: 10.5 })).toThrow(/length/);
    const bos: TaskTokenizer = { encode: (t) => [1, ...Array.from(tokenizer.encode(t))], decode: tokenizer.decode };
    expect(() => make({ tokenizer: bos })).toThrow(/BOS/);
  });
});
