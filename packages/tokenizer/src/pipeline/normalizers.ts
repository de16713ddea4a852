// Normalizers of tokenizer.json, with the Rust `tokenizers` semantics. Each maps a Span to a Span;
// the alignment is tracked only when offsets are wanted (`track`).
import { badField, unsupported } from '../errors.js';
import { compilePattern, escapeRegex } from '../regex.js';
import { rewrite, type Span } from './span.js';

/** A normalizer step: rewrites the text of a span, keeping its alignment when `track`. */
export type Normalizer = (span: Span, track: boolean) => Span;

const CLUSTER = /\P{M}\p{M}*|\p{M}+/gu;

/** Applies a per-code-point-cluster transform, so offsets stay fine-grained where it is local. */
function perCluster(f: (s: string) => string): Normalizer {
  return (span, track) => {
    const whole = f(span.text);
    if (whole === span.text) return span;
    if (!track) return { text: whole, base: span.base, map: null };
    const parts: [number, number, string][] = [];
    for (const m of span.text.matchAll(CLUSTER)) parts.push([m.index, m.index + m[0].length, f(m[0])]);
    const joined = parts.map((p) => p[2]).join('');
    if (joined !== whole) return rewrite(span, [[0, span.text.length, whole]], true);
    return rewrite(span, parts, true);
  };
}

/** Rust lowercases char by char (no final-sigma context); JS's toLowerCase has it. */
function lowercase(s: string): string {
  const lower = s.toLowerCase();
  if (!s.includes('\u03a3')) return lower;
  let out = '';
  for (const c of s) out += c.toLowerCase();
  return out;
}

function replaceAll(re: RegExp, content: string): Normalizer {
  return (span, track) => {
    const parts: [number, number, string][] = [];
    let prev = 0;
    for (const m of span.text.matchAll(re)) {
      if (m[0].length === 0) continue;
      if (m.index > prev) parts.push([prev, m.index, span.text.slice(prev, m.index)]);
      parts.push([m.index, m.index + m[0].length, content]);
      prev = m.index + m[0].length;
    }
    if (parts.length === 0) return span;
    if (prev < span.text.length) parts.push([prev, span.text.length, span.text.slice(prev)]);
    return rewrite(span, parts, track);
  };
}

function strip(left: boolean, right: boolean): Normalizer {
  return (span, track) => {
    const t = span.text;
    const a = left ? t.length - t.replace(/^\p{White_Space}+/u, '').length : 0;
    const b = right ? t.replace(/\p{White_Space}+$/u, '').length : t.length;
    if (a === 0 && b === t.length) return span;
    return rewrite(span, [[0, a, ''], [a, Math.max(a, b), t.slice(a, Math.max(a, b))], [Math.max(a, b), t.length, '']], track);
  };
}

function prepend(p: string): Normalizer {
  return (span, track) =>
    span.text.length === 0 ? span : rewrite(span, [[0, 0, p], [0, span.text.length, span.text]], track);
}

function pattern(cfg: Record<string, unknown>, field: string): RegExp {
  const p = cfg.pattern as Record<string, unknown> | undefined;
  if (typeof p?.String === 'string') return new RegExp(escapeRegex(p.String), 'gu');
  if (typeof p?.Regex === 'string') return compilePattern(p.Regex, `${field}.pattern.Regex`);
  return badField(`${field}.pattern`, '{ "String": ... } or { "Regex": ... }', p);
}

const SUPPORTED = ['NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Strip', 'StripAccents', 'Replace', 'Prepend', 'Sequence'];

/** Builds a normalizer from its tokenizer.json object; `field` names it in errors. */
export function buildNormalizer(cfg: unknown, field = 'normalizer'): Normalizer | null {
  if (cfg === null || cfg === undefined) return null;
  const c = cfg as Record<string, unknown>;
  switch (c.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = c.type;
      return perCluster((s) => s.normalize(form));
    }
    case 'Lowercase':
      return perCluster(lowercase);
    case 'StripAccents':
      return perCluster((s) => s.replace(/\p{Mn}/gu, ''));
    case 'Strip':
      return strip(c.strip_left !== false, c.strip_right !== false);
    case 'Replace':
      if (typeof c.content !== 'string') badField(`${field}.content`, 'a string', c.content);
      return replaceAll(pattern(c, field), c.content as string);
    case 'Prepend':
      if (typeof c.prepend !== 'string') badField(`${field}.prepend`, 'a string', c.prepend);
      return prepend(c.prepend as string);
    case 'Sequence': {
      if (!Array.isArray(c.normalizers)) badField(`${field}.normalizers`, 'an array', c.normalizers);
      const steps = (c.normalizers as unknown[]).map((n, i) => buildNormalizer(n, `${field}.normalizers[${i}]`)!);
      return (span, track) => steps.reduce((s, f) => f(s, track), span);
    }
    default:
      return unsupported(`${field}.type`, c.type, SUPPORTED);
  }
}
