/**
 * Tables of the capacity model for people: aligned text for the terminal, Markdown for docs/SCALE.md.
 * `npm run plan` and the document print the same functions' output.
 */
import { CREDIT_USD_DEFAULT, LISTED_ON } from './constants';
import {
  planIngest,
  planTransfer,
  type IngestMode,
  type IngestPlan,
  type ModePlan,
  type TransferPlan,
} from './model';

export type TableFormat = 'table' | 'md';

/** The grid of docs/SCALE.md: files a day x GB a day. */
export const GRID_FILES_PER_DAY = [1e3, 1e5, 1e7];
export const GRID_GB_PER_DAY = [1, 100, 10_240];
export const GRID_TABLE_GB = [1, 100, 1_000];

export function renderTable(header: string[], rows: string[][], format: TableFormat): string {
  if (format === 'md') {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Numbers for people: 3 significant digits, thousands separators, no exponent. */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1_000) return Math.round(n).toLocaleString('en-US');
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return Number(n.toFixed(digits)).toString();
}

export function usd(n: number): string {
  return n >= 100 ? `$${Math.round(n).toLocaleString('en-US')}` : `$${n.toFixed(2)}`;
}

const MODES: { mode: IngestMode; label: string }[] = [
  { mode: 'copy', label: 'COPY mode' },
  { mode: 'pipe', label: 'pipe mode (Snowpipe per GB)' },
  { mode: 'pipe-legacy', label: 'pipe mode, pre-Dec-2025 pricing' },
];

function credits(p: ModePlan, n: number): string {
  return p.feasible ? num(n) : `(${num(n)})`;
}

export function renderIngest(plan: IngestPlan, format: TableFormat): string {
  const i = plan.input;
  const head = [
    `Workload: ${num(i.filesPerDay)} files/day (${num(plan.filesPerSecond)}/s) of ${num(i.mbPerFile)} MB = ${num(plan.gbPerDay)} GB/day` +
      (i.compressionRatio !== 1 ? ` (${num(plan.gbUncompressedPerDay)} GB uncompressed)` : '') +
      `; credit $${i.creditUsd}${i.creditUsd === CREDIT_USD_DEFAULT ? ' (Enterprise, on demand)' : ''}; longest batching window ${i.maxWindowS} s.`,
    `SQS ${num(plan.sqsRequestsPerDay)} requests/day; S3 ${num(plan.s3.putRequests)} PUT + ${num(plan.s3.getRequests)} GET/HEAD a day. Prices as listed on ${LISTED_ON}.`,
  ];
  const modes = MODES.map((m) => plan.modes[m.mode]);
  const row = (label: string, f: (p: ModePlan) => string) => [label, ...modes.map(f)];
  const rows = [
    row('fits (one warehouse cluster, Lambda budget)', (p) => (p.feasible ? 'yes' : 'NO')),
    row('warehouse size', (p) => p.warehouse.size),
    row('SQS batch size / batching window (s)', (p) => `${p.batchSize} / ${p.batchingWindowS}`),
    row('files per invocation', (p) => num(p.filesPerInvocation)),
    row('Lambda invocations per day', (p) => num(p.invocationsPerDay)),
    row('Lambda duration (s)', (p) => num(p.lambdaDurationS)),
    row(
      'Lambda concurrency needed / MaximumConcurrency',
      (p) => `${num(p.lambdaConcurrencyNeeded)} / ${p.lambdaMaxConcurrency}`,
    ),
    row('COPY statements per minute', (p) => num(p.copyStatementsPerMinute)),
    row('all Snowflake statements per minute', (p) => num(p.statementsPerMinute)),
    row('worst lag PutObject -> visible (s)', (p) => num(p.worstLagS)),
    row(
      'warehouse capacity used / billed hours a day',
      (p) => `${num(p.warehouse.utilisation * 100)}% / ${num(p.warehouse.billedHoursPerDay)}`,
    ),
    row('warehouse credits per day', (p) => credits(p, p.warehouse.credits)),
    row('Snowpipe credits per day', (p) => credits(p, p.snowpipeCredits)),
    row('Snowflake credits per day', (p) => credits(p, p.snowflakeCredits)),
    row('USD per day: Snowflake', (p) => usd(p.usd.snowflake)),
    row(
      'USD per day: Lambda / SQS / S3',
      (p) => `${usd(p.usd.lambda)} / ${usd(p.usd.sqs)} / ${usd(p.usd.s3)}`,
    ),
    row('USD per day, total', (p) => usd(p.usd.total)),
    row('USD per 30 days, total', (p) => usd(p.usd.total * 30)),
  ];
  const notes = [
    `Cheapest under the current pricing: ${MODES.find((m) => m.mode === plan.cheapest)!.label}.`,
    ...plan.warnings.map((w) => `warning: ${w}`),
    ...MODES.flatMap((m) => plan.modes[m.mode].notes.map((n) => `${m.label}: ${n}`)),
  ];
  const bullet = (l: string) => (format === 'md' ? `- ${l}` : l);
  const out = [
    ...head.map(bullet),
    '',
    renderTable(['', ...MODES.map((m) => m.label)], rows, format),
    '',
    ...notes.map(bullet),
  ];
  return out.join('\n') + '\n';
}

