/** Tensors made on the device: constant fill and arange. */
import { ArgumentError, arange as arangeKernel, type DType, f32ToBf16, f32ToF16, fill as fillKernel } from '@hsa/kernels';
import type { Backend } from '../backend.js';
import { fmtShape, type Shape, Tensor } from '../tensor.js';

function pattern(value: number, dtype: DType, shape: Shape): number {
  if (dtype === 'f32') return new Uint32Array(new Float32Array([value]).buffer)[0];
  if (dtype === 'f16' || dtype === 'bf16') {
    const h = dtype === 'f16' ? f32ToF16(value) : f32ToBf16(value);
    return (h | (h << 16)) >>> 0;
  }
  const lo = dtype === 'i32' ? -(2 ** 31) : 0;
  if (!Number.isInteger(value) || value < lo || value >= lo + 2 ** 32) {
    throw new ArgumentError(`fill: ${value} is not a ${dtype} value (shape ${fmtShape(shape)})`);
  }
  return value >>> 0;
}

/** A tensor of `shape` with every element = value (rounded to f16/bf16 as f32ToF16 / f32ToBf16). */
export function fill(backend: Backend, shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const bits = pattern(value, dtype, shape);
  const out = Tensor.empty(backend, shape, dtype);
  const words = Math.ceil((out.size * (dtype === 'f16' || dtype === 'bf16' ? 2 : 4)) / 4);
  if (words > 0) backend.run(fillKernel, { words, pattern: bits }, [out.arg()]);
  return out;
}

/**
 * [start, start + step, ...] below `end` (above it for a negative step), NumPy's length rule
 * ⌈(end − start)/step⌉; f32 computes start + i·step in f32, i32 needs integer arguments.
 */
export function arange(backend: Backend, start: number, end: number, step = 1, dtype: 'f32' | 'i32' = 'f32'): Tensor {
  const args = `arange(${start}, ${end}, ${step}, ${dtype})`;
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step) || step === 0) {
    throw new ArgumentError(`${args}: start, end and step must be finite and step ≠ 0`);
  }
  if (dtype === 'i32' && ![start, end, step].every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31)) {
    throw new ArgumentError(`${args}: i32 arange needs 32-bit integer start, end and step`);
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const out = Tensor.empty(backend, [n], dtype);
  if (n > 0) backend.run(arangeKernel, { n, start, step, type: dtype }, [out.arg()]);
  return out;
}
