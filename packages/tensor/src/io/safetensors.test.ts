import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, HsaError } from '@hsa/kernels';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, serializeSafetensors } from './safetensors.js';
import { goldenPath } from '../test-utils/golden.js';
import { readSafetensorsFile } from './safetensors-node.js';

/** Builds a file from a raw header object and data bytes (for corruption cases). */
function rawFile(header: unknown, data = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function expectBad(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    SafetensorsFile.parse(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HsaError);
  expect((err as HsaError).code).toBe('E_BAD_CHECKPOINT');
  expect((err as HsaError).message).toMatch(pattern);
}

describe('safetensors', () => {
  it('round-trips every dtype with metadata, 8-byte aligned header', () => {
    const f32 = Float32Array.from([1.5, -2, 3.25, 0, Number.POSITIVE_INFINITY, -0.1]);
    const bytes = serializeSafetensors(
      {
        'a.f32': { dtype: 'F32', shape: [2, 3], data: f32 },
        'b.f16': { dtype: 'F16', shape: [3], data: Float32Array.from([1, -0.5, 65504]) },
        'c.bf16': { dtype: 'BF16', shape: [2], data: Uint16Array.from([f32ToBf16(3.5), f32ToBf16(-1e-3)]) },
        'd.i32': { dtype: 'I32', shape: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) },
        'e.i64': { dtype: 'I64', shape: [2], data: BigInt64Array.from([-5n, 1234567n]) },
        'f.u32': { dtype: 'U32', shape: [1], data: Uint32Array.from([42]) },
        'g.u8': { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
        empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      },
      { format: 'pt', note: 'hi' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const f = SafetensorsFile.parse(bytes);
    expect(f.metadata).toEqual({ format: 'pt', note: 'hi' });
    expect(f.entry('a.f32').shape).toEqual([2, 3]);
    expect(Array.from(f.float32('a.f32'))).toEqual(Array.from(f32));
    expect(Array.from(f.float32('b.f16'))).toEqual([1, -0.5, 65504].map((v) => f16ToF32(f32ToF16(v))));
    expect(Array.from(f.half16('b.f16'))).toEqual([1, -0.5, 65504].map(f32ToF16));
    expect(Array.from(f.float32('c.bf16'))).toEqual([3.5, -1e-3].map((v) => bf16ToF32(f32ToBf16(v))));
    expect(Array.from(f.int32('d.i32'))).toEqual([-7, 2 ** 31 - 1]);
    expect(Array.from(f.int32('e.i64'))).toEqual([-5, 1234567]);
    expect(Array.from(f.int32('f.u32'))).toEqual([42]);
    expect(Array.from(f.int32('g.u8'))).toEqual([0, 128, 255]);
    expect(f.float32('empty').length).toBe(0);
    // the header is plain JSON padded with spaces, as the Python library writes it
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(JSON.parse(text).__metadata__).toEqual({ format: 'pt', note: 'hi' });
  });

  it('reads from an unaligned Uint8Array view', () => {
    const bytes = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) } });
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const f = SafetensorsFile.parse(shifted.subarray(1));
    expect(Array.from(f.float32('x'))).toEqual([1, 2]);
  });

  it('rejects an I64 value outside i32', () => {
    const bytes = serializeSafetensors({ big: { dtype: 'I64', shape: [2], data: BigInt64Array.from([1n, 2n ** 40n]) } });
    expect(() => SafetensorsFile.parse(bytes).int32('big')).toThrow(/'big': element 1 = 1099511627776 does not fit in i32/);
  });

  const four = new Uint8Array(16);
  it.each([
    ['a truncated file', new Uint8Array(5), /truncated file: 5 bytes/],
    ['a header length past the end', rawFile({}).subarray(0, 9), /header length 2 runs past the end/],
    ['bad JSON', rawFile(null, four, '{"x": '), /not valid UTF-8 JSON/],
    ['a non-object header', rawFile([1, 2]), /header JSON is not an object/],
    [
      'offsets out of range',
      rawFile({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 32] } }, four),
      /'x': data_offsets \[0, 32\] out of range \(data section holds 16 bytes\)/,
    ],
    [
      'overlapping offsets',
      rawFile(
        { x: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, y: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
        four,
      ),
      /'y': data_offsets \[8, 16\] overlap tensor 'x'/,
    ],
    [
      'a shape × dtype size mismatch',
      rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, four),
      /'x': shape \[3\] × F32 needs 12 bytes, data_offsets span 16/,
    ],
    [
      'an unsupported dtype',
      rawFile({ x: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, four),
      /'x': unsupported dtype "F64" \(supported: F32, F16, BF16, I32, I64, U32, U8\)/,
    ],
    [
      'a bad shape',
      rawFile({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, four),
      /'x': shape \[-1\] is not a list/,
    ],
    ['non-string metadata', rawFile({ __metadata__: { a: 1 } }), /__metadata__ entry 'a' is not a string/],
  ])('rejects %s with E_BAD_CHECKPOINT', (_case, bytes, pattern) => {
    expectBad(bytes, pattern);
  });

  it('names the missing tensor', () => {
    const f = SafetensorsFile.parse(serializeSafetensors({}));
    expect(() => f.float32('nope')).toThrow(/no tensor 'nope'/);
  });
});

describe('safetensors golden files (../shared/golden)', () => {
  it('reads model.safetensors (all F32, names and shapes of reference-model.md §2)', async () => {
    const f = await readSafetensorsFile(goldenPath('model.safetensors'));
    expect(f.entry('backbone.embeddings.weight').shape).toEqual([512, 128]);
    expect(f.entry('lm_head.weight').shape).toEqual([512, 128]);
    expect(f.entry('backbone.layers.2.lmk_ln.weight').shape).toEqual([64, 128]);
    let params = 0;
    for (const e of f.tensors.values()) {
      expect(e.dtype).toBe('F32');
      params += e.shape.reduce((a, b) => a * b, 1);
    }
    expect(params).toBe(1_526_864);
    expect(f.float32('backbone.layers.0.input_layernorm.weight').every(Number.isFinite)).toBe(true);
  });

  it('reads golden_softmax.safetensors', async () => {
    const f = await readSafetensorsFile(goldenPath('golden_softmax.safetensors'));
    expect(f.metadata.variant).toBe('softmax');
    expect(f.entry('input_ids').dtype).toBe('I32');
    expect(f.int32('input_ids').length).toBe(512);
    expect(f.entry('retrieval0.indices').shape).toEqual([1, 512, 2, 3]);
    const logits = f.float32('logits');
    let max = 0;
    for (const v of logits) max = Math.max(max, Math.abs(v));
    expect(max).toBeCloseTo(5.08, 2);
  });
});
