// The haystack text: a corpus split into paragraphs (blocks separated by blank lines), divided
// once and for all into a training split and a held-out split by a hash of each paragraph's text,
// so the rule needs no index, survives edits elsewhere in the file, and puts repeated paragraphs
// (Shakespeare repeats short lines) on one side only.
import { check } from './errors.js';
import { fnv1a } from './rng.js';

/** RULER's noise haystack: this sentence group, repeated. */
export const NOISE = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.';

/** A corpus divided into a training split and a held-out (evaluation) split of paragraphs. */
export interface Corpus {
  /** paragraphs for training mixes (never used by evaluation haystacks) */
  readonly train: readonly string[];
  /** paragraphs for evaluation haystacks */
  readonly heldOut: readonly string[];
}

/** Which side of the corpus and of the key sets a sample draws from. */
export type Split = 'train' | 'eval';

/** Options of `splitCorpus`. */
export interface SplitOptions {
  /** percentage of paragraphs held out (chosen by hash); default 10 */
  heldOutPercent?: number;
}

/** The paragraphs of `text`: blocks separated by blank lines, trimmed, empty ones dropped. */
export function paragraphs(text: string): string[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** True when a paragraph belongs to the held-out split: FNV-1a(text) mod 100 < percent. */
export function isHeldOut(paragraph: string, heldOutPercent = 10): boolean {
  return fnv1a(paragraph) % 100 < heldOutPercent;
}

/** Splits a corpus text into training and held-out paragraphs (deterministic, order kept). */
export function splitCorpus(text: string, options: SplitOptions = {}): Corpus {
  const percent = options.heldOutPercent ?? 10;
  check(Number.isInteger(percent) && percent > 0 && percent < 100, 'heldOutPercent', 'an integer in 1..99', percent);
  const train: string[] = [];
  const heldOut: string[] = [];
  for (const p of paragraphs(text)) (isHeldOut(p, percent) ? heldOut : train).push(p);
  return { train, heldOut };
}

/** The paragraphs a split's haystacks are built from. */
export function splitParagraphs(corpus: Corpus, split: Split): readonly string[] {
  return split === 'eval' ? corpus.heldOut : corpus.train;
}
