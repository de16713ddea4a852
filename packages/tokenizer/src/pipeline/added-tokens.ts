// Added and special tokens, matched in the text before the model runs, as the Rust `tokenizers`
// AddedVocabulary does: leftmost-longest matching, then the single_word / lstrip / rstrip flags.
import { escapeRegex } from '../regex.js';

/** An added token as declared in tokenizer.json (`added_tokens`). */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

/** A cut of the text: an added token's id and range, or (id -1) plain text to tokenize. */
export interface Cut {
  id: number;
  start: number;
  end: number;
}

const WORD = /[\p{Alphabetic}\p{N}_]/u;
const SPACE = /\p{White_Space}/u;

/** Finds added tokens in a string; `skip(id)` drops a token from matching (then it is plain text). */
export class AddedTokenMatcher {
  private readonly re: RegExp | null;
  private readonly byContent = new Map<string, AddedToken>();

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) this.byContent.set(t.content, t);
    const contents = [...this.byContent.keys()].filter((c) => c.length > 0);
    // Longest first: JS alternation is leftmost-first, which then equals leftmost-longest.
    contents.sort((a, b) => b.length - a.length);
    this.re = contents.length === 0 ? null : new RegExp(contents.map(escapeRegex).join('|'), 'gu');
  }

  /** True when no token can match. */
  get empty(): boolean {
    return this.re === null;
  }

  /** Cuts `text` into plain runs and added tokens. Returns null when there is no match (fast path). */
  cut(text: string, skip?: (t: AddedToken) => boolean): Cut[] | null {
    if (this.re === null) return null;
    const re = this.re;
    re.lastIndex = 0;
    let out: Cut[] | null = null;
    let done = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const t = this.byContent.get(m[0])!;
      let start = m.index;
      let stop = start + m[0].length;
      if (skip?.(t)) continue;
      if (t.singleWord && !isSingleWord(text, start, stop)) continue;
      if (t.lstrip) {
        while (start > 0 && SPACE.test(text[start - 1])) start--;
        start = Math.max(start, done);
      }
      if (t.rstrip) while (stop < text.length && SPACE.test(text[stop])) stop++;
      out ??= [];
      if (done < start) out.push({ id: -1, start: done, end: start });
      out.push({ id: t.id, start, end: stop });
      done = stop;
    }
    if (out !== null && done < text.length) out.push({ id: -1, start: done, end: text.length });
    return out;
  }
}

function isSingleWord(text: string, start: number, stop: number): boolean {
  const before = start === 0 ? '' : String.fromCodePoint(text.codePointAt(start - 1) ?? 0);
  const after = stop >= text.length ? '' : String.fromCodePoint(text.codePointAt(stop) ?? 0);
  return !(before !== '' && WORD.test(before)) && !(after !== '' && WORD.test(after));
}
