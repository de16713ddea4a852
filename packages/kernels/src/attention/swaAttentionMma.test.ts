/**
 * The SWA forward's mma version (f16 subgroup matrices): when it may run, the typed error where it
 * may not, its program and workgroup layout. Its results are checked on the GPU machine by
 * bench/attention (swaMmaCheck against the f32 tiles on awkward shapes, the 32K rows against
 * float64): CI's software adapter has no subgroup matrices.
 */
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../core/errors.js';
import { PORTABLE_CAPS } from '../core/program.js';
import { H200_MMA_CAPS as H200 } from '../test-utils/caps.js';
import { chunkEncoderAttentionForward, swaAttentionForward, swaMmaUnsupported } from './swaAttention.js';
import { SWA_MMA_TILE, swaAttentionMmaWgsl, swaMmaBytes } from './swaAttentionMma.wgsl.js';

const P = { t: 70, hq: 32, hk: 2, d: 128, window: 3, version: 'mma' as const };

describe('swaAttentionForward, mma version', () => {
  it('runs only with f16 subgroup matrices, 16·n query heads a KV head and D a multiple of 16 up to 128', () => {
    expect(swaMmaUnsupported(H200, 128, 16)).toBeNull();
    expect(swaMmaUnsupported(H200, 48, 32)).toBeNull();
    expect(swaMmaUnsupported(PORTABLE_CAPS, 128, 16)).toMatch(/shader-f16/);
    expect(swaMmaUnsupported(H200, 128, 8)).toMatch(/multiple of 16/);
    expect(swaMmaUnsupported(H200, 40, 16)).toMatch(/head size 40/);
    expect(swaMmaUnsupported(H200, 256, 16)).toMatch(/head size 256/);
    expect(swaMmaUnsupported({ ...H200, maxInvocations: 64 }, 128, 16)).toMatch(/4 subgroups/);
    // a device of 256 invocations a workgroup gets the default layout with 8 tokens, not 16
    expect(swaAttentionForward.program(P, { ...H200, maxInvocations: 256 }).code()).toContain('@workgroup_size(256)');
  });

  it('asking for it where it cannot run is a typed error; the chunk encoder has no mma version', () => {
    expect(() => swaAttentionForward.program(P, PORTABLE_CAPS)).toThrow(ArgumentError);
    expect(() => swaAttentionForward.program({ ...P, hq: 16 }, H200)).toThrow(/not a multiple of 16/);
    expect(() => chunkEncoderAttentionForward.program({ n: 2, t: 64, hq: 16, hk: 1, d: 64, version: 'mma' }, H200)).toThrow(/swaAttentionForward's only/);
  });

  it('compiles one program per head size; a workgroup per 16 tokens of a segment, KV head and 16 heads; f16 inputs', () => {
    const a = swaAttentionForward.program(P, H200);
    expect(swaAttentionForward.program({ ...P, t: 5000, window: 4096 }, H200).key).toBe(a.key);
    expect(swaAttentionForward.program({ ...P, d: 64 }, H200).key).not.toBe(a.key);
    expect(a.buffers.map((b) => `${b.name}:${b.type}`)).toEqual(['q:f16', 'k:f16', 'v:f16', 'out:f32', 'lse:f32']);
    const [x, y, z] = a.workgroups;
    expect(x * y * z).toBe(Math.ceil(P.t / SWA_MMA_TILE.tokens) * P.hk);
    // two segments of 35: 3 blocks of 16 tokens each
    const seg = swaAttentionForward.program({ ...P, segLen: 35 }, H200);
    expect(seg.workgroups[0]).toBe(2 * 3 * P.hk);
    const code = a.code();
    expect(code).toContain('@workgroup_size(512)');
    expect(code).not.toMatch(/return;/);
  });

  it('declares only workgroup variables whose sizes are multiples of 16 bytes, within swaMmaBytes', () => {
    for (const [d, tile] of [48, 64, 128].flatMap((d) => [SWA_MMA_TILE, { tokens: 4, kt: 64 }].map((t) => [d, t] as const))) {
      const code = swaAttentionMmaWgsl(d, 32, '', tile);
      let bytes = 0;
      for (const [, ty] of code.matchAll(/var<workgroup> \w+: ([^;]+);/g)) {
        const arr = /^array<(f16|f32), (\d+)>$/.exec(ty);
        const size = arr ? Number(arr[2]) * (arr[1] === 'f16' ? 2 : 4) : 16;
        expect(size % 16, ty).toBe(0);
        bytes += size;
      }
      expect(bytes).toBeLessThanOrEqual(swaMmaBytes(tile));
    }
    expect(swaMmaBytes()).toBeLessThanOrEqual(32768);
    // other layouts: 4 tokens of 64-key tiles; a layout over the device's memory is a typed error
    const four = { tokens: 4, kt: 64 };
    expect(swaAttentionForward.program({ ...P, mmaTile: four }, H200).key).toContain('4x64');
    expect(swaAttentionForward.program({ ...P, mmaTile: four }, H200).code()).toContain('@workgroup_size(128)');
    expect(() => swaAttentionForward.program({ ...P, mmaTile: { tokens: 8, kt: 64 } }, H200)).toThrow(/does not fit/);
    expect(() => swaAttentionForward.program({ ...P, mmaTile: { tokens: 4, kt: 48 } }, H200)).toThrow(/does not fit/);
  });
});
