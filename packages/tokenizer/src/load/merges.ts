// tokenizer.json `model.merges`: "a b" strings (older files) or ["a", "b"] pairs (tokenizers ≥ 0.20).
import { PairTable } from '../bpe/pair-table.js';
import { badField } from '../errors.js';

/** Builds the merge table: pair of ids → (merge index, id of the concatenation). */
export function parseMerges(merges: unknown, vocab: Map<string, number>): PairTable {
  if (merges === undefined) return new PairTable(0);
  if (!Array.isArray(merges)) return badField('model.merges', 'an array', merges);
  const table = new PairTable(merges.length);
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    let a: string;
    let b: string;
    if (typeof m === 'string') {
      const sp = m.indexOf(' ', 1);
      if (sp < 0) badField(`model.merges[${i}]`, '"left right"', m);
      a = m.slice(0, sp);
      b = m.slice(sp + 1);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      [a, b] = m;
    } else return badField(`model.merges[${i}]`, '"left right" or ["left", "right"]', m);
    const ia = vocab.get(a);
    const ib = vocab.get(b);
    const ir = vocab.get(a + b);
    if (ia === undefined) badField(`model.merges[${i}]`, `a merge of tokens in model.vocab (${JSON.stringify(a)} is not)`, m);
    if (ib === undefined) badField(`model.merges[${i}]`, `a merge of tokens in model.vocab (${JSON.stringify(b)} is not)`, m);
    if (ir === undefined) badField(`model.merges[${i}]`, `a merge whose result ${JSON.stringify(a + b)} is in model.vocab`, m);
    table.set(ia!, ib!, i, ir!);
  }
  return table;
}
