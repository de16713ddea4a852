/**
 * The picture of retrieval: one row per (answer token, HSA layer) with a mark at every chunk that
 * layer retrieved for that token, placed along the whole document, opacity from the fusion weight
 * (averaged over KV heads); the needle's chunk is a band across all rows. Marks are also listed, for
 * the token chosen, as buttons that show the chunk's text (the keyboard path; the marks take clicks).
 * The needle's chunks are every chunk its tokens touch (as `hsa needle` counts them).
 * Elements carry data attributes (data-chunk, data-needle, data-needle-chunk(s)) for tests and styling.
 */
import type { RetrievalStep } from '@hsa/model';
import type { Mark } from './prompt.js';

export interface ViewDocument {
  length: number;
  chunkSize: number;
  marks: Mark[];
  /** text of tokens [start, end) */
  text(start: number, end: number): string;
}

interface Row {
  token: number;
  layer: number;
  /** chunk → mean fusion weight over KV heads */
  chunks: Map<number, number>;
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, data: Record<string, string> = {}) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const [k, v] of Object.entries(data)) (e as HTMLElement).dataset[k] = v;
  return e;
};

/** A token's text as it can be seen on a button: spaces, newlines and control characters marked. */
const visible = (t: string) => t.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\p{Cc}/gu, '�') || '∅';

function rowsOf(step: RetrievalStep): Row[] {
  return step.layers.map((l) => {
    const chunks = new Map<number, number>();
    for (let i = 0; i < l.chunks.length; i++) {
      if (!(l.weights[i] > 0)) continue;
      chunks.set(l.chunks[i], (chunks.get(l.chunks[i]) ?? 0) + l.weights[i] / l.kvHeads);
    }
    return { token: step.index, layer: l.layer, chunks };
  });
}

export class RetrievalView {
  private rows: Row[] = [];
  private tokenTexts: string[] = [];
  private selected = -1;
  private readonly needleChunks: Set<number>;

  constructor(
    private readonly doc: ViewDocument,
    private readonly raster: HTMLElement,
    private readonly tokens: HTMLElement,
    private readonly list: HTMLElement,
    private readonly textBox: HTMLElement,
  ) {
    const S = doc.chunkSize;
    const span = (m: Mark) => [Math.floor(m.start / S), Math.floor((m.start + Math.max(m.length, 1) - 1) / S)];
    const [first, last] = doc.marks.length ? span(doc.marks[0]) : [0, -1];
    this.needleChunks = new Set(Array.from({ length: last - first + 1 }, (_, i) => first + i));
    for (const e of [raster, tokens, list]) e.replaceChildren();
    textBox.textContent = '';
    document.getElementById('read-needle')?.remove();
    if (doc.marks.length) {
      const c = Math.floor(doc.marks[0].start / S);
      const read = el('button', { type: 'button', id: 'read-needle', textContent: `Read the needle's chunk (chunk ${c})` }, { chunk: String(c) });
      read.addEventListener('click', () => this.show(c, Number.NaN));
      raster.after(read);
    }
    const overlay = el('div', { className: 'overlay' });
    raster.append(this.axis(), overlay);
    for (const [i, m] of doc.marks.entries()) {
      const c = Math.floor(m.start / S);
      const [c0, c1] = span(m);
      const chunks = Array.from({ length: c1 - c0 + 1 }, (_, k) => c0 + k).join(',');
      const band = el('div', { className: i === 0 ? 'band needle' : 'band distractor', title: m.label }, { needleChunk: String(c), needleChunks: chunks, kind: i === 0 ? 'needle' : 'other' });
      this.place(band, c0, c1 - c0 + 1);
      overlay.append(band);
    }
  }

  private pct = (tokens: number) => `${(100 * tokens) / this.doc.length}%`;

  private place(e: HTMLElement, chunk: number, count = 1): void {
    e.style.left = this.pct(chunk * this.doc.chunkSize);
    e.style.width = this.pct(Math.min(count * this.doc.chunkSize, this.doc.length - chunk * this.doc.chunkSize));
  }

  private axis(): HTMLElement {
    const a = el('div', { className: 'axis' });
    a.setAttribute('aria-hidden', 'true');
    for (const f of [0, 0.5, 1]) a.append(el('span', { textContent: Math.round(f * this.doc.length).toLocaleString('en-US') }));
    return a;
  }

