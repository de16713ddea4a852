// Expected ids from the Hugging Face Rust library (rust-cases.json, written by scripts/rust-cases.py)
// for tokenizer.json variants built from the shipped files plus a patch.
import cases from './rust-cases.json' with { type: 'json' };
import { type HfModelName, tokenizerJsonText } from './refs.js';

/** One variant: its tokenizer.json and the Rust library's ids and decodes per text. */
export interface RustVariant {
  name: string;
  json: Record<string, unknown>;
  ids: number[][];
  decoded: string[];
}

/** Texts of the Rust cases (lone surrogates included: Rust saw them as U+FFFD). */
export const RUST_TEXTS: string[] = cases.texts;

/** The variants, with their patched tokenizer.json. */
export function rustVariants(): RustVariant[] {
  return Object.entries(cases.variants).map(([name, v]) => ({
    name,
    json: { ...JSON.parse(tokenizerJsonText(v.base as HfModelName)), ...v.patch },
    ids: v.ids,
    decoded: v.decoded,
  }));
}

/** tiktoken's (Rust core) ids for RUST_TEXTS with its own patterns. */
export const RUST_TIKTOKEN: Record<'cl100k_base' | 'o200k_base', number[][]> = cases.tiktoken;
