/** Node-only file helpers for safetensors (the core in `safetensors.ts` stays browser-safe). */
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
