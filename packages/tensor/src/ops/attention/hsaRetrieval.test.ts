/** hsaRetrieval (fused, and block scan + merge) on every backend against the CPU reference. */
import { ArgumentError, type HsaRetrievalParams, hsaSelect, hsaSlots, PORTABLE_CAPS, retrievalForwardRef } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor.js';
import { expectClose, freshSeed, randF32, testBackends, toF64 } from '../../test-utils/index.js';
import { cast } from '../cast.js';
import { hsaRetrieval } from './hsaRetrieval.js';

type Case = Omit<HsaRetrievalParams, 'scale'> & { blockLen?: number; topkMode?: 'rank' | 'threshold' | 'bound' | 'subgroup'; ties?: boolean; flat?: boolean; bf16?: boolean; fusedVersion?: 1 | 2 | 3 };

const base = { s: 16, hr: 2, hk: 2, dr: 8, topk: 3, mode: 'softmax' as const };
const CASES: Case[] = [
  { ...base, t: 70, chunks: 4 },
  // prefill-shaped (fused v3 by default, v2 and v1 as asked; chunks past the last visible one
  // skipped): early tokens see fewer chunks than k, later ones all 40; with the mask window
  { ...base, t: 170, chunks: 40, s: 4, topk: 5, dr: 12 },
  { ...base, t: 170, chunks: 40, s: 4, topk: 5, dr: 12, maskWindow: 6, posOffset: 3 },
  { ...base, t: 170, chunks: 40, s: 4, topk: 5, dr: 12, fusedVersion: 2 },
  { ...base, t: 170, chunks: 40, s: 4, topk: 5, dr: 12, fusedVersion: 1 },
  // fused v3 over several blocks of 1024 chunks (the list carried from block to block): ~2000
  // visible chunks; with the mask window (every chunk visited, the invisible ones as NEG entries);
  // many equal scores; every score equal (each block's entries tie with the list's)
  { ...base, t: 130, chunks: 2500, s: 4, topk: 16, dr: 8, posOffset: 8000 },
  { ...base, t: 130, chunks: 2500, s: 4, topk: 7, dr: 12, posOffset: 8000, maskWindow: 9, mode: 'stickBreaking' },
  { ...base, t: 130, chunks: 2100, s: 4, topk: 16, dr: 8, posOffset: 8000, ties: true },
  { ...base, t: 130, chunks: 2100, s: 4, topk: 20, dr: 8, posOffset: 8000, flat: true },
  // k over 64 (list capacity 128) and fewer visible chunks than k for early rows
  { ...base, t: 300, chunks: 150, s: 2, topk: 100, dr: 4 },
  { ...base, t: 40, chunks: 2, topk: 8, mode: 'stickBreaking' },
  { ...base, t: 9, chunks: 12, hr: 1, hk: 3, posOffset: 150, posDecay: 0.3, dr: 5 },
  { ...base, t: 33, chunks: 6, maskWindow: 40, posOffset: 20, mode: 'stickBreaking' },
  { ...base, t: 1, chunks: 5000, s: 64, topk: 16, posOffset: 5000 * 64 + 7, dr: 64 },
  { ...base, t: 3, chunks: 300, s: 4, topk: 5, posOffset: 900, blockLen: 64, hr: 1, hk: 2 },
  { ...base, t: 5, chunks: 1, s: 1, topk: 1, posOffset: 0 },
  // vec4 block scan: dr = 12 (3 loads a chunk), 3 tiles with a partial one, masked chunks
  { ...base, t: 2, chunks: 1000, s: 8, topk: 7, posOffset: 6000, maskWindow: 300, dr: 12, blockLen: 700 },
  // vec4 scan with few chunks per tile (dr = 200), and the scalar scan (dr = 5), stick-breaking
  { ...base, t: 1, chunks: 900, s: 2, topk: 16, posOffset: 1700, dr: 200, blockLen: 256, mode: 'stickBreaking' },
  { ...base, t: 2, chunks: 700, s: 2, topk: 9, posOffset: 1401, dr: 5, blockLen: 128 },
  // many equal scores (landmarks and queries in {−1, 0, 1}): the order by chunk index decides
  { ...base, t: 1, chunks: 3000, s: 4, topk: 16, posOffset: 12000, dr: 8, ties: true },
  // the merge bounded by the block heads (v4): ties over 30 blocks, exactly k blocks with one past
  // the visible chunks (an empty block's head), more blocks than heads it takes (every candidate offered)
  { ...base, t: 1, chunks: 3000, s: 4, topk: 16, posOffset: 12000, dr: 8, ties: true, blockLen: 100 },
  { ...base, t: 2, chunks: 900, s: 4, topk: 9, posOffset: 3200, dr: 8, blockLen: 100 },
  { ...base, t: 1, chunks: 3000, s: 4, topk: 4, posOffset: 12000, dr: 8, blockLen: 8 },
  // every score equal (a zero query): the chunk order decides, and the k − 1 best blocks' whole lists
  // (19 · 20 + 1 candidates) overflow the one compaction: offered 256 at a time
  { ...base, t: 1, chunks: 3000, s: 4, topk: 20, posOffset: 12000, dr: 8, blockLen: 32, flat: true },
  // k ≤ 4: lists that fit SwiftShader's subgroups of 4, so the subgroup top-k (v5) runs here too
// (the H200's lists of 16 in subgroups of 32 are checked by bench/attention before it times them):
  // one and several tiles a block, ties, every score equal, stick-breaking with a mask window and a
  // position decay, 7 visible chunks of 2000 (the lists filled with invisible ones), k = 1 and 2
  { ...base, t: 1, chunks: 3000, s: 4, topk: 4, posOffset: 12000, dr: 8, blockLen: 256 },
  { ...base, t: 2, chunks: 3000, s: 4, topk: 3, posOffset: 12000, dr: 16, blockLen: 700, ties: true },
  { ...base, t: 1, chunks: 3000, s: 4, topk: 4, posOffset: 12000, dr: 8, blockLen: 40, flat: true },
  { ...base, t: 2, chunks: 1000, s: 8, topk: 4, posOffset: 6000, maskWindow: 300, dr: 12, blockLen: 300, mode: 'stickBreaking', posDecay: 0.2 },
  { ...base, t: 1, chunks: 2000, s: 4, topk: 4, posOffset: 30, dr: 8, blockLen: 100 },
  { ...base, t: 3, chunks: 1500, s: 4, topk: 1, posOffset: 6000, dr: 8, blockLen: 256, hr: 1, hk: 2 },
  { ...base, t: 1, chunks: 1500, s: 4, topk: 2, posOffset: 6000, dr: 64, blockLen: 512 },
  // k = 2: lists of 2, two to a subgroup of 4, so each merge level also merges lists across lanes
  { ...base, t: 3, chunks: 3000, s: 4, topk: 2, posOffset: 12000, dr: 8, blockLen: 256 },
  { ...base, t: 2, chunks: 3000, s: 4, topk: 2, posOffset: 12000, dr: 8, blockLen: 64, ties: true },
];
// the previous top-ks (v2: rank counting of every candidate; v3: each offer bounded first; v4: the
// merge bounded by the block heads, the default without subgroups) on every case with a block scan
// (the default where the adapter has subgroups, SwiftShader's included: v5 on subgroups)
// bf16 landmarks: read packed by the decode scan (dr 64, with several tiles a block), else as an f32 copy
// (the fused pass; dr 12)
const BF16: Case[] = [
  { ...base, t: 1, chunks: 5000, s: 64, topk: 16, posOffset: 5000 * 64 + 7, dr: 64, bf16: true },
  { ...base, t: 1, chunks: 3000, s: 4, topk: 16, posOffset: 12000, dr: 16, blockLen: 700, bf16: true },
  { ...base, t: 2, chunks: 1000, s: 8, topk: 7, posOffset: 6000, maskWindow: 300, dr: 12, blockLen: 700, bf16: true },
  { ...base, t: 33, chunks: 6, maskWindow: 40, posOffset: 20, mode: 'stickBreaking', bf16: true },
  // k ≤ 4: the subgroup top-k (v5) on SwiftShader, whose subgroups of 4 run apart: each invocation's
  // packed dot reads query words other subgroups stage (a missing barrier there was caught here)
  { ...base, t: 1, chunks: 40, s: 64, topk: 4, posOffset: 40 * 64 + 10, dr: 64, blockLen: 7, bf16: true },
  { ...base, t: 2, chunks: 300, s: 8, topk: 3, posOffset: 2500, dr: 32, blockLen: 100, bf16: true },
];
// (the block scan: blockLen, or few rows over many chunks; the fused cases over 2000 chunks are not)
const SCANNED = CASES.filter((c) => c.blockLen !== undefined || (c.chunks > 1024 && c.t * c.hr < 256));
const RANK: Case[] = (['rank', 'threshold', 'bound'] as const).flatMap((topkMode) => SCANNED.map((c) => ({ ...c, topkMode })));

