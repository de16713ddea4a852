/**
 * Messages between the page and the model's worker. The model, its backend and its tokenizer live
 * in the worker, so the page stays responsive however long a CPU or gpu.js step takes; the page
 * keeps the document (its ids) to draw chunks and their text.
 */
import type { GenerationResult, RetrievalStep } from '@hsa/model';
import type { DemoBackendKind } from '../backends/choose.js';

export type ToWorker =
  | { type: 'init'; modelUrl: string; want: DemoBackendKind | 'auto'; gpujsMinWork?: number }
  | { type: 'run'; ids: Int32Array; maxNewTokens: number; segment: number }
  | { type: 'stop' };

/** An error as it crosses to the page: rebuilt there as the typed error it was. */
export interface WireError {
  name: string;
  code?: string;
  message: string;
}

/** What the page needs to plan memory without the model. */
export interface ModelShape {
  configJson: unknown;
  matrixBytes: number;
  maxBindingBytes: number;
}

export type FromWorker =
  | { type: 'backend'; kind: DemoBackendKind; label: string; why: string }
  | { type: 'download'; got: number; total: number }
  | { type: 'loaded'; shape: ModelShape; source: 'cache' | 'network' | 'mixed'; seconds: number; tokenizerJson: string }
  | { type: 'prefill'; done: number; total: number; live: number }
  | { type: 'token'; id: number; text: string; step?: RetrievalStep }
  | { type: 'done'; result: GenerationResult; peak: number; report: string }
  | { type: 'error'; error: WireError; report?: string };
