/**
 * The readable test report: one line per test, and for each test that did not pass its failing
 * row count and up to 5 sample rows.
 */
import type { Row } from '../warehouse/port';
import { summarise, type DataTestResult } from './runner';

const LABEL = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

function renderValue(v: Row[string]): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return /[\s=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return String(v);
}

export function formatSampleRow(row: Row): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${renderValue(v)}`)
    .join('  ');
}

export function formatTestReport(results: DataTestResult[], runId?: string): string {
  const s = summarise(results);
  const width = Math.max(4, ...results.map((r) => r.test.length));
  const lines = [
    `Data tests${runId ? ` (run ${runId})` : ''}: ${s.passed} passed, ${s.warned} warned, ${s.failed} failed`,
  ];
  for (const r of results) {
    const detail =
      r.error !== undefined
        ? `could not run: ${r.error.split('\n')[0]}`
        : r.status === 'pass'
          ? ''
          : `${r.failingRows} failing row${r.failingRows === 1 ? '' : 's'}`;
    lines.push(`  ${LABEL[r.status]}  ${r.severity.padEnd(5)}  ${r.test.padEnd(width)}  ${detail}`.trimEnd());
    if (r.status !== 'pass' && r.description) lines.push(`        ${r.description}`);
    for (const row of r.sample) lines.push(`        - ${formatSampleRow(row)}`);
    if (r.status !== 'pass' && r.failingRows > r.sample.length) {
      lines.push(`        ... and ${r.failingRows - r.sample.length} more`);
    }
  }
  return lines.join('\n');
}