describe.each(testBackends())('hsaRetrieval on %s', (_name, makeBackend) => {
  it.each([...CASES, ...RANK, ...BF16])('%j', async (c) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const round = (a: Float32Array) => (c.ties ? a.map((x) => Math.round(x)) : a);
    const qr = c.flat ? new Float32Array(c.t * c.hr * c.dr) : round(randF32(c.t * c.hr * c.dr, seed));
    const lmk32 = Tensor.from(be, round(randF32(c.chunks * c.hr * c.dr, seed + 1)), [c.chunks, c.hr, c.dr]);
    const lmkT = c.bf16 ? cast(lmk32, 'bf16') : lmk32;
    // the oracle reads the stored values (bf16-rounded for bf16 landmarks)
    const lmk = (await (c.bf16 ? cast(lmkT, 'f32') : lmkT).data()) as Float32Array;
    const r = hsaRetrieval(Tensor.from(be, qr, [c.t, c.hr, c.dr]), lmkT, {
      chunkSize: c.s,
      topk: c.topk,
      mode: c.mode,
      hk: c.hk,
      posDecay: c.posDecay,
      posOffset: c.posOffset,
      maskWindow: c.maskWindow,
      blockLen: c.blockLen,
      topkMode: c.topkMode,
      fusedVersion: c.fusedVersion,
    });
    const f = retrievalForwardRef(toF64(qr), toF64(lmk), c);
    const k = hsaSlots(c);
    const expand = (a: ArrayLike<number>) =>
      Float64Array.from({ length: c.t * c.hk * k }, (_, i) => {
        const [t, g, j] = [Math.floor(i / (c.hk * k)), Math.floor(i / k) % c.hk, i % k];
        return a[(t * c.hr + (c.hr === 1 ? 0 : g)) * k + j];
      });
    const label = `seed=${seed}`;
    expect(Array.from(await r.idx.data()), label).toEqual(Array.from(expand(f.idx)));
    // scores are dr-term dots of values in [-1, 1): f32 error ≤ 2ε·dr·dr-ish; weights inherit it
    const tol = 8 * 2 ** -23 * c.dr * 4;
    expectClose(await r.sel.data(), f.sel, tol, `sel ${label}`);
    expectClose(await r.w.data(), expand(f.w), tol, `w ${label}`);
  });
});

