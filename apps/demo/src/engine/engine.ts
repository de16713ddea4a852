/**
 * The page's side of the model worker: starts it, forwards its messages to handlers, and turns its
 * errors back into the typed errors the page explains (HsaError with its code, NoBackendError).
 */
import { HsaError } from '@hsa/tensor';
import { NoBackendError } from '../backends/choose.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

export function revive(e: WireError): Error {
  if (e.name === 'NoBackendError') return new NoBackendError(e.message);
  if (e.code?.startsWith('E_')) return new HsaError(e.code as never, e.message);
  return Object.assign(new Error(e.message), { name: e.name });
}

export type Handler = (m: FromWorker) => void;

export class Engine {
  private readonly worker: Worker;
  private handler: Handler = () => {};

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => this.handler(ev.data);
    this.worker.onerror = (ev) => this.handler({ type: 'error', error: { name: 'Error', message: `the model's worker failed: ${ev.message}` } });
  }

  /** Routes the worker's messages to `h` until the next call. */
  on(h: Handler): void {
    this.handler = h;
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }
}
