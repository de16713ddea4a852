/** The page's elements, and errors put into words a reader can act on. */
import { HsaError } from '@hsa/tensor';
import { NoBackendError } from './backends/choose.js';

const byId = <T extends HTMLElement>(id: string) => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
};

export const ui = {
  backend: byId<HTMLParagraphElement>('backend'),
  modelStatus: byId<HTMLParagraphElement>('model-status'),
  download: byId<HTMLProgressElement>('download'),
  error: byId<HTMLDivElement>('error'),
  setup: byId<HTMLFormElement>('setup'),
  taskFields: byId<HTMLDivElement>('task-fields'),
  textFields: byId<HTMLDivElement>('text-fields'),
  task: byId<HTMLSelectElement>('task'),
  context: byId<HTMLInputElement>('context'),
  presets: byId<HTMLDataListElement>('context-presets'),
  depth: byId<HTMLInputElement>('depth'),
  depthOut: byId<HTMLOutputElement>('depth-out'),
  seed: byId<HTMLInputElement>('seed'),
  text: byId<HTMLTextAreaElement>('text'),
  file: byId<HTMLInputElement>('file'),
  question: byId<HTMLInputElement>('question'),
  find: byId<HTMLInputElement>('find'),
  maxNew: byId<HTMLInputElement>('max-new'),
  plan: byId<HTMLParagraphElement>('plan'),
  start: byId<HTMLButtonElement>('start'),
  stop: byId<HTMLButtonElement>('stop'),
  prefill: byId<HTMLProgressElement>('prefill'),
  prefillStatus: byId<HTMLParagraphElement>('prefill-status'),
  questionShown: byId<HTMLSpanElement>('question-shown'),
  answer: byId<HTMLOutputElement>('answer'),
  verdict: byId<HTMLParagraphElement>('verdict'),
  raster: byId<HTMLDivElement>('raster'),
  tokens: byId<HTMLDivElement>('tokens'),
  chunks: byId<HTMLDivElement>('chunks'),
  chunkText: byId<HTMLPreElement>('chunk-text'),
};

/** What went wrong, in words, with what to do about it. */
export function explain(e: unknown, modelUrl: string): { code: string; text: string } {
  if (e instanceof NoBackendError) return { code: 'E_NO_BACKEND', text: e.message };
  if (e instanceof HsaError) {
    switch (e.code) {
      case 'E_OUT_OF_MEMORY':
        return { code: e.code, text: `Not enough memory: ${e.message}` };
      case 'E_DEVICE_LOST':
        return { code: e.code, text: `The GPU stopped (device lost): ${e.message}. Reload the page; a shorter context needs less memory.` };
      case 'E_BAD_CHECKPOINT':
      case 'E_BAD_CONFIG':
        return { code: e.code, text: `The model at ${modelUrl} could not be loaded: ${e.message}. Check the address (the "model=" parameter) or reload.` };
      case 'E_ABORTED':
        return { code: e.code, text: 'Stopped.' };
      default:
        return { code: e.code, text: e.message };
    }
  }
  if (e instanceof TypeError && /fetch/i.test(e.message)) {
    return { code: 'E_NETWORK', text: `Could not download the model from ${modelUrl} (${e.message}). Check the connection, or open the page once online so it is cached.` };
  }
  if (e instanceof RangeError || (e instanceof Error && /allocation|out of memory/i.test(e.message))) {
    return { code: 'E_OUT_OF_MEMORY', text: `Not enough memory (${(e as Error).message}). Choose a shorter context.` };
  }
  return { code: 'E_UNKNOWN', text: e instanceof Error ? e.message : String(e) };
}

export function showError(e: unknown, modelUrl: string): void {
  const { code, text } = explain(e, modelUrl);
  ui.error.hidden = false;
  ui.error.dataset.code = code;
  ui.error.textContent = text;
}

export function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
  delete ui.error.dataset.code;
}
