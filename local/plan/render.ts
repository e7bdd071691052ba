/**
 * Tables of the capacity model for people: aligned text for the terminal, Markdown for docs/SCALE.md.
 * `npm run plan` and the document print the same functions' output (`npm run plan -- --grid --format md`
 * regenerates every table of the document; test/unit/plan-cli.test.ts checks the document carries them).
 */
import { CREDIT_USD_DEFAULT, DEFAULT_HISTORY_DAYS, DEPLOYED, LISTED_ON } from './constants';
import {
  deployedInput,
  planIngest,
  planRebuild,
  planTransfer,
  type IngestMode,
  type IngestPlan,
  type LimitTerm,
  type ModePlan,
  type RebuildPlan,
  type TransferPlan,
  type WriteDesign,
} from './model';

export type TableFormat = 'table' | 'md';

/** The grid of docs/SCALE.md: files a day x GB a day. */
export const GRID_FILES_PER_DAY = [1e3, 1e5, 1e7];
export const GRID_GB_PER_DAY = [1, 100, 10_240];
export const GRID_TABLE_GB = [1, 100, 1_000];
export const GRID_HISTORY_DAYS = [30, DEFAULT_HISTORY_DAYS];

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
  if (!Number.isFinite(n)) return n > 0 ? '∞' : String(n);
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 1_000) return Math.round(n).toLocaleString('en-US');
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return Number(n.toFixed(digits)).toString();
}

export function usd(n: number): string {
  return n >= 100 ? `$${Math.round(n).toLocaleString('en-US')}` : `$${n.toFixed(2)}`;
}

export function pct(ratio: number): string {
  return Number.isFinite(ratio) ? `${num(ratio * 100)}%` : '∞';
}

/** A term as a cell: its name and how far along its limit it is (100% = at the limit). */
export function termCell(t: LimitTerm): string {
  return `${t.name} ${pct(t.ratio)}`;
}

/** "yes" only when every term fits (`ingest`: every term but the rebuild's): the one place a verdict is written. */
export function fitsCell(p: ModePlan, scope: 'all' | 'ingest' = 'all'): string {
  const terms = scope === 'all' ? p.terms : p.terms.filter((t) => t.name !== 'rebuild');
  return terms.every((t) => t.fits) ? 'yes' : 'NO';
}

const MODES: { mode: IngestMode; label: string }[] = [
  { mode: 'copy', label: 'COPY mode' },
  { mode: 'pipe', label: 'pipe mode (Snowpipe per GB)' },
  { mode: 'pipe-legacy', label: 'pipe mode, pre-Dec-2025 pricing' },
];

/** Credits of a plan whose ingest does not fit are shown in parentheses. */
function credits(p: ModePlan, n: number): string {
  return p.ingestFeasible ? num(n) : `(${num(n)})`;
}

function minutes(s: number): string {
  return s >= 120 ? `${num(s / 60)} min` : `${num(s)} s`;
}

