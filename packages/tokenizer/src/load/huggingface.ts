// Loads a Hugging Face tokenizer.json (BPE models) into a Tokenizer. Errors name the field.
import { ByteBpe } from '../bpe/byte-bpe.js';
import { CharBpe } from '../bpe/char-bpe.js';
import type { Model } from '../bpe/model.js';
import { binaryVocab, tablesFromMerges } from '../bpe/tables.js';
import { badField, TokenizerError, unsupported } from '../errors.js';
import { type AddedToken, AddedTokenMatcher } from '../pipeline/added-tokens.js';
import { buildDecoder } from '../pipeline/decoders.js';
import { hfDetokenizer } from '../pipeline/detokenizer.js';
import { buildNormalizer } from '../pipeline/normalizers.js';
import { buildPostProcessor } from '../pipeline/post-processor.js';
import { buildPreTokenizer } from '../pipeline/pre-tokenizers.js';
import { Tokenizer } from '../tokenizer.js';
import { parseMerges } from './merges.js';

type Json = Record<string, unknown>;

function parseAdded(list: unknown): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return badField('added_tokens', 'an array', list);
  return list.map((t: Json, i) => {
    if (typeof t?.content !== 'string') badField(`added_tokens[${i}].content`, 'a string', t?.content);
    if (!Number.isInteger(t.id)) badField(`added_tokens[${i}].id`, 'an integer', t.id);
    return {
      id: t.id as number,
      content: t.content as string,
      special: t.special === true,
      singleWord: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === true,
    };
  });
}

/**
 * Ids as the Rust library assigns them when it loads the file (it only warns when they differ from
 * the file's): a content already in the model vocab keeps that id; a new one takes the next id after
 * the vocab and the added tokens so far. Empty and repeated contents are skipped (the first wins).
 */
function assignIds(added: AddedToken[], vocab: Map<string, number>): AddedToken[] {
  const size = vocab.size;
  const ids = new Map<string, number>();
  let max = -1;
  const out: AddedToken[] = [];
  for (const t of added) {
    if (t.content === '' || ids.has(t.content)) continue; // Rust's AddedToken equality is by content
    let id = ids.get(t.content) ?? vocab.get(t.content);
    if (id === undefined) id = max < 0 ? size : max >= size || size === 0 ? max + 1 : size;
    ids.set(t.content, id);
    max = Math.max(max, id);
    out.push({ ...t, id });
  }
  return out;
}

function parseVocab(v: unknown): Map<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return badField('model.vocab', 'an object { token: id }', v);
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(v as Json)) {
    if (!Number.isInteger(id) || (id as number) < 0) badField(`model.vocab[${JSON.stringify(tok)}]`, 'a non-negative integer id', id);
    vocab.set(tok, id as number);
  }
  return vocab;
}

function buildModel(m: Json, byteLevel: boolean): { model: Model; vocab: Map<string, number> } {
  if (m.type !== undefined && m.type !== 'BPE') unsupported('model.type', m.type, ['BPE']);
  if (m.dropout !== null && m.dropout !== undefined && m.dropout !== 0) unsupported('model.dropout', m.dropout, ['null', '0']);
  const vocab = parseVocab(m.vocab);
  const table = parseMerges(m.merges, vocab);
  const prefix = typeof m.continuing_subword_prefix === 'string' ? m.continuing_subword_prefix : '';
  const suffix = typeof m.end_of_word_suffix === 'string' ? m.end_of_word_suffix : '';
  const ignoreMerges = m.ignore_merges === true;
  let unkId: number | null = null;
  if (typeof m.unk_token === 'string') {
    unkId = vocab.get(m.unk_token) ?? badField('model.unk_token', 'a token of model.vocab', m.unk_token);
  }
  if (byteLevel && prefix === '' && suffix === '' && m.byte_fallback !== true) {
    let size = 0;
    for (const id of vocab.values()) size = Math.max(size, id + 1);
    const tables = tablesFromMerges(binaryVocab(vocab, size), table, ignoreMerges);
    if (tables !== null) return { model: new ByteBpe(tables), vocab };
  }
  const model = new CharBpe({
    vocab, table, unkId, prefix, suffix, ignoreMerges, byteLevel,
    fuseUnk: m.fuse_unk === true,
    byteFallback: m.byte_fallback === true,
  });
  return { model, vocab };
}

/** Loads a tokenizer.json, given as text or as the parsed object. */
export function fromTokenizerJson(json: string | object): Tokenizer {
  let cfg: Json;
  try {
    cfg = (typeof json === 'string' ? JSON.parse(json) : json) as Json;
  } catch (e) {
    throw new TokenizerError('E_BAD_TOKENIZER', `tokenizer.json: not valid JSON (${(e as Error).message})`);
  }
  if (typeof cfg !== 'object' || cfg === null) return badField('tokenizer.json', 'an object', cfg);
  if (typeof cfg.model !== 'object' || cfg.model === null) return badField('model', 'an object', cfg.model);
  if (cfg.truncation != null) unsupported('truncation', cfg.truncation, ['null']);
  if (cfg.padding != null) unsupported('padding', cfg.padding, ['null']);
  const normalizer = buildNormalizer(cfg.normalizer);
  const pre = buildPreTokenizer(cfg.pre_tokenizer);
  const post = buildPostProcessor(cfg.post_processor);
  const decoder = buildDecoder(cfg.decoder);
  const { model, vocab } = buildModel(cfg.model as Json, pre.byteLevel);
  const added = assignIds(parseAdded(cfg.added_tokens), vocab);
  const tokens: (string | undefined)[] = [];
  for (const [t, id] of vocab) tokens[id] ??= t;
  for (const t of added) tokens[t.id] = t.content;
  const normalizedAdded = added.filter((t) => t.normalized);
  let normMatcher: AddedTokenMatcher | null = null;
  if (normalizedAdded.length > 0) {
    const norm = (s: string) => (normalizer === null ? s : normalizer({ text: s, base: 0, map: null }, false).text);
    normMatcher = new AddedTokenMatcher(normalizedAdded.map((t) => ({ ...t, content: norm(t.content) })));
  }
  const special = new Set(added.filter((t) => t.special).map((t) => t.id));
  const byteExact = (cfg.decoder as Json | null)?.type === 'ByteLevel';
  return new Tokenizer({
    format: 'huggingface',
    added,
    matcher: new AddedTokenMatcher(added.filter((t) => !t.normalized)),
    segment: { normalizer, normalizedAdded: normMatcher, pre, model },
    post,
    detokenizer: hfDetokenizer(tokens, special, decoder, byteExact),
    vocab,
    idToToken: (id) => tokens[id],
  });
}
