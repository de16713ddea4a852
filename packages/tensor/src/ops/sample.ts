/** Token sampling over the last axis of logits. */
import { ArgumentError, sample as sampleKernel, TOPK_MAX_K } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';
import { argmax, topk } from './topk.js';

export interface SampleOptions {
  /** 0 = argmax (greedy); default 1 */
  temperature?: number;
  /** candidates kept (default: the whole row, which must then be ≤ 256) */
  topK?: number;
  /** nucleus mass in (0, 1]; default 1 */
  topP?: number;
  /** seeds the host RNG that draws one uniform per row */
  seed?: number;
  /** one uniform in [0, 1) per row instead of a seed (host values or an f32 tensor of shape [rows]) */
  uniform?: Tensor | Float32Array | readonly number[];
}

/** mulberry32: the host RNG behind `seed` (one draw per row, rounded to f32 below 1). */
function uniforms(seed: number, rows: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = Math.min(((t ^ (t >>> 14)) >>> 0) / 4294967296, 1 - 2 ** -24);
  }
  return out;
}

function checkOptions(logits: Tensor, o: SampleOptions): { temperature: number; topK: number; topP: number } {
  const n = logits.shape[logits.rank - 1];
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? n;
  const topP = o.topP ?? 1;
  const where = `for logits ${fmtShape(logits.shape)}`;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new ArgumentError(`sample: temperature ${temperature} must be ≥ 0 ${where}`);
  if (!(topP > 0 && topP <= 1)) throw new ArgumentError(`sample: topP ${topP} must be in (0, 1] ${where}`);
  if (!Number.isInteger(topK) || topK < 1 || topK > Math.min(n, TOPK_MAX_K)) {
    throw new ArgumentError(`sample: topK ${topK} must be an integer in [1, min(row length, ${TOPK_MAX_K})] ${where} (rows longer than ${TOPK_MAX_K} need an explicit topK)`);
  }
  if (temperature > 0 && o.uniform === undefined && o.seed === undefined) {
    throw new ArgumentError(`sample: pass seed or uniform ${where} (sampling is reproducible by design)`);
  }
  return { temperature, topK, topP };
}

function uniformTensor(logits: Tensor, rows: number, o: SampleOptions): Tensor {
  const u = o.uniform;
  if (u instanceof Tensor) {
    expectDtype('sample', u, 'f32');
    sameBackend('sample', logits, u);
    if (u.size !== rows) throw new ArgumentError(`sample: uniform ${fmtShape(u.shape)} must hold one value per row (${rows}) of logits ${fmtShape(logits.shape)}`);
    return u.contiguous();
  }
  const host = u === undefined ? uniforms(o.seed!, rows) : Float32Array.from(u);
  if (host.length !== rows) throw new ArgumentError(`sample: ${host.length} uniforms for ${rows} rows of logits ${fmtShape(logits.shape)}`);
  return Tensor.from(logits.backend, host, [rows]);
}

/**
 * One token id (i32) per row of `logits` [..., n]: softmax(logits / temperature) restricted to the
 * topK best and then to the smallest prefix holding topP of the mass, sampled by inverse CDF with a
 * uniform per row (drawn on the host from `seed`, or given). temperature 0 is argmax.
 */
export function sample(logits: Tensor, options: SampleOptions = {}): Tensor {
  expectDtype('sample', logits, 'f32');
  if (logits.rank === 0) throw new ArgumentError('sample: logits need at least one axis, got a scalar');
  const { temperature, topK, topP } = checkOptions(logits, options);
  if (temperature === 0) return argmax(logits);
  const n = logits.shape[logits.rank - 1];
  const rows = logits.size / n;
  const u = uniformTensor(logits, rows, options);
  const { values, indices } = topk(logits, topK);
  const out = Tensor.empty(logits.backend, logits.shape.slice(0, -1), 'i32');
  if (rows > 0) logits.backend.run(sampleKernel, { rows, k: topK, temperature, topP }, [values.arg(), indices.arg(), u.arg(), out.arg()]);
  for (const t of [u, values, indices]) t.dispose();
  return out;
}
