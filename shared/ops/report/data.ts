/**
 * The numbers of the run report, read from the warehouse with portable SQL (DuckDB and Snowflake).
 *
 * Sources: raw.file_ledger (loads, failures, arrivals), raw.transactions / raw.transaction_items /
 * raw.products (purchases: what is loaded now, not what the last weekly rebuild saw),
 * analytics.rebuild_runs and analytics.data_test_results (absent until the first rebuild).
 * Column names are read case-insensitively: Snowflake answers in upper case.
 */
import { RUNS_TABLE } from '../../rebuild';
import { RESULTS_TABLE } from '../../datatests/runner';
import { CLAIMS_TABLE } from '../../publish/claims';
import { recentRuns, RUNS_TABLE as TRANSFER_RUNS_TABLE, type RunStatus } from '../../delivery/runs';
import type { Row, Scalar, Warehouse } from '../../warehouse/port';

export interface DayLoads {
  day: string;
  filesLoaded: number;
  rowsLoaded: number;
  rowsQuarantined: number;
  filesFailed: number;
  filesSuperseded: number;
}

export interface DatasetTotals {
  dataset: string;
  files: number;
  rowsLoaded: number;
  rowsQuarantined: number;
}

export interface OpenFailure {
  key: string;
  version: string;
  attempts: number;
  error: string | null;
  at: string | null;
}

export interface TestResultRow {
  test: string;
  severity: string;
  status: string;
  failingRows: number;
  error: string | null;
}

export interface RunRow {
  runId: string;
  startedAt: string;
  finishedAt: string;
  status: string;
  testsPassed: number;
  testsWarned: number;
  testsFailed: number;
  published: boolean;
  newestArrivalAt: string | null;
  lagSeconds: number | null;
  error: string | null;
}

export interface MonthPurchases {
  month: string;
  items: number;
  amount: number;
}

export interface CategoryPurchases {
  category: string;
  items: number;
  amount: number;
}

/** One destination's latest deliveries (newest first); `destination` is `s3://<bucket>` for a bucket of this account. */
export interface DestinationDeliveries {
  destination: string;
  named: boolean;
  runs: RunStatus[];
}

/** Deliveries shown per destination. */
export const DELIVERIES_PER_DESTINATION = 5;

export interface ReportData {
  generatedAt: string;
  stage: string;
  engine: string;
  freshness: {
    newestArrivalAt: string | null;
    newestPurchaseAt: string | null;
    /** Now minus the newest transactions file arrival. */
    arrivalAgeSeconds: number | null;
    maxAgeHours: number;
  };
  totals: DatasetTotals[];
  days: DayLoads[];
  failures: OpenFailure[];
  quarantineReasons: { reason: string; rows: number }[];
  tests: { runId: string; ranAt: string; results: TestResultRow[] } | null;
  runs: RunRow[] | null;
  months: MonthPurchases[];
  categories: CategoryPurchases[];
  /** null until the first transfer run was recorded. */
  deliveries: DestinationDeliveries[] | null;
}

export interface ReadOptions {
  stage: string;
  now?: Date;
  /** Days of load history shown (default 60). */
  days?: number;
  freshnessMaxAgeHours?: number;
}

const lower = (row: Row): Record<string, Scalar> =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
const num = (v: Scalar | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: Scalar | undefined): string | null => (v === null || v === undefined ? null : String(v));

async function rows(
  wh: Warehouse,
  sql: string,
  params: (string | number)[] = [],
): Promise<Record<string, Scalar>[]> {
  return (await wh.query(sql, params)).map(lower);
}

/** Naive-UTC 'YYYY-MM-DD HH:MM:SS[.fff]' from the port -> epoch ms. */
export function parseWarehouseTimestamp(text: string): number {
  return Date.parse(text.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? '' : 'Z'));
}

export async function tableExists(wh: Warehouse, qualified: string): Promise<boolean> {
  const [schema, table] = qualified.split('.') as [string, string];
  const found = await rows(
    wh,
    `select count(*) as n from information_schema.tables where lower(table_schema) = ? and lower(table_name) = ?`,
    [schema.toLowerCase(), table.toLowerCase()],
  );
  return num(found[0]?.n) > 0;
}

