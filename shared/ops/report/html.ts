/**
 * The run report as one self-contained HTML page: inline CSS, inline SVG charts, no script and no
 * external resource (a Content-Security-Policy forbids any), so it opens from disk or an e-mail
 * attachment and reads the same anywhere. Pure: ReportData in, a string out.
 *
 * Numbers a reader (or a test) checks carry `data-metric` / `data-*` attributes next to the text.
 */
import { escapeHtml as e } from './escape';
import type { ReportData, RunRow, TestResultRow } from './data';
import type { RunStatus } from '../../delivery/runs';
import { barChart, columnChart } from './svg';

const int = (n: number) => Math.round(n).toLocaleString('en-GB');
const money = (n: number) =>
  n.toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

type Tone = 'ok' | 'warn' | 'bad' | 'muted';

const badge = (text: string, tone: Tone) => `<span class="badge ${tone}">${e(text)}</span>`;

function testTone(r: TestResultRow): Tone {
  return r.status === 'pass' ? 'ok' : r.status === 'warn' ? 'warn' : 'bad';
}

function runTone(r: RunRow): Tone {
  return r.status === 'published' || r.status === 'built' ? 'ok' : r.status === 'withheld' ? 'warn' : 'bad';
}

function deliveryTone(r: RunStatus): Tone {
  return r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : 'muted';
}

function card(
  title: string,
  value: string,
  detail: string,
  tone: Tone,
  metric: string,
  raw: string | number | null,
): string {
  return `<div class="card ${tone}"><div class="card-title">${e(title)}</div>
<div class="card-value" data-metric="${e(metric)}" data-value="${e(raw ?? '')}">${value}</div>
<div class="card-detail">${detail}</div></div>`;
}