  /** Adds one generated token and its retrieval. */
  add(step: RetrievalStep, text: string): void {
    this.tokenTexts[step.index] = text;
    const rows = rowsOf(step);
    this.rows.push(...rows);
    for (const r of rows) this.raster.append(this.rowElement(r));
    const b = el('button', { type: 'button', textContent: visible(text), className: 'token' }, { token: String(step.index) });
    b.setAttribute('aria-pressed', 'false');
    b.setAttribute('aria-label', `answer token ${step.index + 1}: ${text || '(empty)'}`);
    b.addEventListener('click', () => this.select(step.index));
    this.tokens.append(b);
    if (this.selected < 0) this.select(step.index);
  }

  /** How many (token, layer) rows retrieved the needle's chunk, of all rows. */
  needleHits(): { hits: number; rows: number } {
    return { hits: this.rows.filter((r) => [...r.chunks.keys()].some((c) => this.needleChunks.has(c))).length, rows: this.rows.length };
  }

  private rowElement(r: Row): HTMLElement {
    const row = el('div', { className: 'row' }, { token: String(r.token), layer: String(r.layer) });
    row.append(el('span', { className: 'row-label', textContent: `${r.token + 1}·L${r.layer}` }));
    const track = el('div', { className: 'track' });
    for (const [c, w] of r.chunks) {
      const needle = this.needleChunks.has(c);
      const mark = el('button', { type: 'button', tabIndex: -1, className: needle ? 'pick hit' : 'pick', title: `chunk ${c}, weight ${w.toFixed(3)}` }, { chunk: String(c), weight: w.toFixed(4), needle: String(needle) });
      mark.style.opacity = String(0.3 + 0.7 * Math.min(1, w));
      mark.addEventListener('click', () => this.show(c, w));
      this.place(mark, c);
      track.append(mark);
    }
    row.append(track);
    return row;
  }

  /** Chooses an answer token: its rows stand out and its chunks are listed. */
  select(token: number): void {
    this.selected = token;
    for (const b of this.tokens.querySelectorAll<HTMLElement>('button')) b.setAttribute('aria-pressed', String(b.dataset.token === String(token)));
    for (const r of this.raster.querySelectorAll<HTMLElement>('.row')) r.classList.toggle('selected', r.dataset.token === String(token));
    this.list.replaceChildren();
    const rows = this.rows.filter((r) => r.token === token);
    if (rows.length === 0) this.list.append(el('p', { textContent: 'No chunk was complete yet when this token was written: nothing to retrieve.' }));
    for (const r of rows) {
      const sorted = [...r.chunks].sort((a, b) => b[1] - a[1]);
      const line = el('p', { className: 'chunk-line', textContent: `Layer ${r.layer}: ` });
      for (const [c, w] of sorted) {
        const needle = this.needleChunks.has(c);
        const b = el('button', { type: 'button', className: needle ? 'chunk hit' : 'chunk', textContent: `chunk ${c}${needle ? ' (needle)' : ''} · ${w.toFixed(2)}` }, { chunk: String(c), needle: String(needle) });
        b.addEventListener('click', () => this.show(c, w));
        line.append(b);
      }
      this.list.append(line);
    }
  }

  /** Shows the text of chunk c. */
  show(c: number, w: number): void {
    const S = this.doc.chunkSize;
    const [start, end] = [c * S, Math.min((c + 1) * S, this.doc.length)];
    const needle = this.needleChunks.has(c) ? ' — holds the needle' : '';
    const weight = Number.isNaN(w) ? '' : `, fusion weight ${w.toFixed(3)}`;
    this.textBox.replaceChildren(`Chunk ${c}, tokens ${start}–${end - 1}${weight}${needle}:\n`);
    // the needle's tokens (the first mark) highlighted where they fall in this chunk
    const m = this.doc.marks[0];
    const [a, b] = m ? [Math.max(start, m.start), Math.min(end, m.start + m.length)] : [end, end];
    if (a < b) this.textBox.append(this.doc.text(start, a), el('mark', { textContent: this.doc.text(a, b) }), this.doc.text(b, end));
    else this.textBox.append(this.doc.text(start, end));
    this.textBox.dataset.chunk = String(c);
  }
}
