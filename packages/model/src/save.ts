/**
 * Saving a loaded model in the format it loads from: every parameter under its reference name, in
 * the dtype it is held in on the device (packed f16/bf16 matrices round-trip bit-exactly, since
 * their f32 read-back is exact), MoE layers unstacked into per-expert tensors. One file, or shards
 * of at most `shardBytes` with a `model.safetensors.index.json` (Hugging Face layout).
 */
import { moeParameterNames } from '@hsa/moe';
import { ArgumentError, type SafetensorsTensorInput, serializeSafetensors, type Tensor } from '@hsa/tensor';
import type { HsaModel } from './model.js';
import { parameterSpecs } from './params.js';

const DISK = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;

async function entry(t: Tensor): Promise<SafetensorsTensorInput> {
  const dtype = DISK[t.dtype as keyof typeof DISK];
  if (!dtype) throw new ArgumentError(`save: a ${t.dtype} parameter cannot be saved`);
  return { dtype, shape: t.shape, data: (await t.data()) as Float32Array };
}

/** Rows [e] of a stacked [E, ...] expert tensor as one saved tensor each. */
async function unstack(t: Tensor, names: string[], out: Record<string, SafetensorsTensorInput>): Promise<void> {
  const all = await entry(t);
  const per = t.size / t.shape[0];
  names.forEach((name, e) => {
    out[name] = { dtype: all.dtype, shape: t.shape.slice(1), data: (all.data as Float32Array).subarray(e * per, (e + 1) * per) };
  });
}

/** Every parameter of the model as safetensors inputs, by reference name. */
export async function modelTensors(model: HsaModel): Promise<Record<string, SafetensorsTensorInput>> {
  const out: Record<string, SafetensorsTensorInput> = {};
  const w = model.weights;
  for (const spec of parameterSpecs(model.config)) if (spec.kind !== 'moe') out[spec.name] = await entry(w.get(spec.name));
  for (const [prefix, layer] of w.moe) {
    const n = moeParameterNames(layer.config, prefix);
    out[n.gate] = await entry(layer.gate);
    out[n.bias] = { dtype: 'F32', shape: [layer.config.experts], data: layer.bias };
    for (const part of ['gate', 'up', 'down'] as const) {
      await unstack(
        layer.experts[part],
        n.experts.map((x) => x[part]),
        out,
      );
      if (layer.shared && n.shared) out[n.shared[part]] = await entry(layer.shared[part]);
    }
  }
  return out;
}

export interface SavedModel {
  /** file name → bytes (model.safetensors, or model-0000i-of-0000n.safetensors + the index) */
  files: Map<string, Uint8Array>;
}

const bytesOf = (t: SafetensorsTensorInput) => t.data.length * (t.dtype === 'F32' ? 4 : 2);

/** The model's weight files: one when they fit `shardBytes` (default unlimited), else shards + index. */
export async function serializeModel(model: HsaModel, options: { shardBytes?: number; metadata?: Record<string, string> } = {}): Promise<SavedModel> {
  const tensors = await modelTensors(model);
  const limit = options.shardBytes ?? Number.POSITIVE_INFINITY;
  if (!(limit > 0)) throw new ArgumentError(`save: shardBytes must be > 0, got ${limit}`);
  const shards: Record<string, SafetensorsTensorInput>[] = [{}];
  let size = 0;
  for (const name of Object.keys(tensors).sort()) {
    const b = bytesOf(tensors[name]);
    if (size > 0 && size + b > limit) {
      shards.push({});
      size = 0;
    }
    shards[shards.length - 1][name] = tensors[name];
    size += b;
  }
  const metadata = { format: 'pt', ...options.metadata };
  const files = new Map<string, Uint8Array>();
  if (shards.length === 1) {
    files.set('model.safetensors', serializeSafetensors(shards[0], metadata));
    return { files };
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((s, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    const bytes = serializeSafetensors(s, metadata);
    files.set(file, bytes);
    for (const name of Object.keys(s)) {
      weightMap[name] = file;
      total += bytesOf(s[name]);
    }
  });
  files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)));
  return { files };
}
