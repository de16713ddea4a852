import { TASKS } from '@hsa/tasks';
import { loadShakespeare } from '@hsa/tasks/node';
import { fromTokenizerJson } from '@hsa/tokenizer';
import { describe, expect, it } from 'vitest';
import { fixtureTokenizerJson } from '../test/fixture.js';
import { taskPrompt, textPrompt } from './prompt.js';

const tok = fromTokenizerJson(fixtureTokenizerJson());

describe('taskPrompt', () => {
  it('streams exactly `length` tokens in pieces of at most pieceTokens, recorded into ids; the queried needle is the first mark', () => {
    const p = taskPrompt({ task: TASKS.niah_multikey, length: 1000, depth: 30, seed: 3, tokenizer: tok, corpus: loadShakespeare(), pieceTokens: 256 });
    const got: number[] = [];
    for (const piece of p.pieces()) {
      expect(piece.length).toBeLessThanOrEqual(256);
      got.push(...Array.from(piece));
    }
    expect(got.length).toBe(1000);
    expect(Array.from(p.ids)).toEqual(got);
    expect(p.marks[0].label).toMatch(/^needle: /);
    expect(p.marks.slice(1).every((m) => m.label.startsWith('distractor: '))).toBe(true);
    const needle = tok.decode(p.ids.subarray(p.marks[0].start, p.marks[0].start + p.marks[0].length));
    for (const a of p.answers) expect(needle).toContain(a);
  });
});

describe('textPrompt', () => {
  const text = 'Some text before.\nThe pass key is 4815162.\nSome text after.';
  it('ends with the question and marks the tokens of the text to find', () => {
    const p = textPrompt(text, ' What is the pass key? The pass key is ', tok, 'The pass key is 4815162');
    expect(tok.decode(p.ids)).toBe(`${text}\nWhat is the pass key? The pass key is`);
    expect(p.marks).toHaveLength(1);
    expect(tok.decode(p.ids.subarray(p.marks[0].start, p.marks[0].start + p.marks[0].length))).toContain('The pass key is 4815162');
  });
  it('marks nothing when the text to find is absent', () => {
    expect(textPrompt(text, 'Q?', tok, 'not there').marks).toEqual([]);
  });
});
