/**
 * Training checkpoints in safetensors: parameters (`param/<name>`), AdamW moments (`adamw.m/<name>`,
 * `adamw.v/<name>`), and in the metadata the step, the optimizer step, the RNG state and the run's
 * config. Bytes in, bytes out (browser-safe); files go through an injected {@link CheckpointIO} (the
 * Node one writes atomically: temp file, fsync, rename).
 */
import { HsaError, ShapeError } from '@hsa/kernels';
import type { Parameter } from '../autograd/parameter.js';
import { SafetensorsFile, type SafetensorsTensorInput, serializeSafetensors } from '../io/safetensors.js';
import type { AdamW } from '../optim/adamw.js';
import { fmtShape, type Tensor } from '../tensor.js';

export const CHECKPOINT_FORMAT = 'hsa-train/1';

/** Where checkpoint bytes live; `write` must never leave a torn file at `path`. */
export interface CheckpointIO {
  write(path: string, bytes: Uint8Array): Promise<void>;
  read(path: string): Promise<Uint8Array>;
  exists(path: string): Promise<boolean>;
}

/** The scalar state of a run saved beside the tensors. */
export interface TrainState {
  step: number;
  rngState: number;
  config: Record<string, unknown>;
}

async function f32(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** Serializes parameters, optimizer moments and the run state (reads the tensors back first). */
export async function serializeCheckpoint(params: readonly Parameter[], opt: AdamW, state: TrainState): Promise<Uint8Array> {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  const moments = opt.moments();
  for (const p of params) {
    const shape = p.value.shape;
    const s = moments.get(p.name);
    tensors[`param/${p.name}`] = { dtype: 'F32', shape, data: await f32(p.value) };
    if (s) {
      tensors[`adamw.m/${p.name}`] = { dtype: 'F32', shape, data: await f32(s.m) };
      tensors[`adamw.v/${p.name}`] = { dtype: 'F32', shape, data: await f32(s.v) };
    }
  }
  const metadata = {
    format: CHECKPOINT_FORMAT,
    step: String(state.step),
    optimizerStep: String(opt.step),
    rngState: String(state.rngState >>> 0),
    config: JSON.stringify(state.config),
  };
  return serializeSafetensors(tensors, metadata);
}

function load(file: SafetensorsFile, name: string, into: Tensor): void {
  const e = file.tensors.get(name);
  if (!e) throw new HsaError('E_BAD_CHECKPOINT', `checkpoint: tensor '${name}' is missing`);
  if (e.shape.length !== into.rank || e.shape.some((d, i) => d !== into.shape[i])) {
    throw new ShapeError(`checkpoint: '${name}' has shape ${fmtShape(e.shape)}, the model expects ${fmtShape(into.shape)}`);
  }
  const data = file.float32(name);
  if (data.length > 0) into.backend.write(into.storage, data);
}

/** Loads a checkpoint into existing parameters and optimizer (same names and shapes); returns the run state. */
export function loadCheckpoint(bytes: Uint8Array, params: readonly Parameter[], opt: AdamW): TrainState {
  const file = SafetensorsFile.parse(bytes);
  const md = file.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new HsaError('E_BAD_CHECKPOINT', `checkpoint: format '${md.format}' is not ${CHECKPOINT_FORMAT}`);
  }
  for (const p of params) {
    load(file, `param/${p.name}`, p.value);
    if (file.tensors.has(`adamw.m/${p.name}`)) {
      const s = opt.stateOf(p);
      load(file, `adamw.m/${p.name}`, s.m);
      load(file, `adamw.v/${p.name}`, s.v);
    }
  }
  opt.step = Number(md.optimizerStep);
  return { step: Number(md.step), rngState: Number(md.rngState) >>> 0, config: JSON.parse(md.config ?? '{}') };
}
