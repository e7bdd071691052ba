/**
 * Runs the data tests: each query once, counting its failing rows and keeping up to 5 of them as a
 * sample, then stores one row per test in `analytics.data_test_results`.
 *
 * A test whose query cannot run (a missing table, a syntax error) is a `fail` whatever its
 * severity: a check that did not run has not passed, and publishing must not go ahead on it.
 */
import { errorMessage } from '../errors';
import { logger as rootLogger, type Logger } from '../logger';
import type { Row, Warehouse } from '../warehouse/port';
import type { Severity, TemplateContext } from '../models/template';
import { loadDataTests, type DataTest } from './catalog';

export const SAMPLE_SIZE = 5;
export const RESULTS_TABLE = 'analytics.data_test_results';

export type TestStatus = 'pass' | 'warn' | 'fail';

export interface DataTestResult {
  test: string;
  severity: Severity;
  description: string;
  status: TestStatus;
  failingRows: number;
  sample: Row[];
  error?: string;
  ms: number;
}

export interface TestSummary {
  passed: number;
  warned: number;
  failed: number;
}

/**
 * Portable DDL; sample_rows is JSON text (use `parse_json(sample_rows)` in Snowflake to query into it).
 * Not `sample`: SAMPLE is a Snowflake reserved keyword, so a column of that name does not compile there.
 * https://docs.snowflake.com/en/sql-reference/reserved-keywords
 */
export const RESULTS_DDL = `create table if not exists ${RESULTS_TABLE} (
  run_id        varchar not null,
  test          varchar not null,
  severity      varchar not null,
  status        varchar not null,
  failing_rows  bigint not null,
  sample_rows   varchar,
  error         varchar,
  ran_at        timestamp not null
)`;

/** The column's name before it was renamed; a local DuckDB file created then still has it. */
const LEGACY_SAMPLE_COLUMN = 'sample';

const COUNT_COLUMN = 'dt_failing_rows__';

/** One pass over the test query: the window count is taken before the limit. */
export function sampleQuery(test: DataTest, sampleSize = SAMPLE_SIZE): string {
  return `select failing.*, count(*) over () as ${COUNT_COLUMN}\nfrom (\n${test.sql}\n) as failing\nlimit ${sampleSize}`;
}

export function statusOf(severity: Severity, failingRows: number): TestStatus {
  if (failingRows === 0) return 'pass';
  return severity === 'error' ? 'fail' : 'warn';
}

export async function runDataTest(wh: Warehouse, test: DataTest): Promise<DataTestResult> {
  const started = Date.now();
  try {
    const rows = await wh.query(sampleQuery(test));
    const sample = rows.map((row) => {
      const out: Row = {};
      for (const [k, v] of Object.entries(row)) if (k.toLowerCase() !== COUNT_COLUMN) out[k.toLowerCase()] = v;
      return out;
    });
    const first = rows[0];
    const countKey = first ? Object.keys(first).find((k) => k.toLowerCase() === COUNT_COLUMN) : undefined;
    const failingRows = first && countKey ? Number(first[countKey]) : 0;
    return {
      test: test.name,
      severity: test.severity,
      description: test.description,
      status: statusOf(test.severity, failingRows),
      failingRows,
      sample,
      ms: Date.now() - started,
    };
  } catch (err) {
    return {
      test: test.name,
      severity: test.severity,
      description: test.description,
      status: 'fail',
      failingRows: 0,
      sample: [],
      error: errorMessage(err),
      ms: Date.now() - started,
    };
  }
}

export interface RunTestsOptions {
  runId: string;
  tests?: DataTest[];
  context?: TemplateContext;
  /** Store results in analytics.data_test_results (default true). */
  store?: boolean;
  now?: Date;
  logger?: Logger;
}

export async function runDataTests(wh: Warehouse, options: RunTestsOptions): Promise<DataTestResult[]> {
  const log = options.logger ?? rootLogger;
  const tests = options.tests ?? loadDataTests(undefined, options.context);
  const results: DataTestResult[] = [];
  for (const test of tests) {
    const result = await runDataTest(wh, test);
    results.push(result);
    const fields = { test: result.test, severity: result.severity, failing_rows: result.failingRows, error: result.error };
    if (result.status === 'pass') log.debug('data test passed', fields);
    else if (result.status === 'warn') log.warn('data test warned', fields);
    else log.error('data test failed', fields);
  }
  if (options.store !== false) await storeResults(wh, options.runId, results, options.now ?? new Date());
  return results;
}

export async function storeResults(wh: Warehouse, runId: string, results: DataTestResult[], ranAt: Date): Promise<void> {
  await wh.execute(RESULTS_DDL);
  await renameLegacySampleColumn(wh);
  if (results.length === 0) return;
  const at = sqlTimestamp(ranAt);
  await wh.transaction(async (tx) => {
    for (const r of results) {
      await tx.execute(
        `insert into ${RESULTS_TABLE} (run_id, test, severity, status, failing_rows, sample_rows, error, ran_at)
         values (?, ?, ?, ?, ?, ?, ?, ?)`,
        [runId, r.test, r.severity, r.status, r.failingRows, JSON.stringify(r.sample), r.error ?? null, at],
      );
    }
  });
}

/**
 * A results table created before the rename (only possible on DuckDB: on Snowflake that DDL never
 * compiled) keeps its rows: its column is renamed in place.
 */
async function renameLegacySampleColumn(wh: Warehouse): Promise<void> {
  const [schema, table] = RESULTS_TABLE.split('.') as [string, string];
  const columns = (await wh.describeTable({ schema, table })).map((c) => c.name.toLowerCase());
  if (columns.includes(LEGACY_SAMPLE_COLUMN) && !columns.includes('sample_rows')) {
    await wh.execute(`alter table ${RESULTS_TABLE} rename column "${LEGACY_SAMPLE_COLUMN}" to sample_rows`);
  }
}

export function summarise(results: DataTestResult[]): TestSummary {
  return {
    passed: results.filter((r) => r.status === 'pass').length,
    warned: results.filter((r) => r.status === 'warn').length,
    failed: results.filter((r) => r.status === 'fail').length,
  };
}

/** 'YYYY-MM-DD HH:MM:SS' (naive UTC), the timestamp shape of the Warehouse port. */
export function sqlTimestamp(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}
