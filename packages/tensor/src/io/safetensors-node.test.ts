/**
 * openSafetensorsFile: only the header is read at open (every entry checked against the file size,
 * so a truncated file fails there with E_BAD_CHECKPOINT); tensors are read on access and equal
 * what the in-memory parser gives; after close() reads fail.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, serializeSafetensors } from './safetensors.js';
import { openSafetensorsFile } from './safetensors-node.js';

const dir = mkdtempSync(join(tmpdir(), 'hsa-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string): string {
  const path = join(dir, name);
  const bytes = serializeSafetensors({
    a: { dtype: 'F32', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i * 0.5 - 3) },
    b: { dtype: 'BF16', shape: [7], data: Float32Array.from({ length: 7 }, (_, i) => i - 2) },
    c: { dtype: 'I64', shape: [2], data: BigInt64Array.from([5n, -9n]) },
  });
  writeFileSync(path, bytes);
  return path;
}

describe('openSafetensorsFile', () => {
  it('reads tensors on access, equal to the in-memory parse', () => {
    const path = write('ok.safetensors');
    const mem = SafetensorsFile.parse(readFileSync(path));
    const lazy = openSafetensorsFile(path);
    expect(lazy.file.names.sort()).toEqual(mem.names.sort());
    expect(Array.from(lazy.file.float32('a'))).toEqual(Array.from(mem.float32('a')));
    expect(Array.from(lazy.file.half16('b'))).toEqual(Array.from(mem.half16('b')));
    expect(Array.from(lazy.file.int32('c'))).toEqual([5, -9]);
    lazy.close();
    expect(() => lazy.file.float32('a')).toThrow();
  });

  it('a file cut inside its data fails at open, naming the tensor that runs past the end', () => {
    const path = write('cut.safetensors');
    const size = readFileSync(path).byteLength;
    truncateSync(path, size - 3);
    expect(() => openSafetensorsFile(path)).toThrow(expect.objectContaining({ code: 'E_BAD_CHECKPOINT' }));
    truncateSync(path, 5);
    expect(() => openSafetensorsFile(path)).toThrow(/truncated/);
  });
});
