/** Loads a Hugging Face tokenizer.json (BPE: byte-level or SentencePiece-style) into a Tokenizer. */
export { fromTokenizerJson } from './load/huggingface.js';
/** Loads tiktoken rank-file text with a pattern and special tokens; or a built-in encoding by name. */
export { fromTiktoken, fromTiktokenRanks } from './load/tiktoken-tokenizer.js';
/** The built-in tiktoken encodings' patterns and special tokens. */
export { TIKTOKEN_SPECS, type TiktokenName, type TiktokenOptions } from './load/tiktoken.js';
/** The tokenizer class and its option and result types. */
export { Tokenizer, type EncodeOptions, type DecodeOptions, type Encoding } from './tokenizer.js';
/** Incremental decoder for token-by-token generation. */
export type { StreamDecoder } from './stream.js';
/** An added or special token as declared in tokenizer.json. */
export type { AddedToken } from './pipeline/added-tokens.js';
/** The error type of this package and its codes. */
export { TokenizerError, type TokenizerErrorCode } from './errors.js';
/** Translates an Oniguruma / fancy-regex pattern to a JavaScript regex source with the same semantics. */
export { translatePattern } from './regex.js';
/** Trains a byte-level BPE (target vocab size, special tokens) and returns its tokenizer.json. */
export { trainBpe, DEFAULT_TRAIN_PATTERN, type TrainOptions } from './trainer/train.js';