/** Packed sequences: n sequences of L tokens and their L/S chunks each, one call with `segment`. */
const PACKED = [
  { n: 3, L: 48, s: 16, hr: 2, hk: 2, dr: 8, topk: 3, mode: 'softmax' as const },
  // the block scan (blockLen) with one retrieval head and stick-breaking
  { n: 2, L: 128, s: 4, hr: 1, hk: 2, dr: 12, topk: 5, mode: 'stickBreaking' as const, blockLen: 16 },
  // sequences of one chunk: no token has a completed chunk of its own sequence
  { n: 4, L: 16, s: 16, hr: 2, hk: 2, dr: 4, topk: 2, mode: 'softmax' as const },
];

describe.each(testBackends())('hsaRetrieval on %s, one backend for several k', (_name, makeBackend) => {
  // the programs of one backend's cache: each k its own lists (k 1, 3, 2, 4 share KMAX 4)
  it('k = 1, 3, 2, 4 in turn over blocks of one tile', async () => {
    const be = await makeBackend();
    const seed = freshSeed();
    const c = { ...base, t: 1, chunks: 1500, s: 4, posOffset: 6000, dr: 8, blockLen: 256 };
    const qr = randF32(c.t * c.hr * c.dr, seed);
    const lmk = randF32(c.chunks * c.hr * c.dr, seed + 1);
    for (const topk of [1, 3, 2, 4]) {
      const r = hsaRetrieval(Tensor.from(be, qr, [c.t, c.hr, c.dr]), Tensor.from(be, lmk, [c.chunks, c.hr, c.dr]), { chunkSize: c.s, topk, mode: c.mode, hk: c.hk, posOffset: c.posOffset, blockLen: c.blockLen });
      const f = retrievalForwardRef(toF64(qr), toF64(lmk), { ...c, topk });
      expect(Array.from(await r.idx.data()), `k=${topk} seed=${seed}`).toEqual(Array.from(f.idx));
    }
  });
});