function table(
  id: string,
  head: string[],
  rows: string[][],
  numericFrom = 1,
  empty = 'nothing to show',
): string {
  if (rows.length === 0) return `<p class="empty" data-table="${e(id)}">${e(empty)}</p>`;
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${e(h)}</th>`).join('');
  const body = rows
    .map(
      (r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table data-table="${e(id)}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const cell = (name: string, value: number, text = int(value)) =>
  `<span data-cell="${e(name)}" data-value="${value}">${text}</span>`;

export function renderReport(d: ReportData): string {
  const liveRows = d.totals.reduce((s, t) => s + t.rowsLoaded, 0);
  const liveQuarantined = d.totals.reduce((s, t) => s + t.rowsQuarantined, 0);
  const maxAge = d.freshness.maxAgeHours * 3600;
  const age = d.freshness.arrivalAgeSeconds;
  const freshTone: Tone = age === null ? 'bad' : age <= maxAge ? 'ok' : 'warn';
  const lastRun = d.runs?.[0];
  const testCounts = d.tests
    ? {
        pass: d.tests.results.filter((r) => r.status === 'pass').length,
        warn: d.tests.results.filter((r) => r.status === 'warn').length,
        fail: d.tests.results.filter((r) => r.status === 'fail').length,
      }
    : null;

  const cards = [
    card(
      'Freshness',
      age === null ? 'no data' : e(formatDuration(age)),
      age === null
        ? 'no transactions file loaded yet'
        : `since the newest transactions file arrived (${e(d.freshness.newestArrivalAt)}); limit ${e(d.freshness.maxAgeHours)} h`,
      freshTone,
      'arrival-age-seconds',
      age,
    ),
    card(
      'Arrival → build lag',
      lastRun ? e(formatDuration(lastRun.lagSeconds)) : 'no rebuild yet',
      lastRun
        ? `last rebuild ${e(lastRun.runId)}: ${badge(lastRun.status, runTone(lastRun))}`
        : 'run npm run rebuild',
      lastRun ? runTone(lastRun) : 'muted',
      'lag-seconds',
      lastRun?.lagSeconds ?? null,
    ),
    card(
      'Rows live',
      int(liveRows),
      `${int(liveQuarantined)} quarantined, in ${int(d.totals.reduce((s, t) => s + t.files, 0))} files`,
      liveQuarantined > 0 ? 'warn' : 'ok',
      'rows-live',
      liveRows,
    ),
    card(
      'Open failures',
      int(d.failures.length),
      d.failures.length === 0 ? 'no file is failing' : 'files whose last attempt failed (see below)',
      d.failures.length === 0 ? 'ok' : 'bad',
      'open-failures',
      d.failures.length,
    ),
    card(
      'Data tests',
      testCounts ? `${testCounts.pass} / ${testCounts.warn} / ${testCounts.fail}` : 'not run yet',
      testCounts ? 'passed / warned / failed in the latest run' : 'run npm run rebuild',
      !testCounts ? 'muted' : testCounts.fail > 0 ? 'bad' : testCounts.warn > 0 ? 'warn' : 'ok',
      'tests-failed',
      testCounts?.fail ?? null,
    ),
  ].join('\n');

  const totals = table(
    'totals',
    ['dataset', 'files live', 'rows loaded', 'rows quarantined'],
    d.totals.map((t) => [
      `<span data-dataset="${e(t.dataset)}">${e(t.dataset)}</span>`,
      cell(`files-${t.dataset}`, t.files),
      cell(`rows-${t.dataset}`, t.rowsLoaded),
      cell(`quarantined-${t.dataset}`, t.rowsQuarantined),
    ]),
    1,
    'nothing loaded yet',
  );

  const days = table(
    'loads-per-day',
    ['day', 'files loaded', 'rows loaded', 'rows quarantined', 'files failed', 'superseded'],
    d.days.map((x) => [
      e(x.day),
      int(x.filesLoaded),
      int(x.rowsLoaded),
      x.rowsQuarantined > 0 ? `<strong class="warn-text">${int(x.rowsQuarantined)}</strong>` : '0',
      x.filesFailed > 0 ? `<strong class="bad-text">${int(x.filesFailed)}</strong>` : '0',
      int(x.filesSuperseded),
    ]),
    1,
    'no loads recorded',
  );

  const failures = table(
    'failures',
    ['object', 'attempts', 'first error', 'last attempt'],
    d.failures.map((f) => [
      `<code>${e(f.key)}</code><br><small>${e(f.version)}</small>`,
      int(f.attempts),
      e(f.error ?? ''),
      e(f.at ?? ''),
    ]),
    1,
    'no open failures',
  );

  const quarantine = table(
    'quarantine-reasons',
    ['reason', 'rows'],
    d.quarantineReasons.map((q) => [e(q.reason), int(q.rows)]),
    1,
    'no quarantined rows',
  );

  const tests = d.tests
    ? `<p class="sub">run <code>${e(d.tests.runId)}</code> at ${e(d.tests.ranAt)} UTC</p>` +
      table(
        'data-tests',
        ['test', 'severity', 'status', 'failing rows', 'error'],
        d.tests.results.map((r) => [
          `<code>${e(r.test)}</code>`,
          e(r.severity),
          badge(r.status, testTone(r)),
          cell(`failing-${r.test}`, r.failingRows),
          e(r.error ?? ''),
        ]),
        3,
      )
    : '<p class="empty" data-table="data-tests">no data-test results yet: they are written by npm run rebuild</p>';

  const runs = d.runs
    ? table(
        'rebuild-runs',
        ['run', 'started (UTC)', 'status', 'tests p/w/f', 'newest arrival', 'lag'],
        d.runs.map((r) => [
          `<code>${e(r.runId)}</code>`,
          e(r.startedAt),
          badge(r.status, runTone(r)) + (r.error ? `<br><small>${e(r.error)}</small>` : ''),
          `${r.testsPassed}/${r.testsWarned}/${r.testsFailed}`,
          e(r.newestArrivalAt ?? '—'),
          e(formatDuration(r.lagSeconds)),
        ]),
        9,
      )
    : '<p class="empty" data-table="rebuild-runs">no rebuild has run yet</p>';

  const deliveries =
    d.deliveries === null
      ? '<p class="empty" data-table="deliveries">no transfer has run yet</p>'
      : d.deliveries.length === 0
        ? '<p class="empty" data-table="deliveries">no deliveries</p>'
        : d.deliveries
            .map(
              (group) =>
                `<h3 data-destination="${e(group.destination)}">${e(group.destination)}${group.named ? '' : ' <small>(a bucket of this account)</small>'}</h3>` +
                table(
                  `deliveries-${group.destination}`,
                  ['run', 'asked (UTC)', 'by', 'status', 'rows', 'manifest'],
                  group.runs.map((r) => {
                    const rows = typeof r.result?.row_count === 'number' ? r.result.row_count : null;
                    return [
                      `<code>${e(r.run_id)}</code><br><small>${e(r.source_table)}</small>`,
                      e(r.accepted_at.replace('T', ' ').replace(/\.\d+Z$/, '')),
                      e(r.origin),
                      `<span data-run="${e(r.run_id)}" data-status="${e(r.status)}">${badge(r.status, deliveryTone(r))}</span>` +
                        (r.error ? `<br><small>${e(r.error)}</small>` : ''),
                      rows === null ? '—' : cell(`rows-${r.run_id}`, rows),
                      r.result?.file_name ? `<code>s3://${e(r.bucket)}/${e(String(r.result.file_name))}</code>` : '—',
                    ];
                  }),
                  9,
                ),
            )
            .join('\n');

  const monthChart = columnChart({
    id: 'purchases-per-month',
    title: 'Purchases (basket items) per month',
    bars: d.months.map((m) => ({ label: m.month, value: m.items })),
    format: int,
  });
  const monthTable = table(
    'purchases-per-month',
    ['month', 'items', 'amount'],
    d.months.map((m) => [
      e(m.month),
      cell(`items-${m.month}`, m.items),
      cell(`amount-${m.month}`, m.amount, money(m.amount)),
    ]),
  );
  const categoryChart = barChart({
    id: 'purchases-per-category',
    title: 'Purchases (basket items) per category',
    bars: d.categories.map((c) => ({ label: c.category, value: c.items })),
    format: int,
  });
  const categoryTable = table(
    'purchases-per-category',
    ['category', 'items', 'amount'],
    d.categories.map((c) => [
      e(c.category),
      cell(`items-${c.category}`, c.items),
      cell(`amount-${c.category}`, c.amount, money(c.amount)),
    ]),
  );

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>shopping-patterns run report · ${e(d.stage)} · ${e(d.generatedAt.slice(0, 16).replace('T', ' '))} UTC</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>shopping-patterns run report</h1>
<p class="sub">stage <strong data-metric="stage">${e(d.stage)}</strong> · warehouse ${e(d.engine)} · generated <time data-metric="generated-at">${e(d.generatedAt)}</time></p>
</header>
<main>
<section class="cards">${cards}</section>

