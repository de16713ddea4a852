/** Error codes raised by `@hsa/tasks`. */
export type TaskErrorCode =
  | 'E_BAD_INPUT' // an argument out of range (length, depth, counts, empty lists)
  | 'E_TOO_SHORT' // the requested length cannot hold the header, needles and question
  | 'E_NO_CORPUS'; // a natural-text task without paragraphs to build the haystack from

/** Every error thrown by this package: `code` says the class, the message says what to change. */
export class TaskError extends Error {
  readonly code: TaskErrorCode;
  constructor(code: TaskErrorCode, message: string) {
    super(message);
    this.name = 'TaskError';
    this.code = code;
  }
}

/** Throws E_BAD_INPUT unless `ok`, naming the field and what was expected. */
export function check(ok: boolean, field: string, expected: string, got: unknown): void {
  if (!ok) throw new TaskError('E_BAD_INPUT', `${field}: expected ${expected}, got ${JSON.stringify(got)}`);
}
