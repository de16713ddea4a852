// Grid rows as a fixed-width text table (for terminals and logs) and as JSON (for files and plots).
import type { GridRow } from './grid.js';

const HEADER = ['task', 'length', 'depth', 'n', 'accuracy', '95% CI', 'tok/s'];

function cells(r: GridRow): string[] {
  const tps = r.tokensPerSecond === null ? '-' : r.tokensPerSecond.toFixed(0);
  return [r.task, String(r.length), String(r.depth), String(r.n), r.accuracy.toFixed(3), `[${r.ciLow.toFixed(3)}, ${r.ciHigh.toFixed(3)}]`, tps];
}

/** The rows as a text table: one line per row, columns padded (text left, numbers right). */
export function formatGridTable(rows: readonly GridRow[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return table.map(line).join('\n');
}

/** The rows as pretty-printed JSON (an array of objects with the `GridRow` fields). */
export function gridToJson(rows: readonly GridRow[]): string {
  return JSON.stringify(rows, null, 2);
}