<section><h2>Live data by dataset</h2>${totals}</section>

<section class="two">
<div><h2>Purchases per month</h2>${monthChart}<details><summary>numbers</summary>${monthTable}</details></div>
<div><h2>Purchases per category</h2>${categoryChart}<details open><summary>numbers</summary>${categoryTable}</details></div>
</section>

<section><h2>Loads per day</h2><p class="sub">by load day (UTC); the last ${e(d.days.length)} day${d.days.length === 1 ? '' : 's'} with activity</p>${days}</section>

<section><h2>Open failures</h2>${failures}</section>

<section><h2>Quarantine reasons</h2>${quarantine}</section>

<section><h2>Latest data tests</h2>${tests}</section>

<section><h2>Rebuild runs</h2>${runs}</section>

<section><h2>Deliveries</h2><p class="sub">each destination's latest transfer runs (API, schedule, or started directly)</p>${deliveries}</section>
</main>
<footer>Purchases count basket items from the loaded data (raw layer); the weekly models are rebuilt from the same rows. Freshness: now minus the newest transactions file's S3 arrival. Lag: a rebuild's model build time minus the newest file arrival it saw.</footer>
</body>
</html>
`;
}

const CSS = `
:root{--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--muted:#6e7781;--line:#d0d7de;--bg:#f6f8fa;--bar:#2f6fbf}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px}
h1{font-size:22px;margin:0 0 2px}
h2{font-size:16px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.sub{color:var(--muted);margin:0 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin-top:16px}
.card{border:1px solid var(--line);border-left:5px solid var(--muted);border-radius:6px;padding:10px 12px;background:var(--bg)}
.card.ok{border-left-color:var(--ok)}.card.warn{border-left-color:var(--warn)}.card.bad{border-left-color:var(--bad)}
.card-title{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.card-value{font-size:24px;font-weight:600;margin:2px 0}
.card-detail{font-size:12px;color:var(--muted)}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:20px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:hover{background:#fafbfc}
code{font-size:12px}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}.badge.bad{background:var(--bad)}.badge.muted{background:var(--muted)}
.warn-text{color:var(--warn)}.bad-text{color:var(--bad)}
.empty{color:var(--muted);font-style:italic}
details{margin-top:6px}summary{cursor:pointer;color:var(--muted)}
svg.chart{max-width:100%;height:auto;display:block}
svg .bar{fill:var(--bar)}svg .bar:hover{fill:#1b4f8f}
svg .grid{stroke:#e6e9ec;stroke-width:1}
svg text{font:12px system-ui,sans-serif;fill:#57606a}
svg .value{fill:#1f2328;font-weight:600}
svg .empty{font-size:14px;font-style:italic}
footer{color:var(--muted);font-size:12px;margin-top:28px;padding-bottom:24px;border-top:1px solid var(--line);padding-top:8px}
@media print{.card{break-inside:avoid}details{display:block}}
`;
