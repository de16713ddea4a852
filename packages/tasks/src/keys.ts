// Needle keys and values. Keys ("adjective-noun" words, and the 5-letter variable names of VT) are
// split by a fixed hash rule into a training set and an evaluation set that never overlap: a
// model trained on `train` keys is evaluated on keys it has never seen. Values are not split.
import type { Split } from './corpus.js';
import { TaskError } from './errors.js';
import { fnv1a, type Rng } from './rng.js';
import { ADJECTIVES, NOUNS } from './words.js';

/** What a needle's value is: a 7-digit number, a UUID (v4 form) or a word. */
export type ValueKind = 'number' | 'uuid' | 'word';

/** The split a key belongs to: evaluation when FNV-1a("key:" + key) mod 5 is 0 (about 20%). */
export function keySplit(key: string): Split {
  return fnv1a('key:' + key) % 5 === 0 ? 'eval' : 'train';
}

/** Draws until `make` gives a string of the split that is not in `taken`, then adds it there. */
function drawIn(split: Split, taken: Set<string>, make: () => string): string {
  for (let tries = 0; tries < 100_000; tries++) {
    const s = make();
    if (!taken.has(s) && keySplit(s) === split) {
      taken.add(s);
      return s;
    }
  }
  throw new TaskError('E_BAD_INPUT', `could not draw a new ${split} key after 100000 tries (too many keys asked)`);
}

/** A new "adjective-noun" key of the split (not in `taken`; added to it). */
export function drawKey(rng: Rng, split: Split, taken: Set<string>): string {
  return drawIn(split, taken, () => `${rng.pick(ADJECTIVES)}-${rng.pick(NOUNS)}`);
}

/** A new 5-letter upper-case variable name of the split, for variable tracking. */
export function drawVarName(rng: Rng, split: Split, taken: Set<string>): string {
  const letter = () => String.fromCharCode(65 + rng.int(0, 25));
  return drawIn(split, taken, () => letter() + letter() + letter() + letter() + letter());
}

/** A UUID in version-4 form from the generator. */
export function drawUuid(rng: Rng): string {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[rng.int(0, 3)]}${hex(3)}-${hex(12)}`;
}

/** A new value of the kind, different from those in `taken` (added to it). */
export function drawValue(rng: Rng, kind: ValueKind, taken: Set<string>): string {
  for (;;) {
    const v = kind === 'number' ? String(rng.int(1_000_000, 9_999_999)) : kind === 'uuid' ? drawUuid(rng) : rng.pick(NOUNS);
    if (!taken.has(v)) {
      taken.add(v);
      return v;
    }
  }
}
