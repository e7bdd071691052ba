/**
 * The run report in a real headless browser (Chromium driven by playwright-core): data
 * loaded through the local stack (with a quarantined line and an unreadable file), a rebuild, then
 * `writeReport`; the page must render from file:// with no other request, and the numbers a person
 * reads must equal independent warehouse queries and counts taken from the landing files.
 *
 * The browser: CHROMIUM_PATH, else Debian's /usr/bin/chromium, else the one inside the
 * @sparticuz/chromium devDependency (test/support/browser.ts), so `npm ci` is all it needs. Without
 * any the test fails and says so; it is never skipped silently.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { generateSampleData } from '../../local/generator';
import { startStack, type Stack } from '../../local/stack';
import { setLogSink } from '../../shared/logger';
import { writeReport } from '../../shared/ops/report';
import { rebuild } from '../../shared/rebuild';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { findChromium } from '../support/browser';
import { scratchDir } from '../support/factories';
import { putTree } from '../support/landing';
import { depth, oracleFromFiles, waitFor, type FileOracle } from '../support/ops';

jest.setTimeout(180_000);

const EXTRA_KEY = 'transactions/d=2018-10-31/late-delivery.json';
const BROKEN_KEY = 'transactions/d=2018-10-30/broken.json.gz';
// the files arrive now (their S3 event time); the models are built an hour and a half later
const BUILT_AT = new Date(Math.floor(Date.now() / 1000) * 1000 + 90 * 60_000);

let scratch: ReturnType<typeof scratchDir>;
let stack: Stack;
let oracle: FileOracle;
let extra: { month: string; products: string[] };
let reportFile: string;
let generatedAt: string;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];
const logLines: string[] = [];

const q = async (sql: string, params: string[] = []) =>
  Number(Object.values((await warehouse().query(sql, params))[0]!)[0]);
/** A number as the page shows it ("1,234") -> 1234. */
const shown = async (selector: string) =>
  Number((await page.locator(selector).first().innerText()).replace(/,/g, '').trim());

beforeAll(async () => {
  const browser = findChromium(); // throws with what to do when there is none
  process.stderr.write(`report test browser: ${browser.source}\n`);
  setLogSink(() => undefined);
  scratch = scratchDir('sp-report-');
  const dataDir = path.join(scratch.dir, 'data');
  await generateSampleData({ outDir: dataDir, months: 2, customers: 40, seed: 3, end: '2018-10-29' });
  oracle = oracleFromFiles(dataDir);

  stack = await startStack({
    dir: path.join(scratch.dir, 'stack'),
    s3Port: 0,
    sqsPort: 0,
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 2,
    batchWindowMs: 100,
  });
  const s3 = createS3Client(stack.config);
  await putTree(s3, dataDir);
  // a late file with one bad line (quarantined), and a file that cannot be read at all (fails)
  const products = [...oracle.categoryOf.keys()].slice(0, 2);
  extra = { month: '2018-10', products };
  const lines = [
    `{"customer_id": "C1", "basket": [{"product_id": "${products[0]}", "price": 3}], "date_of_purchase": "2018-10-31 09:00:00"}`,
    '{"customer_id": "C2", "basket": "not a list", "date_of_purchase": "2018-10-31 09:30:00"}',
    `{"customer_id": "C3", "basket": [{"product_id": "${products[1]}", "price": 4}], "date_of_purchase": "2018-10-31 10:00:00"}`,
  ];
  await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: EXTRA_KEY, Body: lines.join('\n') + '\n' }));
  await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: BROKEN_KEY, Body: 'not gzip' }));
  await waitFor(
    'the unreadable file in the DLQ',
    async () => (await depth(stack.queues.client, stack.queues.dlqUrl)) === 1,
    60_000,
  );
  await stack.waitForIdle();

  // as in Lambda: JSON log lines, metrics in CloudWatch embedded metric format
  const savedFormat = process.env.LOG_FORMAT;
  process.env.LOG_FORMAT = 'json';
  setLogSink((line) => logLines.push(line));
  try {
    await rebuild({
      publish: false,
      snapshotDate: '2018-11-05',
      runId: 'rb-report-test',
      clock: () => BUILT_AT,
    });
  } finally {
    if (savedFormat === undefined) delete process.env.LOG_FORMAT;
    else process.env.LOG_FORMAT = savedFormat;
    setLogSink(() => undefined);
  }

  reportFile = path.join(scratch.dir, 'out', 'report.html');
  const written = await writeReport(warehouse(), {
    out: reportFile,
    stage: 'local',
    freshnessMaxAgeHours: 24,
  });
  generatedAt = written.data.generatedAt;

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
  const shots = process.env.REPORT_SCREENSHOT_DIR ?? scratch.dir;
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, 'report.png'), fullPage: true });
});

