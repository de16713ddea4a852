/**
 * Uniform structs declared once in TypeScript: the same declaration emits the WGSL `struct` and
 * packs values into the buffer, so the two layouts cannot drift. Fields are 4-byte scalars.
 */
export type UniformType = 'u32' | 'i32' | 'f32';

export interface UniformLayout<F extends string> {
  readonly fields: readonly (readonly [F, UniformType])[];
  /** WGSL `struct <name> { ... }` with the fields in declaration order. */
  wgsl(name: string): string;
  /** Packs values (all fields required) into a buffer padded to 16 bytes. */
  pack(values: Record<F, number>): ArrayBuffer;
}

export function defineUniforms<F extends string>(spec: Record<F, UniformType>): UniformLayout<F> {
  const fields = Object.entries(spec) as [F, UniformType][];
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  return {
    fields,
    wgsl(name) {
      return `struct ${name} {\n${fields.map(([f, t]) => `  ${f}: ${t},`).join('\n')}\n}`;
    },
    pack(values) {
      const buf = new ArrayBuffer(bytes);
      const view = new DataView(buf);
      fields.forEach(([f, t], i) => {
        const v = values[f];
        if (v === undefined) throw new Error(`uniform field ${f} missing`);
        if (t === 'f32') view.setFloat32(i * 4, v, true);
        else if (t === 'i32') view.setInt32(i * 4, v, true);
        else view.setUint32(i * 4, v, true);
      });
      return buf;
    },
  };
}
