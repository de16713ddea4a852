/** Error codes raised by `@hsa/tokenizer`. */
export type TokenizerErrorCode =
  | 'E_BAD_TOKENIZER' // malformed tokenizer.json / rank file (a field is missing or has the wrong type)
  | 'E_UNSUPPORTED' // well-formed, but uses a component or option this package does not implement
  | 'E_BAD_INPUT' // bad argument to encode/decode/train
  | 'E_SPECIAL_TOKEN'; // disallowed special token found in the input

/** Every error thrown by this package: `code` says the class, the message names the field. */
export class TokenizerError extends Error {
  readonly code: TokenizerErrorCode;
  constructor(code: TokenizerErrorCode, message: string) {
    super(message);
    this.name = 'TokenizerError';
    this.code = code;
  }
}

/** Throws E_BAD_TOKENIZER naming `field`, with what was expected. */
export function badField(field: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'undefined' : JSON.stringify(got)?.slice(0, 80);
  throw new TokenizerError('E_BAD_TOKENIZER', `${field}: expected ${expected}, got ${shown}`);
}

/** Throws E_UNSUPPORTED naming `field`, the value found and the values that are supported. */
export function unsupported(field: string, got: unknown, supported: readonly string[]): never {
  throw new TokenizerError(
    'E_UNSUPPORTED',
    `${field}: ${JSON.stringify(got)} is not supported (supported: ${supported.join(', ')})`,
  );
}
