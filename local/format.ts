/** Rendering result rows for terminals and pipes. */
import type { Row, Scalar } from '../shared/warehouse/port';

export type OutputFormat = 'table' | 'csv' | 'json';

/** `columns` names the result's columns when there are no rows to take them from. */
export function formatRows(rows: readonly Row[], format: OutputFormat, columns: string[] = rows.length > 0 ? Object.keys(rows[0] as Row) : []): string {
  if (format === 'json') return JSON.stringify(rows, null, 2) + '\n';
  if (format === 'csv') {
    if (columns.length === 0) return '';
    return [columns, ...rows.map((r) => columns.map((c) => r[c] ?? null))].map((line) => line.map(csvCell).join(',')).join('\n') + '\n';
  }
  return table(columns, rows);
}

function csvCell(v: Scalar): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function show(v: Scalar | undefined): string {
  return v === null || v === undefined ? 'NULL' : String(v);
}

export function table(columns: string[], rows: readonly Row[]): string {
  if (columns.length === 0) return '(no rows)\n';
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => show(r[c]).length)));
  const line = (cells: string[], numeric: boolean[] = []) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || r[c] === null));
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(columns.map((c) => show(r[c])), numeric));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}
