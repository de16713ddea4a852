// Translates the regex dialects of tokenizer.json (Oniguruma) and tiktoken (Rust fancy-regex) into
// JavaScript `u`-mode regexes with the same Unicode semantics:
//   \s → \p{White_Space} (JS's \s adds U+FEFF and misses U+0085), \d → \p{Nd}, \w → Unicode word chars,
//   (?i:...) → explicit case classes built from Unicode simple case folding ('s' also matches 'ſ'),
//   \p{Han} → \p{Script=Han}, \x{HH} → \u{HH}, \A / \z → input anchors.
// Node 20 has no inline modifiers, hence the rewrite. Possessive quantifiers (tiktoken's current
// patterns use them) become the atomic-group idiom `(?=(?<pN>X+))\k<pN>`; `(?>...)` is rejected.
import { TokenizerError } from './errors.js';

const WORD_IN_CLASS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}';
const ESCAPES: Record<string, string> = {
  s: '\\p{White_Space}',
  S: '\\P{White_Space}',
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: `[${WORD_IN_CLASS}]`,
  W: `[^${WORD_IN_CLASS}]`,
  h: '[0-9A-Fa-f]',
  H: '[^0-9A-Fa-f]',
  A: '(?<![\\s\\S])',
  z: '(?![\\s\\S])',
  Z: '(?=\\n?(?![\\s\\S]))',
  a: '\\x07',
  e: '\\x1B',
};
const CLASS_ESCAPES: Record<string, string> = {
  s: '\\p{White_Space}',
  S: '\\P{White_Space}',
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: WORD_IN_CLASS,
  h: '0-9A-Fa-f',
  a: '\\x07',
  e: '\\x1B',
};
const KEEP_ESCAPES = new Set(['n', 'r', 't', 'f', 'v', '0', 'b', 'B', 'u', 'k']);
const JS_SYNTAX = '^$\\.*+?()[]{}|/';
const foldCache = new Map<string, string>();

/** All BMP chars equal to `c` under Unicode simple case folding, as class members. */
function caseMembers(c: string): string {
  let got = foldCache.get(c);
  if (got !== undefined) return got;
  const re = new RegExp(`^${escapeLiteral(c, true)}$`, 'iu');
  got = '';
  for (let cp = 0; cp < 0x10000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCharCode(cp);
    if (re.test(s)) got += escapeLiteral(s, true);
  }
  foldCache.set(c, got);
  return got;
}

function escapeLiteral(c: string, inClass: boolean): string {
  if (JS_SYNTAX.includes(c) || (inClass && c === '-')) return `\\${c}`;
  const cp = c.codePointAt(0)!;
  return cp < 0x20 || cp === 0x7f ? `\\u{${cp.toString(16)}}` : c;
}

function fail(pattern: string, what: string): never {
  throw new TokenizerError(
    'E_UNSUPPORTED',
    `pattern.Regex: ${what} is not supported (supported: literals, classes, groups, lookaround, ` +
      `\\p{..}, \\s\\d\\w, (?i:...)) in ${JSON.stringify(pattern).slice(0, 120)}`,
  );
}

interface State {
  src: string;
  i: number;
  out: string;
  inClass: boolean;
  /** Stack of group kinds: true for a case-insensitive `(?i:` group. */
  groups: boolean[];
  ci: number;
  lastQuant: boolean;
  /** Output index where the last complete atom starts, and where each open group starts. */
  atom: number;
  groupStarts: number[];
  possessive: number;
}

function readEscape(st: State): void {
  const { src } = st;
  const c = src[st.i + 1];
  if (c === undefined) fail(src, 'a trailing backslash');
  const braced = /^\\([pPx])\{([^}]*)\}/.exec(src.slice(st.i, st.i + 64));
  if (braced !== null) {
    st.i += braced[0].length;
    if (braced[1] === 'x') st.out += `\\u{${braced[2]}}`;
    else st.out += propertyEscape(src, braced[1], braced[2]);
    return;
  }
  st.i += 2;
  if ((c === 'p' || c === 'P') && /[A-Z]/.test(src[st.i] ?? '')) {
    st.out += propertyEscape(src, c, src[st.i++]);
    return;
  }
  const table = st.inClass ? CLASS_ESCAPES : ESCAPES;
  if (table[c] !== undefined) st.out += table[c];
  else if (c === 'x' && /^[0-9a-fA-F]{2}/.test(src.slice(st.i, st.i + 2))) st.out += `\\x${src.slice(st.i, (st.i += 2))}`;
  else if (KEEP_ESCAPES.has(c) || /[1-9]/.test(c)) st.out += `\\${c}`;
  else if (/[A-Za-z]/.test(c)) fail(src, `the escape \\${c}${st.inClass ? ' inside a class' : ''}`);
  else st.out += st.ci > 0 && !st.inClass ? `[${caseMembers(c)}]` : escapeLiteral(c, st.inClass);
}

