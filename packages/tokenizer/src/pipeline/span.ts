// A piece of (normalized) text plus where each of its UTF-16 boundaries lies in the original input.

/** Text with its alignment: boundary k of `text` is at `map[k]` in the input, or `base + k` when `map` is null. */
export interface Span {
  text: string;
  base: number;
  map: Int32Array | null;
}

/** Position in the original input of boundary `k` of `span`. */
export function origin(span: Span, k: number): number {
  return span.map === null ? span.base + k : span.map[k];
}

/** The sub-span [a, b) of `span`. */
export function slice(span: Span, a: number, b: number): Span {
  if (a === 0 && b === span.text.length) return span;
  return {
    text: span.text.slice(a, b),
    base: span.map === null ? span.base + a : span.map[a],
    map: span.map === null ? null : span.map.slice(a, b + 1),
  };
}

/** Boundaries of `span` as an explicit array (materializes the identity map). */
export function boundaries(span: Span): Int32Array {
  if (span.map !== null) return span.map;
  const m = new Int32Array(span.text.length + 1);
  for (let k = 0; k < m.length; k++) m[k] = span.base + k;
  return m;
}

/**
 * Rebuilds a span whose text was rewritten piecewise: `parts` lists [srcStart, srcEnd, output] in order,
 * covering the source; output units of a part map to its source start, its end to the source end.
 * With `track` false the map is skipped (the fast path when no offsets are wanted).
 */
export function rewrite(span: Span, parts: [number, number, string][], track: boolean): Span {
  let text = '';
  for (const p of parts) text += p[2];
  if (!track) return { text, base: span.base, map: null };
  const src = boundaries(span);
  const map = new Int32Array(text.length + 1);
  let k = 0;
  for (const [a, b, out] of parts) {
    if (out.length === b - a && out === span.text.slice(a, b)) {
      for (let i = 0; i < out.length; i++) map[k++] = src[a + i];
    } else {
      for (let i = 0; i < out.length; i++) map[k++] = src[a];
    }
  }
  map[k] = src[span.text.length];
  return { text, base: span.base, map };
}
