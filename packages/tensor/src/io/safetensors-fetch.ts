/**
 * Fetching a safetensors file (browsers and Node 18+): the body is streamed into one buffer sized
 * from Content-Length or, failing that, from the header (8 + N + the largest data offset), with
 * byte-accurate progress; a body that ends early, an HTTP error or a size mismatch is an
 * E_BAD_CHECKPOINT error naming the URL. Peak memory is the file once (no chunk list + copy).
 */
import { HsaError } from '@hsa/kernels';
import { SafetensorsFile } from './safetensors.js';

export interface FetchSafetensorsOptions {
  /** the fetch to use (default globalThis.fetch) */
  fetch?: typeof globalThis.fetch;
  /** bytes received and expected, after each chunk of the body */
  onProgress?: (received: number, total: number) => void;
  signal?: AbortSignal;
}

const bad = (url: string, msg: string) => new HsaError('E_BAD_CHECKPOINT', `${url}: ${msg}`);

/** Total file size from the first bytes (8-byte length + header JSON), or null until they are in. */
function sizeFromHeader(head: Uint8Array, url: string): number | null {
  if (head.byteLength < 8) return null;
  const n = SafetensorsFile.headerBytes(head);
  if (head.byteLength < n) return null;
  let max = 0;
  try {
    const json = JSON.parse(new TextDecoder().decode(head.subarray(8, n))) as Record<string, { data_offsets?: number[] }>;
    for (const [k, v] of Object.entries(json)) if (k !== '__metadata__') max = Math.max(max, v.data_offsets?.[1] ?? 0);
  } catch (e) {
    throw bad(url, `header is not valid JSON (${(e as Error).message})`);
  }
  return n + max;
}

export async function fetchSafetensors(url: string, options: FetchSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const res = await (options.fetch ?? globalThis.fetch)(url, { signal: options.signal });
  if (!res.ok || !res.body) throw bad(url, `HTTP ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  let total = Number.isFinite(declared) && declared > 0 ? declared : null;
  let buf = new Uint8Array(total ?? 1 << 16);
  let received = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.byteLength > buf.byteLength) {
      if (total !== null) throw bad(url, `body is longer than the ${total} bytes expected`);
      const grown = new Uint8Array(Math.max(2 * buf.byteLength, received + value.byteLength));
      grown.set(buf.subarray(0, received));
      buf = grown;
    }
    buf.set(value, received);
    received += value.byteLength;
    total ??= sizeFromHeader(buf.subarray(0, received), url);
    if (total !== null && buf.byteLength < total) {
      const grown = new Uint8Array(total);
      grown.set(buf.subarray(0, received));
      buf = grown;
    }
    options.onProgress?.(received, total ?? received);
  }
  if (total !== null && received < total) throw bad(url, `body ended after ${received} of ${total} bytes (truncated download?)`);
  return SafetensorsFile.parse(buf.subarray(0, received));
}
