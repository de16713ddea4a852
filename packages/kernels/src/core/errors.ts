/**
 * Typed errors shared by every @hsa package. Each carries a stable `code` so callers can branch on
 * the kind of failure without parsing messages; the message says what happened and what to do.
 */
export type HsaErrorCode =
  | 'E_SHAPE'
  | 'E_DTYPE'
  | 'E_ARGUMENT'
  | 'E_OUT_OF_MEMORY'
  | 'E_DEVICE_LOST'
  | 'E_UNSUPPORTED'
  | 'E_BACKEND'
  | 'E_BAD_CHECKPOINT'
  | 'E_BAD_CONFIG'
  | 'E_ABORTED'
  | 'E_NUMERIC';

export class HsaError extends Error {
  readonly code: HsaErrorCode;
  constructor(code: HsaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Shapes that do not fit an op: the message names the op and every shape involved. */
export class ShapeError extends HsaError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

/** A dtype an op does not accept. */
export class DTypeError extends HsaError {
  constructor(message: string) {
    super('E_DTYPE', message);
  }
}

/** A bad scalar argument (k ≤ 0, an axis out of range, ...). */
export class ArgumentError extends HsaError {
  constructor(message: string) {
    super('E_ARGUMENT', message);
  }
}

/** An allocation the device (or the plan) cannot hold. */
export class OutOfMemoryError extends HsaError {
  constructor(message: string) {
    super('E_OUT_OF_MEMORY', message);
  }
}

/** The GPU device was lost; every tensor on it is gone and the backend must be re-created. */
export class DeviceLostError extends HsaError {
  constructor(message: string) {
    super('E_DEVICE_LOST', message);
  }
}

/** A feature the device or this build does not have. */
export class UnsupportedError extends HsaError {
  constructor(message: string) {
    super('E_UNSUPPORTED', message);
  }
}

/** Mixing tensors of two backends or devices, or a backend that cannot start. */
export class BackendError extends HsaError {
  constructor(message: string) {
    super('E_BACKEND', message);
  }
}

/** A NaN or Inf in a loss or gradient: the message names the first offending tensor. */
export class NumericError extends HsaError {
  constructor(message: string) {
    super('E_NUMERIC', message);
  }
}

/** Work stopped by an `AbortSignal`; the state it was working on stays consistent (see the API's notes). */
export class AbortedError extends HsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_ABORTED', message, options);
  }
}
