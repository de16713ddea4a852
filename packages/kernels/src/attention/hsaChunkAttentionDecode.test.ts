/**
 * The decode variant of hsaChunkAttentionForward (v5): where it may run, its typed errors and the
 * layout its WGSL relies on. Its results against float64 are in @hsa/tensor's hsaChunkAttention tests
 * (CPU and WebGPU, awkward shapes).
 */
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../core/errors.js';
import { PORTABLE_CAPS } from '../core/program.js';
import { hsaChunkAttentionForward } from './hsaChunkAttention.js';
import { DECODE_WG, decodeBytes, decodeLayout, decodeUnsupported } from './hsaChunkAttentionDecode.wgsl.js';

const P = { t: 1, hq: 32, hk: 2, d: 128, s: 64, chunks: 9, k: 16, jsplit: 4, variant: 'decode' as const };

describe('hsaChunkAttention decode variant', () => {
  it('needs whole 16-byte words a memory row', () => {
    expect(decodeUnsupported(128, 'bf16')).toBeNull();
    expect(decodeUnsupported(4, 'f32')).toBeNull();
    expect(decodeUnsupported(12, 'f16')).toMatch(/not a multiple of 8/);
    expect(decodeUnsupported(6, 'f32')).toMatch(/not a multiple of 4/);
    expect(() => hsaChunkAttentionForward.program({ ...P, d: 20, kv: 'bf16' }, PORTABLE_CAPS)).toThrow(ArgumentError);
  });

  it('fits the portable limits at every compiled head and chunk size', () => {
    for (const kv of ['f32', 'bf16', 'f16'] as const) {
      for (const d of [4, 8, 36, 64, 128, 256]) {
        if (decodeUnsupported(d, kv)) continue;
        for (const s of [1, 3, 64, 300, 512]) {
          const c = { D: d, S: s, kv, NP: 5 };
          const L = decodeLayout(c);
          expect(decodeBytes(c)).toBeLessThanOrEqual(PORTABLE_CAPS.maxWorkgroupStorage);
          // every row's words are loaded by the active invocations, each sub-pass's rows summed by one each
          expect(L.LANES * L.DW).toBeLessThanOrEqual(DECODE_WG);
          expect(L.RP).toBeLessThanOrEqual(DECODE_WG);
          expect(L.ROWS).toBeGreaterThanOrEqual(s);
          expect(L.PZ).toBeGreaterThanOrEqual(L.LANES * d);
        }
      }
    }
  });

  it('one workgroup a (token, query head, slot group); the same program for any k and memory length', () => {
    const a = hsaChunkAttentionForward.program(P, PORTABLE_CAPS);
    const [x, y, z] = a.workgroups;
    expect(x * y * z).toBeGreaterThanOrEqual(P.t * P.hq * P.jsplit);
    expect(hsaChunkAttentionForward.program({ ...P, k: 5, chunks: 1000, jsplit: 1 }, PORTABLE_CAPS).key).toBe(a.key);
    expect(a.code()).toContain('array<vec4<f32>>');
    expect(hsaChunkAttentionForward.program({ ...P, kv: 'bf16' }, PORTABLE_CAPS).code()).toContain('memK: array<vec4<u32>>');
  });
});
