/** Node-only file helpers for safetensors (the core in `safetensors.ts` stays browser-safe). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { SafetensorsFile, type SafetensorsTensorInput, serializeSafetensors } from './safetensors.js';

/** Reads and parses a safetensors file (the whole file is held in memory). */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  return SafetensorsFile.parse(await readFile(path));
}

/** Serializes `tensors` (and optional string metadata) to a safetensors file at `path`. */
export async function writeSafetensorsFile(
  path: string,
  tensors: Record<string, SafetensorsTensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFile(path, serializeSafetensors(tensors, metadata));
}

/** A safetensors file read lazily from disk: only the header now, each tensor's bytes when accessed. */
export interface OpenSafetensorsFile {
  file: SafetensorsFile;
  /** closes the file descriptor (later tensor reads fail) */
  close(): void;
}

function readAt(fd: number, bytes: number, position: number, path: string): Uint8Array {
  const out = new Uint8Array(bytes);
  let done = 0;
  while (done < bytes) {
    const n = readSync(fd, out, done, bytes - done, position + done);
    if (n === 0) throw new Error(`${path}: unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return out;
}

/**
 * Opens a safetensors file without reading its data: the header is parsed and every entry checked
 * against the file's size (a truncated file fails here); tensor bytes are read on access, so
 * loading a model holds one tensor at a time in host memory.
 */
export function openSafetensorsFile(path: string): OpenSafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const first = readAt(fd, Math.min(8, size), 0, path);
    const headBytes = first.byteLength < 8 ? first.byteLength : Math.min(SafetensorsFile.headerBytes(first), size);
    const head = readAt(fd, headBytes, 0, path);
    const file = SafetensorsFile.fromHeader(head, size - headBytes, (b, e) => readAt(fd, e - b, headBytes + b, path));
    return { file, close: () => closeSync(fd) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