describe.each(testBackends())('hsaRetrieval of packed sequences on %s', (_name, makeBackend) => {
  it.each(PACKED)('%j = each sequence alone', async (c) => {
    const be = await makeBackend();
    const seed = freshSeed();
    const cs = c.L / c.s;
    const [T, C] = [c.n * c.L, c.n * cs];
    const qr = randF32(T * c.hr * c.dr, seed);
    const lmk = randF32(C * c.hr * c.dr, seed + 1);
    const opts = { chunkSize: c.s, topk: c.topk, mode: c.mode, hk: c.hk, blockLen: c.blockLen };
    const r = hsaRetrieval(Tensor.from(be, qr, [T, c.hr, c.dr]), Tensor.from(be, lmk, [C, c.hr, c.dr]), { ...opts, segment: c.L });
    const k = Math.min(C, c.topk);
    const [idx, w, sel] = [await r.idx.data(), await r.w.data(), await r.sel.data()];
    const label = `seed=${seed}`;
    for (let b = 0; b < c.n; b++) {
      const p = { t: c.L, chunks: cs, s: c.s, hr: c.hr, hk: c.hk, dr: c.dr, topk: k, mode: c.mode };
      const f = retrievalForwardRef(toF64(qr.subarray(b * c.L * c.hr * c.dr, (b + 1) * c.L * c.hr * c.dr)), toF64(lmk.subarray(b * cs * c.hr * c.dr, (b + 1) * cs * c.hr * c.dr)), p);
      // the sequence alone has k_b = min(cs, k) slots; the packed call has k, the rest invalid
      const kb = hsaSlots(p);
      for (let t = 0; t < c.L; t++) {
        const valid = Math.min(kb, Math.floor(t / c.s));
        for (let g = 0; g < c.hk; g++) {
          const h = c.hr === 1 ? 0 : g;
          for (let j = 0; j < k; j++) {
            const at = ((b * c.L + t) * c.hk + g) * k + j;
            const from = (t * c.hr + h) * kb + j;
            expect(idx[at], `${label} idx t ${b * c.L + t} g ${g} j ${j}`).toBe(j < valid ? f.idx[from] + b * cs : 0);
            expect(Math.abs(w[at] - (j < kb ? f.w[from] : 0)), `${label} w t ${b * c.L + t} j ${j}`).toBeLessThan(1e-5);
            const want = j < valid ? f.sel[from] : Number.NEGATIVE_INFINITY;
            const got = sel[((b * c.L + t) * c.hr + h) * k + j];
            if (want === Number.NEGATIVE_INFINITY) expect(got, label).toBe(want);
            else expect(Math.abs(got - want), `${label} sel`).toBeLessThan(1e-5);
          }
        }
      }
    }
    expect(() => hsaRetrieval(Tensor.from(be, qr, [T, c.hr, c.dr]), Tensor.from(be, lmk, [C, c.hr, c.dr]), { ...opts, segment: c.s + 1 })).toThrow(/segment must be/);
  });
});

