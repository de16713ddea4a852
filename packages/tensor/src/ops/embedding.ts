/** Embedding lookup: gathers table rows by id. */
import { ArgumentError, embedding as embeddingKernel, ShapeError } from '@hsa/kernels';
import { fmtShape, Tensor } from '../tensor.js';
import { expectDtype, sameBackend } from './guards.js';

/**
 * out[..., :] = table[ids[...], :] as f32, for a table [vocab, d] of f32 or packed f16/bf16 and i32 ids.
 * Host ids (an array, taken as shape [n]) are range-checked here and throw an ArgumentError; ids
 * already on the device cannot be checked without a sync, so an out-of-range one gives a zero row.
 */
export function embedding(table: Tensor, ids: Tensor | Int32Array | readonly number[]): Tensor {
  expectDtype('embedding', table, 'f32', 'f16', 'bf16');
  if (table.rank !== 2) throw new ShapeError(`embedding: table must be [vocab, d], got ${fmtShape(table.shape)}`);
  const [vocab, d] = table.shape;
  let idt: Tensor;
  if (ids instanceof Tensor) {
    expectDtype('embedding', ids, 'i32');
    sameBackend('embedding', table, ids);
    idt = ids.contiguous();
  } else {
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t];
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new ArgumentError(`embedding: id ${id} at position ${t} is outside [0, ${vocab}) for table ${fmtShape(table.shape)}`);
      }
    }
    idt = Tensor.from(table.backend, Int32Array.from(ids), [ids.length], 'i32');
  }
  const tc = table.contiguous();
  const out = Tensor.empty(table.backend, [...idt.shape, d], 'f32');
  if (out.size > 0) {
    table.backend.run(embeddingKernel, { vocab, d, n: idt.size, dtype: table.dtype as 'f32' | 'f16' | 'bf16' }, [
      tc.arg(),
      idt.arg(),
      out.arg(),
    ]);
  }
  tc.dispose();
  idt.dispose();
  return out;
}
