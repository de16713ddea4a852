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
  /** Rust's offsets where comparable (BMP-only texts, where code points equal UTF-16 units), else null. */
  offsets: (number[][] | null)[];
}

/** Texts of the Rust cases (lone surrogates included: Rust saw them as U+FFFD). */
export const RUST_TEXTS: string[] = cases.texts;

let variants: RustVariant[] | undefined;

/** The variants, with their patched tokenizer.json (parsed once). */
export function rustVariants(): RustVariant[] {
  variants ??= Object.entries(cases.variants).map(([name, v]) => ({
    name,
    json: { ...JSON.parse(tokenizerJsonText(v.base as HfModelName)), ...v.patch },
    ids: v.ids,
    decoded: v.decoded,
    offsets: v.offsets,
  }));
  return variants;
}

/** tiktoken's (Rust core) ids for RUST_TEXTS with its own patterns. */
export const RUST_TIKTOKEN: Record<'cl100k_base' | 'o200k_base', number[][]> = cases.tiktoken;