describe('hsaSelect fused versions', () => {
  const p = { t: 4, chunks: 9, s: 4, hr: 2, hk: 2, dr: 5, topk: 3, mode: 'softmax' as const, pass: 'fused' as const, blockLen: 0 };
  it('v2 and v3 need dr a multiple of 4 (a typed error, not a wrong shader); v1 takes any dr', () => {
    expect(() => hsaSelect.program({ ...p, fusedVersion: 3 }, PORTABLE_CAPS)).toThrow(ArgumentError);
    expect(() => hsaSelect.program({ ...p, fusedVersion: 2 }, PORTABLE_CAPS)).toThrow(/needs dr a multiple of 4 \(dr 5\)/);
    expect(hsaSelect.program(p, PORTABLE_CAPS).key).toMatch(/:v1$/);
    expect(hsaSelect.program({ ...p, dr: 8 }, PORTABLE_CAPS).key).toMatch(/:v3:1024$/);
    expect(hsaSelect.program({ ...p, dr: 8, fusedVersion: 2 }, PORTABLE_CAPS).key).toMatch(/:v2$/);
  });
});

describe('hsaSelect decode top-k', () => {
  const p = { t: 1, chunks: 3000, s: 4, hr: 2, hk: 2, dr: 8, topk: 16, mode: 'softmax' as const, posOffset: 12000, pass: 'scan' as const, blockLen: 100 };
  const sg = (size: number, max = size) => ({ ...PORTABLE_CAPS, subgroups: true, subgroupMinSize: size, subgroupMaxSize: max });
  it('v5 (subgroups) is the default where its lists fit the subgroups, v4 elsewhere; asking for v5 where it cannot run is a typed error', () => {
    expect(hsaSelect.program(p, sg(32)).key).toContain(':sg32x16:');
    expect(hsaSelect.program({ ...p, pass: 'merge' }, sg(16)).key).toContain(':sg16x16:');
    expect(hsaSelect.program({ ...p, topk: 4 }, sg(4)).key).toContain(':sg4x4:');
    // the scan over blocks of more than one tile stays v4
    expect(hsaSelect.program({ ...p, blockLen: 700 }, sg(32)).key).toContain(':bound:');
    expect(hsaSelect.program(p, sg(4)).key).toContain(':bound:');
    expect(hsaSelect.program(p, PORTABLE_CAPS).key).toContain(':bound:');
    expect(hsaSelect.program({ ...p, topkMode: 'bound' }, sg(32)).key).toContain(':bound:');
    expect(() => hsaSelect.program({ ...p, topkMode: 'subgroup' }, PORTABLE_CAPS)).toThrow(ArgumentError);
    expect(() => hsaSelect.program({ ...p, topkMode: 'subgroup' }, sg(4))).toThrow(/lists of 16 do not fit subgroups of 4/);
    expect(() => hsaSelect.program({ ...p, topkMode: 'subgroup' }, sg(8, 32))).toThrow(/not fixed/);
  });
  it('a program for each list length (k 1 and 3 share KMAX 4, not the subgroup lists of 2 and 4)', () => {
    expect(hsaSelect.program({ ...p, topk: 1 }, sg(4)).key).not.toBe(hsaSelect.program({ ...p, topk: 3 }, sg(4)).key);
    expect(hsaSelect.program({ ...p, topk: 1, pass: 'merge' }, sg(4)).key).not.toBe(hsaSelect.program({ ...p, topk: 3, pass: 'merge' }, sg(4)).key);
  });
  it('the merge keeps v4 where a row has more lists than it stages', () => {
    expect(hsaSelect.program({ ...p, pass: 'merge', blockLen: 8 }, sg(32)).key).toContain(':bound:');
    expect(hsaSelect.program({ ...p, pass: 'merge', blockLen: 24 }, sg(32)).key).toContain(':sg32x16:');
  });
});
