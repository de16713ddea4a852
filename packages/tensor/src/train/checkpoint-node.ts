/**
 * Node file I/O for checkpoints. A write goes to `<path>.tmp-<pid>-<n>`, is fsynced, renamed over
 * `path` (atomic on POSIX file systems), and the directory is fsynced so the rename itself survives a
 * crash: a reader sees the old file or the new one, never a torn one.
 */
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointIO } from './checkpoint.js';

let counter = 0;

/** Writes `bytes` to `path` atomically (temp file + fsync + rename + directory fsync). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${counter++}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } catch {
    // some file systems refuse fsync on a directory; the rename is still atomic there
  } finally {
    await dir.close();
  }
}

/** CheckpointIO over the local file system. */
export const nodeCheckpointIO: CheckpointIO = {
  write: writeFileAtomic,
  read: async (path) => new Uint8Array(await readFile(path)),
  exists: async (path) =>
    stat(path).then(
      () => true,
      () => false,
    ),
};
