/**
 * loadModelFromUrl against a local HTTP server: the golden model (one file, with Content-Length) and
 * a sharded save (chunked bodies without Content-Length) load with the logits of the disk loader and
 * progress that rises to the bytes of every file; a body cut short, a 500 and a missing config are
 * typed errors.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@hsa/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromUrl } from './fetch.js';
import { saveModelDir } from './node.js';
import { GOLDEN_DIR, goldenModel } from './test-utils/golden.js';

const tmp = mkdtempSync(join(tmpdir(), 'hsa-fetch-'));
let server: Server;
let base = '';

/** /golden/* → the golden files; /sharded/* → a sharded save, sent in 64 KiB chunks without a length; /cut/* → truncated. */
function route(url: string): { bytes: Buffer; chunked: boolean } | number {
  const [, dir, name] = url.split('/');
  if (dir === 'fail') return 500;
  if (!['golden', 'cut', 'sharded'].includes(dir)) return 404;
  const file = dir === 'sharded' ? join(tmp, 'sharded', name) : join(GOLDEN_DIR, name === 'config.json' ? 'config_softmax.json' : name);
  try {
    const bytes = readFileSync(file);
    if (dir === 'cut' && name.endsWith('.safetensors')) return { bytes: bytes.subarray(0, bytes.byteLength - 1000), chunked: true };
    return { bytes, chunked: dir === 'sharded' };
  } catch {
    return 404;
  }
}

beforeAll(async () => {
  const be = new CpuBackend();
  const m = goldenModel(be);
  await saveModelDir(m, join(tmp, 'sharded'), { shardBytes: 1 << 20 });
  m.dispose();
  server = createServer((req, res) => {
    const r = route(req.url ?? '');
    if (typeof r === 'number') return res.writeHead(r).end();
    if (!r.chunked) return res.writeHead(200, { 'content-length': r.bytes.byteLength }).end(r.bytes);
    res.writeHead(200);
    for (let i = 0; i < r.bytes.byteLength; i += 1 << 16) res.write(r.bytes.subarray(i, i + (1 << 16)));
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function logits(m: Awaited<ReturnType<typeof loadModelFromUrl>>): Promise<number[]> {
  const t = await m.forward([1, 2, 3, 4, 5, 6, 7, 8]);
  const d = Array.from(await t.data());
  t.dispose();
  return d;
}

describe('loadModelFromUrl', () => {
  it('one file with Content-Length, and shards streamed without it, load like the golden model from disk', async () => {
    const be = new CpuBackend();
    const want = await logits(goldenModel(be));
    for (const dir of ['golden', 'sharded']) {
      const seen: [number, number][] = [];
      const m = await loadModelFromUrl(be, `${base}/${dir}/`, { onDownload: (r, t) => seen.push([r, t]) });
      expect(await logits(m)).toEqual(want);
      m.dispose();
      const last = seen.at(-1)!;
      expect(last[0]).toBe(last[1]);
      if (dir === 'golden') expect(last[0]).toBe(statSync(join(GOLDEN_DIR, 'model.safetensors')).size);
      for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
    }
  }, 300_000);

  it('a truncated body, an HTTP error and a missing config are typed errors', async () => {
    const be = new CpuBackend();
    await expect(loadModelFromUrl(be, `${base}/cut`)).rejects.toThrow(/ended after \d+ of \d+ bytes/);
    await expect(loadModelFromUrl(be, `${base}/fail`)).rejects.toMatchObject({ code: 'E_BAD_CHECKPOINT' });
    await expect(loadModelFromUrl(be, `${base}/nothing`)).rejects.toMatchObject({ code: 'E_BAD_CONFIG' });
  });
});