afterAll(async () => {
  await context?.close();
  await stack?.stop();
  scratch?.remove();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

it('renders from the file alone: one request, the file itself', async () => {
  expect(requests).toEqual([pathToFileURL(reportFile).href]);
  expect(await page.title()).toMatch(/^shopping-patterns run report · local · /);
  expect(await page.locator('svg.chart').count()).toBe(2);
});

it('shows the live rows per dataset and in total as the warehouse holds them', async () => {
  const [transactions, customers, products] = await Promise.all([
    q('select count(*) from raw.transactions'),
    q('select count(*) from raw.customers'),
    q('select count(*) from raw.products'),
  ]);
  expect(transactions).toBe(oracle.transactions + 2); // the generated files and the late file's two good lines
  expect(await shown('[data-cell="rows-transactions"]')).toBe(transactions);
  expect(await shown('[data-cell="rows-customers"]')).toBe(customers);
  expect(await shown('[data-cell="rows-products"]')).toBe(products);
  expect(await shown('[data-metric="rows-live"]')).toBe(transactions + customers + products);
  expect(await shown('[data-cell="quarantined-transactions"]')).toBe(
    await q(`select count(*) from raw.quarantine where dataset = 'transactions'`),
  );
  expect(await shown('[data-cell="quarantined-transactions"]')).toBe(1);
});

it('charts and tabulates purchases per month and per category as counted from the files', async () => {
  // Prepare: the oracle plus the late file's two items
  const perMonth = new Map(oracle.itemsPerMonth);
  perMonth.set(extra.month, (perMonth.get(extra.month) ?? 0) + 2);
  const perCategory = new Map(oracle.itemsPerCategory);
  for (const p of extra.products)
    perCategory.set(oracle.categoryOf.get(p)!, (perCategory.get(oracle.categoryOf.get(p)!) ?? 0) + 1);
  // and the warehouse, asked its own way
  const sqlMonths = await warehouse().query<{ m: string; n: number }>(
    `select strftime(purchased_at, '%Y-%m') as m, count(*) as n from raw.transaction_items group by 1 order by 1`,
  );
  expect(new Map(sqlMonths.map((r) => [r.m, Number(r.n)]))).toEqual(perMonth);

  // Act: read the page
  const bars = await page
    .locator('svg[data-chart="purchases-per-month"] rect.bar')
    .evaluateAll((els) =>
      els.map(
        (e) =>
          [
            e.getAttribute('data-label'),
            Number(e.getAttribute('data-value')),
            Number(e.getAttribute('height')),
          ] as const,
      ),
    );
  const monthCells = await page
    .locator('table[data-table="purchases-per-month"] tbody tr')
    .evaluateAll((rows) =>
      rows.map(
        (r) => [r.children[0]!.textContent!, Number(r.children[1]!.textContent!.replace(/,/g, ''))] as const,
      ),
    );
  const categoryCells = await page
    .locator('table[data-table="purchases-per-category"] tbody tr')
    .evaluateAll((rows) =>
      rows.map(
        (r) => [r.children[0]!.textContent!, Number(r.children[1]!.textContent!.replace(/,/g, ''))] as const,
      ),
    );

  // Assess
  expect(new Map(monthCells)).toEqual(perMonth);
  expect(bars.map(([label, value]) => [label, value])).toEqual([...perMonth.entries()].sort());
  const tallest = Math.max(...bars.map((b) => b[1]));
  for (const [, value, height] of bars)
    expect(height / bars.find((b) => b[1] === tallest)![2]).toBeCloseTo(value / tallest, 2);
  expect(new Map(categoryCells)).toEqual(perCategory);
  const categoryBars = await page.locator('svg[data-chart="purchases-per-category"] rect.bar').count();
  expect(categoryBars).toBe(perCategory.size);
});

it('lists the open failure and the loads per day from the ledger', async () => {
  const failures = await page.locator('table[data-table="failures"] tbody tr').allInnerTexts();
  expect(failures).toHaveLength(1);
  expect(failures[0]).toContain(BROKEN_KEY);
  expect(await shown('[data-metric="open-failures"]')).toBe(1);
  const filesPerDay = await page
    .locator('table[data-table="loads-per-day"] tbody tr')
    .evaluateAll((rows) =>
      rows.reduce((s, r) => s + Number(r.children[1]!.textContent!.replace(/,/g, '')), 0),
    );
  expect(filesPerDay).toBe(
    await q(`select count(*) from raw.file_ledger where status in ('loaded', 'replaced')`),
  );
});

it('shows the latest data-test results with their severities', async () => {
  const stored = await warehouse().query<{ test: string; severity: string; status: string }>(
    `select test, severity, status from analytics.data_test_results where run_id = 'rb-report-test' order by test`,
  );
  const rows = await page
    .locator('table[data-table="data-tests"] tbody tr')
    .evaluateAll((trs) =>
      trs.map((r) => ({
        test: r.children[0]!.textContent!,
        severity: r.children[1]!.textContent!,
        status: r.children[2]!.textContent!,
      })),
    );
  expect(stored.length).toBeGreaterThan(5);
  expect(rows).toEqual(stored);
});

it('shows freshness and the arrival-to-build lag the rebuild recorded', async () => {
  const [newest] = await warehouse().query<{ t: string }>(
    // arrival is when the object store says the file landed (its Last-Modified, whole seconds)
    `select cast(max(coalesce(last_modified, loaded_at)) as varchar) as t from raw.file_ledger where status = 'loaded'`,
  );
  const arrivedMs = Date.parse(newest!.t.replace(' ', 'T') + 'Z');
  const expectedLag = Math.round((BUILT_AT.getTime() - arrivedMs) / 1000);
  expect(expectedLag).toBeGreaterThan(80 * 60);
  const [run] = await warehouse().query<{ lag_seconds: number }>(
    `select lag_seconds from analytics.rebuild_runs where run_id = 'rb-report-test'`,
  );
  expect(Number(run!.lag_seconds)).toBe(expectedLag);
  expect(Number(await page.locator('[data-metric="lag-seconds"]').getAttribute('data-value'))).toBe(
    expectedLag,
  );
  // the metric the arrival-lag alarm watches (serverless.yml RebuildArrivalLagAlarm)
  const emf = logLines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => 'ArrivalToBuildLagSeconds' in l);
  expect(emf).toMatchObject({
    _aws: {
      CloudWatchMetrics: [
        {
          Namespace: 'ShoppingPatterns/Rebuild',
          Dimensions: [['Stage']],
          Metrics: [{ Name: 'ArrivalToBuildLagSeconds' }],
        },
      ],
    },
    Stage: 'local',
    ArrivalToBuildLagSeconds: expectedLag,
  });

  const [tx] = await warehouse().query<{ t: string }>(
    `select cast(max(coalesce(event_time, loaded_at)) as varchar) as t from raw.file_ledger where dataset = 'transactions' and status = 'loaded'`,
  );
  const age = Math.round((Date.parse(generatedAt) - Date.parse(tx!.t.replace(' ', 'T') + 'Z')) / 1000);
  expect(Number(await page.locator('[data-metric="arrival-age-seconds"]').getAttribute('data-value'))).toBe(
    age,
  );
});