/** One line per scenario of the grid, the cheapest mode's plan plus the credits of the others. */
export function renderGrid(plans: IngestPlan[], format: TableFormat): string {
  const header = [
    'files/day',
    'GB/day',
    'MB/file',
    'COPY: batch / window s',
    'COPY: invocations/day',
    'COPY: Lambda s / max conc.',
    'COPY statements/min',
    'COPY: warehouse',
    'credits/day COPY',
    'credits/day pipe',
    'credits/day pipe (pre-Dec-2025 pricing)',
    'cheaper now',
    'cheaper: Lambda / SQS / S3 $/day',
    'cheaper: total $/day',
  ];
  const rows = plans.map((p) => {
    const c = p.modes.copy;
    const best = p.modes[p.cheapest];
    return [
      num(p.input.filesPerDay),
      num(p.gbPerDay),
      num(p.input.mbPerFile),
      `${c.batchSize} / ${c.batchingWindowS}`,
      num(c.invocationsPerDay),
      `${num(c.lambdaDurationS)} / ${c.lambdaMaxConcurrency}`,
      num(c.copyStatementsPerMinute),
      c.feasible ? c.warehouse.size : `${c.warehouse.size} (does not fit)`,
      credits(c, c.snowflakeCredits),
      credits(p.modes.pipe, p.modes.pipe.snowflakeCredits),
      credits(p.modes['pipe-legacy'], p.modes['pipe-legacy'].snowflakeCredits),
      p.cheapest,
      `${usd(best.usd.lambda)} / ${usd(best.usd.sqs)} / ${usd(best.usd.s3)}`,
      usd(best.usd.total),
    ];
  });
  return renderTable(header, rows, format) + '\n';
}

export function gridPlans(creditUsd = CREDIT_USD_DEFAULT): IngestPlan[] {
  return GRID_FILES_PER_DAY.flatMap((files) =>
    GRID_GB_PER_DAY.map((gb) =>
      planIngest({ filesPerDay: files, mbPerFile: (gb * 1_000) / files, creditUsd }),
    ),
  );
}

export function renderTransfer(plans: TransferPlan[], format: TableFormat): string {
  const header = [
    'table GB',
    'rows in',
    'aggregated rows out',
    'out GB (jsonl.gz)',
    'warehouse',
    'aggregate s',
    'one Lambda s',
    'per month s (x months)',
    'unload s',
    'use',
    'credits',
    '$',
  ];
  const rows = plans.map((t) => {
    const o = t.options;
    const mark = (ok: boolean, s: number) => `${num(s)}${ok ? '' : ' (too long)'}`;
    const chosen = o[t.recommended];
    return [
      num(t.input.tableGb),
      num(t.sourceRows),
      `${num(t.outputRows)} (x${t.input.reduction})`,
      num(t.outputGbGz),
      t.warehouseSize,
      num(t.aggregateS),
      mark(o.stream.fits, o.stream.longestInvocationS),
      `${mark(o['stream-per-month'].fits, o['stream-per-month'].longestInvocationS)} (x${t.input.months})`,
      mark(o.unload.fits, o.unload.longestInvocationS),
      t.recommended,
      num(chosen.warehouseCredits),
      usd(chosen.usd),
    ];
  });
  return renderTable(header, rows, format) + '\n';
}

export function transferGrid(reductions = [1, 0.01], creditUsd = CREDIT_USD_DEFAULT): TransferPlan[] {
  return reductions.flatMap((reduction) =>
    GRID_TABLE_GB.map((tableGb) => planTransfer({ tableGb, reduction, creditUsd })),
  );
}
