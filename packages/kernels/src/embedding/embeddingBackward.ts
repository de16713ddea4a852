/**
 * embeddingBackward: dtable[v, :] = Σ_{t: ids[t] = v} dy[t, :] in ascending t, without atomics (math
 * in embeddingBackward.ref.ts). The op sorts the tokens by id first (the stable LSD radix sort of the
 * HSA selection inversion: hsaRadixDigits + moeCount/moeScan/moeScatter + hsaRadixCompose, and
 * hsaBucketStarts for each id's run), then:
 *   embeddingKeys        key[t] = ids[t] when it is a row of the table, else vocab (sorted last)
 *   embeddingSegmentSum  dtable[v, j] = Σ_{i in starts[v] .. starts[v+1]) dy[order[i], j], one thread
 *                        per (v, j), j fastest so the dy reads of a row coalesce
 * v1: one workgroup per token that owned the row of its first occurrence, found by scanning ids[0..t):
 * O(n²) work. v2 (this): O(n·passes + vocab·d + n·d) work; every row is summed by one thread in
 * token order, so the result is bit-identical run to run. Rows no id hits are written as 0.
 */
import { elementwiseGrid, elementwiseWgsl } from '../core/elementwise.js';
import { type BufferBinding, type Kernel, wgslBindings } from '../core/program.js';
import { defineUniforms } from '../core/uniforms.js';

export interface EmbeddingKeysParams {
  /** number of ids */
  n: number;
  vocab: number;
}

export interface EmbeddingSegmentSumParams {
  vocab: number;
  /** row width */
  d: number;
  /** number of ids (entries of order) */
  n: number;
}

const UK = defineUniforms({ n: 'u32', vocab: 'u32' });
const KEY_BUFFERS: BufferBinding[] = [
  { name: 'ids', access: 'read', type: 'i32' },
  { name: 'key', access: 'read_write', type: 'i32' },
];

export const embeddingKeys: Kernel<EmbeddingKeysParams> = {
  name: 'embeddingKeys',
  ref([ids, key], p) {
    for (let t = 0; t < p.n; t++) key[t] = ids[t] >= 0 && ids[t] < p.vocab ? ids[t] : p.vocab;
  },
  program: (p, caps) => ({
    key: 'embeddingKeys',
    code: () =>
      elementwiseWgsl(`${UK.wgsl('U')}\n${wgslBindings(KEY_BUFFERS, 'U')}`, '  let id = ids[i];\n  key[i] = select(i32(u.vocab), id, id >= 0 && id < i32(u.vocab));'),
    buffers: KEY_BUFFERS,
    uniforms: UK.pack({ n: p.n, vocab: p.vocab }),
    workgroups: elementwiseGrid(p.n, caps),
  }),
};

const US = defineUniforms({ n: 'u32', d: 'u32', slots: 'u32' });
const SUM_BUFFERS: BufferBinding[] = [
  { name: 'dy', access: 'read', type: 'f32' },
  { name: 'order', access: 'read', type: 'u32' },
  { name: 'starts', access: 'read', type: 'u32' },
  { name: 'out', access: 'read_write', type: 'f32' },
];

export const embeddingSegmentSum: Kernel<EmbeddingSegmentSumParams> = {
  name: 'embeddingSegmentSum',
  ref([dy, order, starts, out], p) {
    for (let v = 0; v < p.vocab; v++) {
      for (let j = 0; j < p.d; j++) {
        let acc = 0;
        for (let i = starts[v]; i < starts[v + 1]; i++) acc += dy[order[i] * p.d + j];
        out[v * p.d + j] = acc;
      }
    }
  },
  program: (p, caps) => ({
    key: 'embeddingSegmentSum',
    code: () =>
      elementwiseWgsl(
        `${US.wgsl('U')}\n${wgslBindings(SUM_BUFFERS, 'U')}`,
        `  let v = i / u.d;
  let j = i % u.d;
  var acc = 0.0;
  for (var k = starts[v]; k < starts[v + 1u]; k++) { acc += dy[min(order[k], u.slots - 1u) * u.d + j]; }
  out[i] = acc;`,
      ),
    buffers: SUM_BUFFERS,
    uniforms: US.pack({ n: p.vocab * p.d, d: p.d, slots: p.n }),
    workgroups: elementwiseGrid(p.vocab * p.d, caps),
  }),
};
