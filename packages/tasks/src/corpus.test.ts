import { describe, expect, it } from 'vitest';
import { isHeldOut, paragraphs, splitCorpus, splitParagraphs } from './corpus.js';
import { TaskError } from './errors.js';
import { loadShakespeare } from './node.js';

describe('corpus', () => {
  it('splits text into trimmed paragraphs at blank lines', () => {
    expect(paragraphs('A:\nhello\n\n\nB:\nbye  \n \nC:\r\n\r\nx\n')).toEqual(['A:\nhello', 'B:\nbye', 'C:', 'x']);
  });

  it('holds out about 10% of Tiny Shakespeare, disjoint from the training split', () => {
    const { train, heldOut } = loadShakespeare();
    expect(train.length + heldOut.length).toBe(7222);
    expect(heldOut.length).toBe(699);
    const trainSet = new Set(train);
    expect(heldOut.filter((p) => trainSet.has(p))).toEqual([]);
    expect(heldOut.every((p) => isHeldOut(p))).toBe(true);
    expect(splitParagraphs({ train, heldOut }, 'eval')).toBe(heldOut);
    expect(splitParagraphs({ train, heldOut }, 'train')).toBe(train);
  });

  it('decides by paragraph text, so the rule is the same in any corpus and any order', () => {
    const { train, heldOut } = loadShakespeare();
    const mixed = [...heldOut.slice(0, 20), ...train.slice(0, 50)].reverse().join('\n\n');
    const again = splitCorpus(mixed);
    expect(new Set(again.heldOut)).toEqual(new Set(heldOut.slice(0, 20)));
    expect(again.train.length).toBe(50);
  });

  it('takes another percentage and rejects nonsense', () => {
    const { heldOut } = loadShakespeare({ heldOutPercent: 30 });
    expect(heldOut.length / 7222).toBeGreaterThan(0.27);
    expect(heldOut.length / 7222).toBeLessThan(0.33);
    expect(() => splitCorpus('a', { heldOutPercent: 0 })).toThrow(TaskError);
  });
});
