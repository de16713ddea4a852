// Test helpers: a whole (short) prompt as one array, and the decoded text of a token range.
import type { Sample } from '../sample.js';
import type { TaskTokenizer } from '../tokens.js';

/** All tokens of a sample's prompt in one array (tests only: prompts here are short). */
export function collect(sample: Sample): Int32Array {
  const out = new Int32Array(sample.length);
  let at = 0;
  for (const chunk of sample.tokens(1000)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== sample.length) throw new Error(`stream gave ${at} tokens, sample.length is ${sample.length}`);
  return out;
}

/** The text of ids[start, end). */
export function decodeRange(tokenizer: TaskTokenizer, ids: Int32Array, start: number, end: number): string {
  return tokenizer.decode(ids.subarray(start, end));
}
