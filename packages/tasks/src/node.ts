/**
 * @hsa/tasks/node: the corpus shipped with the package (Node only). Browsers fetch
 * `data/tinyshakespeare.txt` themselves and pass the text to `splitCorpus`.
 */
import { readFileSync } from 'node:fs';
import { type Corpus, type SplitOptions, splitCorpus } from './corpus.js';

/** Path of Tiny Shakespeare (1.1 MB, public domain) inside the installed package. */
export const SHAKESPEARE_PATH = new URL('../data/tinyshakespeare.txt', import.meta.url);

let cached: Corpus | undefined;

/** Tiny Shakespeare split into training and held-out paragraphs (default split cached). */
export function loadShakespeare(options?: SplitOptions): Corpus {
  if (options !== undefined) return splitCorpus(readFileSync(SHAKESPEARE_PATH, 'utf8'), options);
  cached ??= splitCorpus(readFileSync(SHAKESPEARE_PATH, 'utf8'));
  return cached;
}