export async function readReportData(wh: Warehouse, opts: ReadOptions): Promise<ReportData> {
  const now = opts.now ?? new Date();
  const dayLimit = opts.days ?? 60;

  const days = (
    await rows(
      wh,
      `select cast(coalesce(loaded_at, updated_at) as date) as load_day,
              sum(case when status in ('loaded', 'replaced') then 1 else 0 end) as files_loaded,
              sum(case when status in ('loaded', 'replaced') then rows_loaded else 0 end) as rows_loaded,
              sum(case when status in ('loaded', 'replaced') then rows_quarantined else 0 end) as rows_quarantined,
              sum(case when status = 'failed' then 1 else 0 end) as files_failed,
              sum(case when status = 'superseded' then 1 else 0 end) as files_superseded
         from raw.file_ledger
        group by cast(coalesce(loaded_at, updated_at) as date)
        order by load_day desc
        limit ${Number(dayLimit)}`,
    )
  ).map((r) => ({
    day: String(r.load_day),
    filesLoaded: num(r.files_loaded),
    rowsLoaded: num(r.rows_loaded),
    rowsQuarantined: num(r.rows_quarantined),
    filesFailed: num(r.files_failed),
    filesSuperseded: num(r.files_superseded),
  }));

  const totals = (
    await rows(
      wh,
      `select dataset, count(*) as files, sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined
         from raw.file_ledger
        where status = 'loaded'
        group by dataset
        order by dataset`,
    )
  ).map((r) => ({
    dataset: String(r.dataset),
    files: num(r.files),
    rowsLoaded: num(r.rows_loaded),
    rowsQuarantined: num(r.rows_quarantined),
  }));

  // A failure is open until a later version of the same key loaded.
  const failures = (
    await rows(
      wh,
      `select f.key, f.version, f.attempts, f.first_error, f.updated_at
         from raw.file_ledger f
        where f.status = 'failed'
          and not exists (
              select 1 from raw.file_ledger l
               where l.bucket = f.bucket and l.key = f.key
                 and l.status in ('loaded', 'replaced') and l.updated_at >= f.updated_at)
        order by f.updated_at desc
        limit 100`,
    )
  ).map((r) => ({
    key: String(r.key),
    version: String(r.version),
    attempts: num(r.attempts),
    error: str(r.first_error),
    at: str(r.updated_at),
  }));

  const quarantineReasons = (
    await rows(
      wh,
      `select reason, count(*) as n from raw.quarantine group by reason order by n desc, reason limit 20`,
    )
  ).map((r) => ({ reason: String(r.reason), rows: num(r.n) }));

  const [fresh] = await rows(
    wh,
    `select max(coalesce(event_time, loaded_at)) as newest_arrival_at
       from raw.file_ledger
      where dataset = 'transactions' and status = 'loaded'`,
  );
  const [purchase] = await rows(wh, `select max(purchased_at) as newest_purchase_at from raw.transactions`);
  const newestArrivalAt = str(fresh?.newest_arrival_at);

  let tests: ReportData['tests'] = null;
  if (await tableExists(wh, RESULTS_TABLE)) {
    const [latest] = await rows(
      wh,
      `select run_id, max(ran_at) as ran_at from ${RESULTS_TABLE} group by run_id order by ran_at desc limit 1`,
    );
    if (latest) {
      const results = await rows(
        wh,
        `select test, severity, status, failing_rows, error from ${RESULTS_TABLE} where run_id = ? order by test`,
        [String(latest.run_id)],
      );
      tests = {
        runId: String(latest.run_id),
        ranAt: String(latest.ran_at),
        results: results.map((r) => ({
          test: String(r.test),
          severity: String(r.severity),
          status: String(r.status),
          failingRows: num(r.failing_rows),
          error: str(r.error),
        })),
      };
    }
  }

  let runs: RunRow[] | null = null;
  if (await tableExists(wh, RUNS_TABLE)) {
    // select * : tables created before the lag columns existed still read (the fields come back null)
    runs = (await rows(wh, `select * from ${RUNS_TABLE} order by started_at desc limit 10`)).map((r) => ({
      runId: String(r.run_id),
      startedAt: String(r.started_at),
      finishedAt: String(r.finished_at),
      status: String(r.status),
      testsPassed: num(r.tests_passed),
      testsWarned: num(r.tests_warned),
      testsFailed: num(r.tests_failed),
      published: r.published === true || r.published === 'true' || r.published === 1,
      newestArrivalAt: str(r.newest_arrival_at),
      lagSeconds: r.lag_seconds === null || r.lag_seconds === undefined ? null : Number(r.lag_seconds),
      error: str(r.error),
    }));
  }

  const months = (
    await rows(
      wh,
      `select extract(year from purchased_at) as y, extract(month from purchased_at) as m,
              count(*) as items, sum(price) as amount
         from raw.transaction_items
        group by extract(year from purchased_at), extract(month from purchased_at)
        order by y, m`,
    )
  ).map((r) => ({
    month: `${num(r.y)}-${String(num(r.m)).padStart(2, '0')}`,
    items: num(r.items),
    amount: num(r.amount),
  }));

  // one category per product even if the snapshot repeats a product (a data test reports that)
  const categories = (
    await rows(
      wh,
      `with products as (
           select product_id, min(product_category) as product_category from raw.products group by product_id
       )
       select coalesce(products.product_category, '(unknown product)') as category,
              count(*) as items, sum(ti.price) as amount
         from raw.transaction_items as ti
         left join products on products.product_id = ti.product_id
        group by coalesce(products.product_category, '(unknown product)')
        order by items desc, category`,
    )
  ).map((r) => ({ category: String(r.category), items: num(r.items), amount: num(r.amount) }));

  let deliveries: ReportData['deliveries'] = null;
  if ((await tableExists(wh, TRANSFER_RUNS_TABLE)) && (await tableExists(wh, CLAIMS_TABLE))) {
    const byDestination = new Map<string, DestinationDeliveries>();
    for (const run of await recentRuns(wh, 500, now)) {
      const label = run.destination ?? `s3://${run.bucket}`;
      const entry = byDestination.get(label) ?? { destination: label, named: run.destination !== null, runs: [] };
      if (entry.runs.length < DELIVERIES_PER_DESTINATION) entry.runs.push(run);
      byDestination.set(label, entry);
    }
    // named destinations first, each by name
    deliveries = [...byDestination.values()].sort((a, b) =>
      a.named !== b.named ? (a.named ? -1 : 1) : a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0,
    );
  }

  return {
    generatedAt: now.toISOString(),
    stage: opts.stage,
    engine: wh.engine,
    freshness: {
      newestArrivalAt,
      newestPurchaseAt: str(purchase?.newest_purchase_at),
      arrivalAgeSeconds:
        newestArrivalAt === null
          ? null
          : Math.max(0, Math.round((now.getTime() - parseWarehouseTimestamp(newestArrivalAt)) / 1000)),
      maxAgeHours: opts.freshnessMaxAgeHours ?? 24,
    },
    totals,
    days,
    failures,
    quarantineReasons,
    tests,
    runs,
    months,
    categories,
    deliveries,
  };
}
