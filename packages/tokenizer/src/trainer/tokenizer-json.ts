// Writes a trained byte-level BPE as tokenizer.json (tokenizers ≥ 0.20 layout, merges as pairs).

/** The tokenizer.json object for a byte-level BPE: `tokens[id]` in byte-level form. */
export function tokenizerJson(
  tokens: readonly string[],
  merges: readonly [string, string][],
  specials: readonly string[],
  pattern: string,
): Record<string, unknown> {
  // A null-prototype object: tokens such as "constructor" or "__proto__" must be plain keys.
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((t, id) => {
    if (!Object.hasOwn(vocab, t)) vocab[t] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}
