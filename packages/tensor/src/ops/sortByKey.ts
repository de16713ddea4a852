/**
 * A stable sort of n i32 keys in [0, buckets] on the device, by index: the LSD radix sort of the HSA
 * selection inversion (8-bit digits, each pass the moeDispatch counting sort: integer counts, stable
 * placement, no atomics), and each key's run found by binary search. Deterministic.
 */
import { hsaBucketStarts, hsaRadixCompose, hsaRadixDigits, type InvertParams, moeCount, moeScan, moeScatter, moeSortBlocks, radixPasses } from '@hsa/kernels';
import { Tensor } from '../tensor.js';

export interface SortedRuns {
  /** [n] u32: the indices ordered by (key, index) */
  order: Tensor;
  /** [buckets + 1] u32: key b's indices are order[starts[b] .. starts[b+1]) for b < buckets */
  starts: Tensor;
}

/** Orders the indices of `key` ([n] i32, each in [0, buckets]; `buckets` sorts last). n must be > 0. */
export function sortByKey(key: Tensor, buckets: number): SortedRuns {
  const be = key.backend;
  const n = key.size;
  // the inversion kernels see buckets as chunks × 1 KV head, one slot per index
  const ip: InvertParams = { n, hk: 1, k: 1, chunks: buckets };
  const nb = moeSortBlocks(n);
  const mp = { A: n, E: 256, tileM: 1 };
  const tmp = {
    digits: Tensor.empty(be, [n], 'i32'),
    counts: Tensor.empty(be, [nb, 256], 'u32'),
    blockOffsets: Tensor.empty(be, [nb, 256], 'u32'),
    offsets: Tensor.empty(be, [257], 'u32'),
    tileStart: Tensor.empty(be, [257], 'u32'),
    perm: Tensor.empty(be, [n], 'u32'),
  };
  let order = Tensor.empty(be, [n], 'u32');
  for (let pass = 0; pass < radixPasses(ip); pass++) {
    const pp = { ...ip, shift: 8 * pass, first: pass === 0 };
    be.run(hsaRadixDigits, pp, [key.arg(), order.arg(), tmp.digits.arg()]);
    be.run(moeCount, mp, [tmp.digits.arg(), tmp.counts.arg()]);
    be.run(moeScan, mp, [tmp.counts.arg(), tmp.blockOffsets.arg(), tmp.offsets.arg(), tmp.tileStart.arg()]);
    be.run(moeScatter, mp, [tmp.digits.arg(), tmp.blockOffsets.arg(), tmp.perm.arg()]);
    const next = Tensor.empty(be, [n], 'u32');
    be.run(hsaRadixCompose, pp, [order.arg(), tmp.perm.arg(), next.arg()]);
    order.dispose();
    order = next;
  }
  const starts = Tensor.empty(be, [buckets + 1], 'u32');
  be.run(hsaBucketStarts, ip, [key.arg(), order.arg(), starts.arg()]);
  for (const x of Object.values(tmp)) x.dispose();
  return { order, starts };
}