function propertyEscape(src: string, p: string, name: string): string {
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, 'u');
      return `\\${p}{${candidate}}`;
    } catch {
      // try the next spelling
    }
  }
  return fail(src, `the property \\${p}{${name}}`);
}

function readGroupOpen(st: State): void {
  const rest = st.src.slice(st.i, st.i + 8);
  if (rest.startsWith('(?i:')) {
    st.groups.push(true);
    st.ci++;
    st.out += '(?:';
    st.i += 4;
  } else if (rest.startsWith('(?>')) fail(st.src, 'an atomic group (?>...)');
  else if (rest.startsWith('(?P<')) {
    st.groups.push(false);
    st.out += '(?<';
    st.i += 4;
  } else if (/^\(\?(?:[:=!]|<[=!]|<[A-Za-z_])/.test(rest) || rest[1] !== '?') {
    st.groups.push(false);
    st.out += '(';
    st.i += 1;
  } else fail(st.src, `the group or flag ${rest.slice(0, 5)}`);
}

function step(st: State): void {
  const c = st.src[st.i];
  if (st.inClass) {
    if (c === '\\') {
      readEscape(st);
      return;
    }
    if (c === '[') fail(st.src, 'a nested class');
    if (c === ']') st.inClass = false;
    st.out += c !== ']' && c !== '^' && c !== '-' && st.ci > 0 && /\p{L}/u.test(c) ? caseMembers(c) : c;
    st.i++;
    return;
  }
  const quant = c === '*' || c === '+' || c === '?' || c === '{';
  if (c === '+' && st.lastQuant) {
    makePossessive(st);
    return;
  }
  if (quant) {
    readQuantifier(st);
    return;
  }
  st.lastQuant = false;
  const start = st.out.length;
  if (c === '\\') readEscape(st);
  else if (c === '(') {
    st.groupStarts.push(start);
    readGroupOpen(st);
    return;
  } else if (c === ')') {
    if (st.groups.pop()) st.ci--;
    st.out += ')';
    st.i++;
    st.atom = st.groupStarts.pop() ?? 0;
    return;
  } else {
    if (c === '[') st.inClass = true;
    const ch = String.fromCodePoint(st.src.codePointAt(st.i)!);
    st.out += st.ci > 0 && /\p{L}/u.test(ch) ? `[${caseMembers(ch)}]` : ch;
    st.i += ch.length;
  }
  st.atom = start;
}

function readQuantifier(st: State): void {
  const m = /^(?:[*+?]|\{\d*(?:,\d*)?\})\??/.exec(st.src.slice(st.i, st.i + 24));
  if (m === null) fail(st.src, `the quantifier at ${st.i}`);
  st.out += m[0];
  st.i += m[0].length;
  st.lastQuant = !m[0].endsWith('?') || m[0] === '?';
}

function makePossessive(st: State): void {
  const name = `hsaP${st.possessive++}`;
  st.out = `${st.out.slice(0, st.atom)}(?=(?<${name}>${st.out.slice(st.atom)}))\\k<${name}>`;
  st.i++;
  st.lastQuant = false;
}

/** Rewrites an Oniguruma / fancy-regex pattern into JavaScript `u`-flag source. */
export function translatePattern(pattern: string): string {
  const st: State = {
    src: pattern, i: 0, out: '', inClass: false, groups: [], ci: 0,
    lastQuant: false, atom: 0, groupStarts: [], possessive: 0,
  };
  while (st.i < pattern.length) step(st);
  if (st.inClass || st.groups.length > 0) fail(pattern, 'an unclosed class or group');
  return st.out;
}

/** Compiles a tokenizer regex with global + unicode flags; errors name the field. */
export function compilePattern(pattern: string, field = 'pattern.Regex'): RegExp {
  const source = translatePattern(pattern);
  try {
    return new RegExp(source, 'gu');
  } catch (e) {
    throw new TokenizerError('E_UNSUPPORTED', `${field}: cannot compile ${JSON.stringify(pattern).slice(0, 120)} (${(e as Error).message})`);
  }
}

/** Escapes a literal string for use inside a JS regex. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
