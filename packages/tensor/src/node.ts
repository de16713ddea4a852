/** @hsa/tensor/node: Node-only file I/O, kept out of the browser entry. */
/** Atomic checkpoint writes (temp file, fsync, rename, directory fsync) and the Node CheckpointIO. */
export { nodeCheckpointIO, writeFileAtomic } from './train/checkpoint-node.js';
/** safetensors files on disk. */
export { type OpenSafetensorsFile, openSafetensorsFile, readSafetensorsFile, writeSafetensorsFile } from './io/safetensors-node.js';
