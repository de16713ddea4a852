// Tokenizers for the tests: one token per UTF-16 code unit, per UTF-8 byte, per word or space run
// (a vocabulary that grows as words are seen), and a small byte-level BPE trained on the corpus.
import { fromTokenizerJson, trainBpe } from '@hsa/tokenizer';
import { loadShakespeare } from '../node.js';
import type { TaskTokenizer } from '../tokens.js';

/** One token per UTF-16 code unit. */
export const charTokenizer: TaskTokenizer = {
  encode: (text) => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)),
  decode: (ids) => Array.from(ids, (id) => String.fromCharCode(id)).join(''),
};

/** One token per UTF-8 byte. */
export const byteTokenizer: TaskTokenizer = {
  encode: (text) => new TextEncoder().encode(text),
  decode: (ids) => new TextDecoder().decode(Uint8Array.from(ids)),
};

/** Words, digit runs, space runs and single symbols, numbered as first seen. */
export function wordTokenizer(): TaskTokenizer {
  const ids = new Map<string, number>();
  const words: string[] = [];
  return {
    encode: (text) =>
      Array.from(text.match(/[A-Za-z]+|\d+|\s+|[^A-Za-z\d\s]/g) ?? [], (w) => {
        let id = ids.get(w);
        if (id === undefined) ids.set(w, (id = words.push(w) - 1));
        return id;
      }),
    decode: (list) => Array.from(list, (id) => words[id]).join(''),
  };
}

let bpe: TaskTokenizer | undefined;

/** A byte-level BPE of 1024 tokens trained on the start of the training split (cached). */
export function bpeTokenizer(): TaskTokenizer {
  bpe ??= fromTokenizerJson(trainBpe(loadShakespeare().train.slice(0, 1500), { vocabSize: 1024 }));
  return bpe;
}
