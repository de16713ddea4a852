// UTF-8 helpers over plain typed arrays and TextEncoder (no Node-only API), so this runs in browsers.

const encoder = new TextEncoder();

/** Replaces lone UTF-16 surrogates by U+FFFD (what TextEncoder and a lossy Rust conversion do). */
export function toWellFormed(s: string): string {
  const f = (s as { toWellFormed?: () => string }).toWellFormed;
  if (f !== undefined) return f.call(s);
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** True when every UTF-16 unit of `s` is below 0x80. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** UTF-8 bytes of a well-formed string. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A "binary string": one char (0..255) per UTF-8 byte of `s`; ASCII strings are returned as is. */
export function toBinary(s: string): string {
  if (isAscii(s)) return s;
  const b = encoder.encode(s);
  let out = '';
  for (let i = 0; i < b.length; i += 4096) {
    out += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  }
  return out;
}

/** Bytes of a binary string. */
export function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * For each UTF-8 byte boundary 0..nBytes of `s`, the UTF-16 offset of the char that holds it:
 * `map[b]` is where byte b's char starts, and `map[nBytes] = s.length`.
 */
export function byteToUnitMap(s: string): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k++) out.push(i);
    if (c >= 0x10000) i++;
  }
  out.push(s.length);
  return Int32Array.from(out);
}