export function renderIngest(plan: IngestPlan, format: TableFormat): string {
  const i = plan.input;
  const head = [
    `Workload: ${num(i.filesPerDay)} files/day (${num(plan.filesPerSecond)}/s) of ${num(i.mbPerFile)} MB = ${num(plan.gbPerDay)} GB/day` +
      (i.compressionRatio !== 1 ? ` (${num(plan.gbUncompressedPerDay)} GB uncompressed)` : '') +
      `; credit $${i.creditUsd}${i.creditUsd === CREDIT_USD_DEFAULT ? ' (Enterprise, on demand)' : ''}; longest batching window ${i.maxWindowS} s.`,
    `Hot path: ${i.design === 'append' ? 'append (no lock; the default)' : 'lock (the old dataset lock row)'}; MaximumConcurrency ${i.maxConcurrency > 0 ? i.maxConcurrency : 'recommended'}; account concurrency ${num(i.accountConcurrency)}; the rebuild reads ${num(i.historyDays)} days. Prices as listed on ${LISTED_ON}, Lambda at the arm64 rate.`,
  ];
  const modes = MODES.map((m) => plan.modes[m.mode]);
  const row = (label: string, f: (p: ModePlan) => string) => [label, ...modes.map(f)];
  const termNames = modes[0]!.terms.map((t) => t.name);
  const rows = [
    row('fits (every limit at most 100%)', (p) => fitsCell(p)),
    row('binding limit', (p) => termCell(p.binding)),
    ...termNames.map((name) =>
      row(`  ${name}`, (p) => {
        const t = p.terms.find((x) => x.name === name)!;
        return `${pct(t.ratio)}${t.fits ? '' : ' NO'}`;
      }),
    ),
    row('warehouse size', (p) => p.warehouse.size),
    row('SQS batch size / batching window (s)', (p) => `${p.batchSize} / ${p.batchingWindowS}`),
    row(
      'SQS records per invocation / deliveries per file',
      (p) => `${num(p.recordsPerInvocation)} / ${p.deliveriesPerFile}`,
    ),
    row('Lambda invocations per day', (p) => num(p.invocationsPerDay)),
    row(
      'Lambda s per batch / longest invocation',
      (p) => `${num(p.lambdaDurationS)} / ${num(p.longestInvocationS)}`,
    ),
    row(
      'Lambda concurrency needed / MaximumConcurrency',
      (p) => `${num(p.lambdaConcurrencyNeeded)} / ${p.lambdaMaxConcurrency}`,
    ),
    row('lock held (share of day) / expected wait (s)', (p) =>
      p.serialisation.holdS > 0
        ? `${pct(p.serialisation.utilisation)} / ${num(p.serialisation.meanWaitS)}`
        : 'none',
    ),
    row('COPY statements per minute', (p) => num(p.copyStatementsPerMinute)),
    row('all Snowflake statements per minute', (p) => num(p.statementsPerMinute)),
    row('worst lag PutObject -> visible', (p) => minutes(p.worstLagS)),
    row(
      'warehouse compute / statement slots / billed hours a day',
      (p) =>
        `${pct(p.warehouse.utilisation)} / ${pct(p.warehouse.slotUtilisation)} / ${num(p.warehouse.billedHoursPerDay)}`,
    ),
    row('warehouse credits per day', (p) => credits(p, p.warehouse.credits)),
    row('Snowpipe credits per day', (p) => credits(p, p.snowpipeCredits)),
    row(
      'cloud services credits used / billed',
      (p) => `${num(p.cloudServices.credits)} / ${num(p.cloudServices.billed)}`,
    ),
    row('Snowflake credits per day (ingest)', (p) => credits(p, p.snowflakeCredits)),
    row('USD per day: Snowflake', (p) => usd(p.usd.snowflake)),
    row(
      'USD per day: Lambda / SQS / S3',
      (p) => `${usd(p.usd.lambda)} / ${usd(p.usd.sqs)} / ${usd(p.usd.s3)}`,
    ),
    row('USD per day: weekly rebuild (amortised)', (p) => usd(p.usd.rebuild)),
    row('USD per day: ingest', (p) => usd(p.usd.ingest)),
    row('USD per day, total', (p) => usd(p.usd.total)),
    row('USD per 30 days, total', (p) => usd(p.usd.total * 30)),
  ];
  const r = plan.rebuild;
  const notes = [
    `Cheapest under the current pricing: ${MODES.find((m) => m.mode === plan.cheapest)!.label}.`,
    `Weekly rebuild${r.design === 'append' ? ' and compaction' : ''}: ${r.passes} reads of ${num(r.historyGbUncompressed)} GB on ${r.size}, ${num(r.wallS)} s of a ${num(r.budgetS)} s budget (${r.fits ? 'fits' : 'does NOT fit'}), ${num(r.creditsPerWeek)} credits a week.`,
    ...plan.warnings.map((w) => `warning: ${w}`),
    ...MODES.flatMap((m) => plan.modes[m.mode].notes.map((n) => `${m.label}: ${n}`)),
    ...MODES.flatMap((m) =>
      plan.modes[m.mode].terms.filter((t) => !t.fits).map((t) => `${m.label}: ${t.name}: ${t.detail}`),
    ),
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

/** One workload of the grid: the model's plan and the deployed settings' plan (COPY mode, the deployed INGEST_MODE). */
export interface GridRow {
  plan: IngestPlan;
  deployed: IngestPlan;
}

export function gridRows(
  creditUsd = CREDIT_USD_DEFAULT,
  design: WriteDesign = 'append',
  historyDays = DEFAULT_HISTORY_DAYS,
): GridRow[] {
  return GRID_FILES_PER_DAY.flatMap((files) =>
    GRID_GB_PER_DAY.map((gb) => {
      const workload = {
        filesPerDay: files,
        mbPerFile: (gb * 1_000) / files,
        creditUsd,
        design,
        historyDays,
      };
      return { plan: planIngest(workload), deployed: planIngest(deployedInput(workload)) };
    }),
  );
}

/** The grid's plans alone (the JSON of `--grid`). */
export function gridPlans(creditUsd = CREDIT_USD_DEFAULT, design: WriteDesign = 'append'): IngestPlan[] {
  return gridRows(creditUsd, design).map((r) => r.plan);
}

/**
 * One line per workload: the cheaper mode's plan and the binding limit of its ingest, the deployed
 * settings' verdict, and whether the weekly rebuild of a year of it fits. "ingest fits" is yes only
 * when every ingest term fits; "rebuild fits" only when the rebuild's term does.
 */
export function renderGrid(rows: GridRow[], format: TableFormat): string {
  const header = [
    'files/day',
    'GB/day',
    'MB/file',
    'cheaper',
    'batch / window s',
    'invocations/day',
    'Lambda s / max conc.',
    'warehouse',
    'credits/day COPY',
    'credits/day pipe',
    'credits/day pipe (pre-Dec-2025)',
    'ingest $/day',
    'worst lag',
    'ingest: binding limit',
    'ingest fits',
    `deployed (COPY, batch ${DEPLOYED.batchSize} / ${DEPLOYED.batchingWindowS} s, max conc. ${DEPLOYED.maximumConcurrency}): binding limit`,
    'deployed fits',
    'deployed credits/day',
    'rebuild: warehouse, share of budget',
    'rebuild fits',
  ];
  const body = rows.map(({ plan: p, deployed }) => {
    const best = p.modes[p.cheapest];
    const d = deployed.modes.copy;
    const rebuild = best.terms.find((t) => t.name === 'rebuild')!;
    return [
      num(p.input.filesPerDay),
      num(p.gbPerDay),
      num(p.input.mbPerFile),
      p.cheapest,
      `${best.batchSize} / ${best.batchingWindowS}`,
      num(best.invocationsPerDay),
      `${num(best.lambdaDurationS)} / ${best.lambdaMaxConcurrency}`,
      best.warehouse.size,
      credits(p.modes.copy, p.modes.copy.snowflakeCredits),
      credits(p.modes.pipe, p.modes.pipe.snowflakeCredits),
      credits(p.modes['pipe-legacy'], p.modes['pipe-legacy'].snowflakeCredits),
      usd(best.usd.ingest),
      minutes(best.worstLagS),
      termCell(best.ingestBinding),
      fitsCell(best, 'ingest'),
      termCell(d.ingestBinding),
      fitsCell(d, 'ingest'),
      credits(d, d.snowflakeCredits),
      `${p.rebuild.size} ${pct(rebuild.ratio)}`,
      rebuild.fits ? 'yes' : 'NO',
    ];
  });
  return renderTable(header, body, format) + '\n';
}

/** The old hot path on the same grid: what the dataset lock costs (why the hot path had to change). */
export function renderLockGrid(rows: GridRow[], format: TableFormat): string {
  const header = [
    'files/day',
    'GB/day',
    'COPY: batch',
    'COPY: lock held (day) / wait s',
    'COPY: waiters at backlog',
    'COPY: ingest binding limit',
    'COPY ingest fits',
    'pipe: batch',
    'pipe: lock held (day)',
    'pipe ingest fits',
    'deployed (COPY): lock held (day)',
    'deployed ingest fits',
  ];
  const body = rows.map(({ plan: p, deployed }) => {
    const c = p.modes.copy;
    const pipe = p.modes.pipe;
    const d = deployed.modes.copy;
    return [
      num(p.input.filesPerDay),
      num(p.gbPerDay),
      String(c.batchSize),
      `${pct(c.serialisation.utilisation)} / ${num(c.serialisation.meanWaitS)}`,
      String(c.serialisation.waiters),
      termCell(c.ingestBinding),
      fitsCell(c, 'ingest'),
      String(pipe.batchSize),
      pct(pipe.serialisation.utilisation),
      fitsCell(pipe, 'ingest'),
      pct(d.serialisation.utilisation),
      fitsCell(d, 'ingest'),
    ];
  });
  return renderTable(header, body, format) + '\n';
}

export function rebuildGrid(design: WriteDesign = 'append'): RebuildPlan[] {
  return GRID_HISTORY_DAYS.flatMap((days) => GRID_GB_PER_DAY.map((gb) => planRebuild(gb, days, design)));
}

export function renderRebuild(plans: RebuildPlan[], format: TableFormat): string {
  const header = [
    'GB/day',
    'days read',
    'history GB',
    'reads (rebuild + compaction)',
    'warehouse',
    'wall s',
    `fits ${plans[0]?.budgetS ?? ''} s`,
    'credits/week',
  ];
  const body = plans.map((r) => [
    num(r.historyGbUncompressed / r.historyDays),
    num(r.historyDays),
    num(r.historyGbUncompressed),
    String(r.passes),
    r.size,
    num(r.wallS),
    r.fits ? 'yes' : 'NO',
    num(r.creditsPerWeek),
  ]);
  return renderTable(header, body, format) + '\n';
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

/** Every table of docs/SCALE.md, in its order, as `npm run plan -- --grid` prints them. */
export function renderAllGrids(creditUsd: number | undefined, format: TableFormat): string {
  const sections: [string, string][] = [
    ['ingest, append hot path', renderGrid(gridRows(creditUsd, 'append'), format)],
    ['ingest, the old dataset lock', renderLockGrid(gridRows(creditUsd, 'lock'), format)],
    ['weekly rebuild and compaction', renderRebuild(rebuildGrid('append'), format)],
    ['transfer', renderTransfer(transferGrid(undefined, creditUsd), format)],
  ];
  return sections
    .map(([title, table]) =>
      format === 'md' ? `<!-- plan --grid: ${title} -->\n${table}` : `${title}\n${table}`,
    )
    .join('\n');
}
