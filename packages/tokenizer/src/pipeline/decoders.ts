// Decoders of tokenizer.json with the Rust `tokenizers` semantics (decode_chain over token strings).
import { CHAR_TO_BYTE } from '../byte-level.js';
import { badField, unsupported } from '../errors.js';
import { compilePattern, escapeRegex } from '../regex.js';

/** Maps the token strings of a decode to new strings; the results are concatenated. */
export type Decoder = (tokens: string[]) => string[];

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Bytes of one byte-level token; a token with a char outside the alphabet gives its UTF-8 bytes. */
export function byteLevelTokenBytes(t: string): Uint8Array {
  const out = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const b = CHAR_TO_BYTE.get(t.charCodeAt(i));
    if (b === undefined) return encoder.encode(t);
    out[i] = b;
  }
  return out;
}

function byteLevel(tokens: string[]): string[] {
  const parts = tokens.map(byteLevelTokenBytes);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    all.set(p, k);
    k += p.length;
  }
  return [lossy.decode(all)];
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    try {
      out.push(strict.decode(Uint8Array.from(pending)));
    } catch {
      for (let i = 0; i < pending.length; i++) out.push('\uFFFD'); // Rust: one U+FFFD per byte
    }
    pending = [];
  };
  for (const t of tokens) {
    const m = BYTE_TOKEN.exec(t);
    if (m !== null) pending.push(Number.parseInt(m[1], 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

function metaspace(c: Record<string, unknown>): Decoder {
  const rep = typeof c.replacement === 'string' ? c.replacement : '\u2581';
  const scheme = c.prepend_scheme ?? (c.add_prefix_space === false ? 'never' : 'always');
  // Rust drops every replacement char of the first token unless prepend_scheme is never.
  return (tokens) => tokens.map((t, i) => t.split(rep).join(i === 0 && scheme !== 'never' ? '' : ' '));
}

function strip(c: Record<string, unknown>, field: string): Decoder {
  if (typeof c.content !== 'string') badField(`${field}.content`, 'a one-char string', c.content);
  const content = c.content as string;
  const start = Number(c.start ?? 0);
  const stop = Number(c.stop ?? 0);
  return (tokens) =>
    tokens.map((t) => {
      const chars = Array.from(t);
      let a = 0;
      while (a < start && a < chars.length && chars[a] === content) a++;
      let b = chars.length;
      for (let i = 0; i < stop && b > a && chars[b - 1] === content; i++) b--;
      return chars.slice(a, b).join('');
    });
}

function replace(c: Record<string, unknown>, field: string): Decoder {
  const p = c.pattern as Record<string, unknown> | undefined;
  let re: RegExp;
  if (typeof p?.String === 'string') re = new RegExp(escapeRegex(p.String), 'gu');
  else if (typeof p?.Regex === 'string') re = compilePattern(p.Regex, `${field}.pattern.Regex`);
  else return badField(`${field}.pattern`, '{ "String": ... } or { "Regex": ... }', p);
  const content = String(c.content ?? '');
  return (tokens) => tokens.map((t) => t.replace(re, () => content));
}

const SUPPORTED = ['ByteLevel', 'Metaspace', 'ByteFallback', 'Fuse', 'Strip', 'Replace', 'Sequence'];

/** Builds a decoder from tokenizer.json; null means "join tokens with spaces" (Rust's default). */
export function buildDecoder(cfg: unknown, field = 'decoder'): Decoder | null {
  if (cfg === null || cfg === undefined) return null;
  const c = cfg as Record<string, unknown>;
  switch (c.type) {
    case 'ByteLevel':
      return byteLevel;
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Metaspace':
      return metaspace(c);
    case 'Strip':
      return strip(c, field);
    case 'Replace':
      return replace(c, field);
    case 'Sequence': {
      if (!Array.isArray(c.decoders)) badField(`${field}.decoders`, 'an array', c.decoders);
      const steps = (c.decoders as unknown[]).map((d, i) => buildDecoder(d, `${field}.decoders[${i}]`)!);
      return (tokens) => steps.reduce((t, f) => f(t), tokens);
    }
    default:
      return unsupported(`${field}.type`, c.type, SUPPORTED);
  }
}
