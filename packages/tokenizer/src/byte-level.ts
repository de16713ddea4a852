// GPT-2's reversible byte ↔ printable-unicode map, used by ByteLevel pre-tokenizers and decoders.

function build(): { toChar: string[]; toByte: Map<number, number> } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const toChar: string[] = new Array(256);
  const toByte = new Map<number, number>();
  for (let i = 0; i < bs.length; i++) {
    toChar[bs[i]] = String.fromCharCode(cs[i]);
    toByte.set(cs[i], bs[i]);
  }
  return { toChar, toByte };
}

const MAP = build();

/** The printable char standing for byte `b` (0..255). */
export const BYTE_TO_CHAR: readonly string[] = MAP.toChar;
/** Char code → byte for the 256 chars of the byte-level alphabet. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = MAP.toByte;

/** Maps each byte of a binary string (chars 0..255) to its byte-level char. */
export function binaryToByteLevel(bin: string): string {
  let out = '';
  for (let i = 0; i < bin.length; i++) out += BYTE_TO_CHAR[bin.charCodeAt(i)];
  return out;
}

/** Inverse of `binaryToByteLevel`; undefined when a char is outside the byte-level alphabet. */
export function byteLevelToBinary(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_TO_BYTE.get(s.charCodeAt(i));
    if (b === undefined) return undefined;
    out += String.fromCharCode(b);
  }
  return out;
}
