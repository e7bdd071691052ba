/**
 * The live scenario (`npm run test:live`): the whole pipeline on a real Snowflake account, on a
 * scratch database, compared table by table with a DuckDB run of the same corpus.
 *
 *   1. create database SHOPPING_PATTERNS_LIVE_<random>, and migrate it (shared/migrate.ts, the same
 *      rendered scripts as every environment) with the landing and export stages INTERNAL: there is no
 *      bucket and no storage integration before the first deploy (./stages.ts);
 *   2. stage a small corpus with bad lines (the original generator's fixture plus quarantined lines),
 *      through the stage loader: PUT on Snowflake (./stages.ts), the fake's PUT in `npm test`;
 *   3. ingest it through the real path: SQS-shaped records -> processBatch -> the stage landing's COPY
 *      (shared/ingest/landing/stage.ts), with the HEAD answered from LIST @stage;
 *   4. rebuild (models and data tests; publishing is off: the weekly export writes to a bucket);
 *   5. transfer analytics.customer_product_purchases_monthly in stream mode to a loopback S3 server, and
 *      in unload mode when the export stage is an external stage on a bucket (it is not here: reported
 *      as skipped, with why);
 *   6. run the same corpus through the local DuckDB path and compare every raw and analytics table and
 *      the transfer's rows;
 *   7. drop database, in a finally block, whatever happened before.
 *
 * The same module runs in `npm test` against the loopback fake of Snowflake's REST API
 * (test/live/scenario.test.ts), so its statements and its logic are checked on every run.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../shared/config';
import { defaultRegistry } from '../../shared/datasets';
import { errorMessage } from '../../shared/errors';
import { processBatch, type SqsRecordLike } from '../../shared/ingest/batch';
import { StageLanding } from '../../shared/ingest/landing/stage';
import { ObjectStoreLanding } from '../../shared/ingest/landing/object-store';
import { logger as rootLogger, type Logger } from '../../shared/logger';
import { migrate, snowflakeScripts } from '../../shared/migrate';
import type { Manifest } from '../../shared/publish';
import { CATEGORIES } from '../../shared/products';
import { rebuild } from '../../shared/rebuild';
import { transferData } from '../../shared/transfer';
import type { Row, Scalar, Warehouse } from '../../shared/warehouse/port';
import { ORIGINAL_FIXTURE } from '../support/fixtures';
import { s3NotificationBody, s3Record } from '../support/events';
import { internalStageStatements, type StageLoader, type StagedFile } from './stages';

/** The bucket name both runs put in their events and ledgers (the internal stage has none). */
export const LANDING_LABEL = 'landing';
export const EXPORTS_BUCKET = 'exports';
export const TRANSFER_TABLE = 'analytics.customer_product_purchases_monthly';
/** The date the rebuild's snapshot and data tests are pinned to (the fixture ends 2020-01-01). */
const SNAPSHOT_DATE = '2020-01-06';

/** SHOPPING_PATTERNS_LIVE_<8 hex digits>: an identifier, and never an existing environment's name. */
export function scratchDatabaseName(): string {
  return `SHOPPING_PATTERNS_LIVE_${randomBytes(4).toString('hex').toUpperCase()}`;
}

/** Lines the rules quarantine (docs/ARCHITECTURE.md §5), between good ones. */
const BAD_TRANSACTIONS = [
  '{"customer_id": "C1", "basket": [{"product_id": "P01", "price": 100}], "date_of_purchase": "2019-10-15 09:00:00"}',
  'not json at all',
  '{"basket": [{"product_id": "P02", "price": 5}], "date_of_purchase": "2019-10-15 10:00:00"}',
  '{"customer_id": "C2", "basket": "none", "date_of_purchase": "2019-10-15 11:00:00"}',
  '{"customer_id": "C3", "basket": [{"product_id": "P03", "price": "cheap"}], "date_of_purchase": "2019-10-15 12:00:00"}',
  '{"customer_id": "C4", "basket": [{"product_id": "P04", "price": 250}], "date_of_purchase": "yesterday"}',
  '',
  '{"customer_id": "C5", "basket": [{"product_id": "P05", "price": 300}, {"product_id": "P05", "price": 301}], "date_of_purchase": "2019-10-15 13:00:00"}',
].join('\n');

/**
 * A small corpus in the landing layout: the original generator's customers and products (a customer
 * row with a non-integer score added), its first `days` transaction files, and one file of bad lines.
 * Returns the keys, in upload order.
 */
export function writeCorpus(dir: string, days = 3): string[] {
  const keys: string[] = [];
  const put = (key: string, body: string | Buffer) => {
    const file = path.join(dir, ...key.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    keys.push(key);
  };
  const customers = fs.readFileSync(path.join(ORIGINAL_FIXTURE, 'customers.csv'), 'utf8');
  put('customers.csv', `${customers.replace(/\n?$/, '\n')}C9001,not-a-score\n`);
  put('products.csv', fs.readFileSync(path.join(ORIGINAL_FIXTURE, 'products.csv')));
  const dayDirs = fs.readdirSync(path.join(ORIGINAL_FIXTURE, 'transactions')).sort().slice(0, days);
  for (const d of dayDirs) {
    for (const f of fs.readdirSync(path.join(ORIGINAL_FIXTURE, 'transactions', d)).sort()) {
      put(`transactions/${d}/${f}`, fs.readFileSync(path.join(ORIGINAL_FIXTURE, 'transactions', d, f)));
    }
  }
  put('transactions/d=2019-10-15/bad-lines.json', `${BAD_TRANSACTIONS}\n`);
  return keys;
}

/** One SQS record per staged file, shaped as S3 sends it through SQS, in key order. */
function recordsFor(files: StagedFile[], firstSequence: number): SqsRecordLike[] {
  return files.map((f, i) => ({
    messageId: `live-${firstSequence + i}`,
    body: s3NotificationBody([
      s3Record({
        key: f.key,
        bucket: LANDING_LABEL,
        eTag: f.etag,
        size: f.size,
        sequencer: (0x1000 + firstSequence + i).toString(16).toUpperCase().padStart(18, '0'),
        eventTime: f.lastModified.toISOString(),
      }),
    ]),
    attributes: { ApproximateReceiveCount: '1' },
  }));
}

export interface StepReport {
  step: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
}

export interface TableComparison {
  table: string;
  /** Columns compared (the volatile ones left out, see VOLATILE). */
  columns: string[];
  duckdbRows: number;
  snowflakeRows: number;
  /** Rows of one side missing from the other (a few, for the message). */
  onlyDuckdb: string[];
  onlySnowflake: string[];
  equal: boolean;
}

export interface LiveReport {
  database: string;
  steps: StepReport[];
  comparisons: TableComparison[];
  dropped: boolean;
  ok: boolean;
}

export interface LiveScenarioOptions {
  /** The Snowflake warehouse, its session on the scratch database (config.warehouse.database). */
  snowflake: Warehouse;
  /** The configuration of that warehouse (engine snowflake, database = the scratch name, stages). */
  config: Config;
  /** Puts the corpus on the internal landing stage: PUT on Snowflake (./stages.ts). */
  stage: StageLoader;
  /** The DuckDB warehouse of the comparison run (a fresh file). */
  duckdb: Warehouse;
  /** A loopback S3 API with buckets `landing` (the DuckDB run reads it) and `exports` (transfers). */
  s3: S3Client;
  /** Scratch directory (the corpus). */
  workDir: string;
  /**
   * The role the pipeline's grants name (load, transform, read, partner): default the session's own
   * role, which owns every object of the scratch database, so nothing is granted to anyone else.
   */
  grantRole?: string;
  log?: Logger;
  /** Progress lines for the operator. */
  say?: (line: string) => void;
}

/** Columns that differ between two runs of the same corpus by design: ids, times, engine identities. */
const VOLATILE =
  /^(_?load_id|loaded_at|recorded_at|updated_at|first_seen_at|created_at|.*_at|run_id|etag|version|version_id|sequencer|last_modified|event_time|_file_last_modified|file_last_modified|duration_ms|elapsed_ms|bucket|_bucket)$/i;

/** Tables compared on some columns only, or not at all, and why. */
const NOT_COMPARED: Record<string, string> = {
  'analytics.rebuild_runs': 'bookkeeping of the run itself (ids, times, the report text)',
  'analytics.run_claims': 'bookkeeping of the runs (leases)',
  'analytics.run_claims_lock': 'bookkeeping of the runs (a lock row)',
  'analytics.transfer_runs': 'bookkeeping of the transfers',
  'raw.cut_loads': 'load ids of the rebuild cut, different in every run',
};

/** Every raw and analytics table or view of the DuckDB run, as schema.table. */
async function tablesOf(duckdb: Warehouse): Promise<string[]> {
  const rows = await duckdb.query<{ s: string; t: string }>(
    `select lower(table_schema) as s, lower(table_name) as t from information_schema.tables
      where lower(table_schema) in ('raw', 'analytics') order by 1, 2`,
  );
  return rows.map((r) => `${r.s}.${r.t}`);
}

async function columnsOf(duckdb: Warehouse, table: string): Promise<string[]> {
  const [schema, name] = table.split('.') as [string, string];
  const rows = await duckdb.query<{ c: string }>(
    `select column_name as c from information_schema.columns where lower(table_schema) = ? and lower(table_name) = ? order by ordinal_position`,
    [schema, name],
  );
  return rows.map((r) => r.c);
}

/** A value as both engines must agree on it: numbers to 6 decimals, text as it is, timestamps without 'T'. */
function canonical(v: Scalar | undefined): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(6).replace(/\.?0+$/, '');
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (/^-?\d+(\.\d+)?$/.test(v)) return canonical(Number(v));
  return v.replace(/^(\d{4}-\d{2}-\d{2})T/, '$1 ');
}

function rowKey(row: Row, columns: string[]): string {
  return JSON.stringify(columns.map((c) => canonical(row[c] ?? row[c.toLowerCase()])));
}

/** The multiset difference a - b, as a few keys. */
function missing(a: string[], b: string[]): string[] {
  const counts = new Map<string, number>();
  for (const k of b) counts.set(k, (counts.get(k) ?? 0) + 1);
  const out: string[] = [];
  for (const k of a) {
    const n = counts.get(k) ?? 0;
    if (n > 0) counts.set(k, n - 1);
    else out.push(k);
  }
  return out;
}

/** Compare one table's rows between the engines, on its non-volatile columns. */
export async function compareTable(duckdb: Warehouse, snowflake: Warehouse, database: string, table: string): Promise<TableComparison> {
  const columns = (await columnsOf(duckdb, table)).filter((c) => !VOLATILE.test(c));
  const list = columns.map((c) => (/^[a-z_][a-z0-9_]*$/.test(c) ? c : `"${c.replace(/"/g, '""')}"`)).join(', ');
  const duck = (await duckdb.query(`select ${list} from ${table}`)).map((r) => rowKey(r, columns));
  const snow = (await snowflake.query(`select ${list} from ${database}.${table}`)).map((r) => rowKey(r, columns));
  const onlyDuckdb = missing(duck, snow);
  const onlySnowflake = missing(snow, duck);
  return {
    table,
    columns,
    duckdbRows: duck.length,
    snowflakeRows: snow.length,
    onlyDuckdb: onlyDuckdb.slice(0, 5),
    onlySnowflake: onlySnowflake.slice(0, 5),
    equal: onlyDuckdb.length === 0 && onlySnowflake.length === 0,
  };
}

/** The rows of a transfer's output (JSON Lines parts listed in its manifest), as canonical keys. */
async function transferRows(s3: S3Client, manifestKey: string): Promise<string[]> {
  const body = async (key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: EXPORTS_BUCKET, Key: key }))).Body!.transformToByteArray());
  const manifest = JSON.parse((await body(manifestKey)).toString('utf8')) as Manifest;
  const rows: string[] = [];
  for (const p of manifest.parts) {
    const text = zlib.gunzipSync(await body(p.key)).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const o = JSON.parse(line) as Record<string, Scalar>;
      rows.push(JSON.stringify(Object.keys(o).sort().map((k) => [k, canonical(o[k])])));
    }
  }
  return rows;
}

/**
 * Migrate the scratch database as every environment is migrated, with one difference: the two stages are
 * internal (no URL, no storage integration), so 30_stages.sql is replaced by ./stages.ts's statements,
 * in its place in the order. The admin scripts (roles, users, warehouse, integration) do not run: the
 * grants name `grantRole`.
 */
export async function migrateScratch(wh: Warehouse, cfg: Config, grantRole: string, log: Logger): Promise<number> {
  const w = cfg.warehouse;
  if (w.engine !== 'snowflake') throw new Error('the live scenario needs the Snowflake warehouse');
  const db = w.database.toUpperCase();
  const params: Record<string, string> = {
    DATABASE: db,
    WAREHOUSE: w.computeWarehouse ?? `${db}_WH`,
    DEPLOY_ROLE: grantRole,
    LOAD_ROLE: grantRole,
    TRANSFORM_ROLE: grantRole,
    READ_ROLE: grantRole,
    PARTNER_ROLE: grantRole,
    LANDING_STAGE: w.landingStage,
    EXPORT_STAGE: w.exportStage,
  };
  const files = snowflakeScripts().filter((s) => !s.admin).map((s) => s.file);
  const before = files.filter((f) => f < '30_stages.sql');
  const after = files.filter((f) => f > '30_stages.sql');
  let statements = (await migrate(wh, { only: before, params, log })).statements.length;
  for (const sql of internalStageStatements(db, w.landingStage, w.exportStage)) {
    await wh.execute(sql);
    statements++;
  }
  statements += (await migrate(wh, { only: after, params, log })).statements.length;
  return statements;
}

/** Run the scenario; the scratch database is dropped at the end whatever happened. */
export async function runLiveScenario(opts: LiveScenarioOptions): Promise<LiveReport> {
  const cfg = opts.config;
  const w = cfg.warehouse;
  if (w.engine !== 'snowflake') throw new Error('the live scenario needs the Snowflake warehouse');
  const database = w.database.toUpperCase();
  const log = opts.log ?? rootLogger.child({ component: 'live' });
  const say = opts.say ?? (() => undefined);
  const report: LiveReport = { database, steps: [], comparisons: [], dropped: false, ok: false };
  const step = async (name: string, fn: () => Promise<string | { skip: string }>): Promise<boolean> => {
    try {
      const r = await fn();
      const entry: StepReport = typeof r === 'string' ? { step: name, status: 'pass', detail: r } : { step: name, status: 'skip', detail: r.skip };
      report.steps.push(entry);
      say(`${entry.status.toUpperCase().padEnd(4)} ${name}: ${entry.detail}`);
      return true;
    } catch (err) {
      report.steps.push({ step: name, status: 'fail', detail: errorMessage(err) });
      say(`FAIL ${name}: ${errorMessage(err)}`);
      return false;
    }
  };
  const sf = opts.snowflake;
  const corpusDir = path.join(opts.workDir, 'corpus');
  const keys = writeCorpus(corpusDir);
  const names = { database, stage: w.landingStage };
  let staged: StagedFile[] = [];
  const ingestDeps = (wh: Warehouse, landing: () => StageLanding | ObjectStoreLanding) => ({
    wh,
    landing,
    registry: defaultRegistry,
    routes: defaultRegistry.routes(),
    buckets: [LANDING_LABEL],
    log,
  });
  let created = false;
  try {
    const ready =
      (await step('create database', async () => {
        await sf.execute(`create database ${database} comment = 'shopping-patterns live test (npm run test:live); dropped at the end'`);
        created = true;
        return database;
      })) &&
      (await step('migrate', async () => {
        const role = opts.grantRole ?? String((await sf.query<{ r: string }>('select current_role() as r'))[0]?.r ?? '');
        if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(role)) throw new Error(`no session role to name in the grants (current_role() = ${JSON.stringify(role)})`);
        const n = await migrateScratch(sf, cfg, role, log);
        return `${n} statements, grants to ${role}, internal stages ${w.landingStage} and ${w.exportStage}`;
      })) &&
      (await step('stage the corpus', async () => {
        staged = await opts.stage.put(sf, names, corpusDir, keys);
        const absent = keys.filter((k) => !staged.some((s) => s.key === k));
        if (absent.length > 0) throw new Error(`not on the stage after PUT: ${absent.join(', ')}`);
        return `${staged.length} files on @${database}.${names.stage}`;
      })) &&
      (await step('ingest (Snowflake, COPY from the stage)', async () => {
        const heads = new Map(staged.map((s) => [s.key, s]));
        const result = await processBatch(recordsFor(staged, 0), {
          ...ingestDeps(sf, () => new StageLanding(sf, { names, head: async (_b, key) => heads.get(key) ?? null })),
        });
        if (result.batchItemFailures.length > 0) throw new Error(`${result.batchItemFailures.length} records failed: ${JSON.stringify(result.summary)}`);
        return `${result.summary.loaded} files loaded, ${result.summary.rowsLoaded} rows, ${result.summary.rowsQuarantined} quarantined`;
      })) &&
      (await step('ingest (DuckDB, the same corpus)', async () => {
        const files: StagedFile[] = [];
        for (const k of keys) {
          const bytes = fs.readFileSync(path.join(corpusDir, ...k.split('/')));
          const put = await opts.s3.send(new PutObjectCommand({ Bucket: LANDING_LABEL, Key: k, Body: bytes }));
          files.push({ key: k, etag: String(put.ETag ?? '').replace(/"/g, ''), size: bytes.length, lastModified: new Date() });
        }
        const result = await processBatch(recordsFor(files, 0), ingestDeps(opts.duckdb, () => new ObjectStoreLanding()));
        if (result.batchItemFailures.length > 0) throw new Error(`${result.batchItemFailures.length} records failed: ${JSON.stringify(result.summary)}`);
        return `${result.summary.loaded} files loaded, ${result.summary.rowsLoaded} rows, ${result.summary.rowsQuarantined} quarantined`;
      })) &&
      (await step('rebuild (both engines)', async () => {
        const context = { categories: CATEGORIES, freshness: { maxAgeHours: 24 * 365 * 100, severity: 'warn' as const } };
        const clock = () => new Date(`${SNAPSHOT_DATE}T06:00:00Z`);
        const out: string[] = [];
        for (const [label, wh] of [
          ['duckdb', opts.duckdb],
          ['snowflake', sf],
        ] as const) {
          const r = await rebuild({ warehouse: wh, publish: false, snapshotDate: SNAPSHOT_DATE, runId: `live-${label}`, context, clock, logger: log });
          if (r.status !== 'built') throw new Error(`${label}: rebuild ${r.status}: ${r.report}`);
          out.push(`${label} ${r.models.length} models, tests ${r.tests.passed} passed ${r.tests.warned} warned ${r.tests.failed} failed`);
        }
        return out.join('; ');
      }));

    if (ready) {
      await step('compare every raw and analytics table', async () => {
        const tables = (await tablesOf(opts.duckdb)).filter((t) => !(t in NOT_COMPARED));
        for (const t of tables) report.comparisons.push(await compareTable(opts.duckdb, sf, database, t));
        const bad = report.comparisons.filter((c) => !c.equal);
        if (bad.length > 0) {
          throw new Error(
            `${bad.length} of ${tables.length} tables differ:\n` +
              bad.map((c) => `  ${c.table}: duckdb ${c.duckdbRows} rows, snowflake ${c.snowflakeRows}; only duckdb ${c.onlyDuckdb.join(' ')}; only snowflake ${c.onlySnowflake.join(' ')}`).join('\n'),
          );
        }
        return `${tables.length} tables equal (${Object.keys(NOT_COMPARED).join(', ')} not compared: run bookkeeping)`;
      });
      let duckRows: string[] = [];
      await step('transfer, stream mode (both engines)', async () => {
        const out: string[] = [];
        const rowsOf: string[][] = [];
        for (const [label, wh] of [
          ['snowflake', sf],
          ['duckdb', opts.duckdb],
        ] as const) {
          const config = { ...cfg, warehouse: label === 'duckdb' ? { engine: 'duckdb' as const, path: ':memory:' } : cfg.warehouse } as Config;
          const r = await transferData(
            { source_table: TRANSFER_TABLE, destination_s3_bucket: EXPORTS_BUCKET, run_id: `live-stream-${label}`, mode: 'stream' },
            { warehouse: wh, s3: opts.s3, config },
          );
          rowsOf.push(await transferRows(opts.s3, r.file_name));
          out.push(`${label} ${r.row_count} rows`);
        }
        duckRows = rowsOf[1]!;
        const onlySnowflake = missing(rowsOf[0]!, duckRows);
        const onlyDuckdb = missing(duckRows, rowsOf[0]!);
        if (onlySnowflake.length || onlyDuckdb.length) {
          throw new Error(`the outputs differ: only snowflake ${onlySnowflake.slice(0, 3).join(' ')}; only duckdb ${onlyDuckdb.slice(0, 3).join(' ')}`);
        }
        return `${out.join(', ')}: the same rows`;
      });
      await step('transfer, unload mode (Snowflake)', async () => {
        const desc = await sf.query(`desc stage ${database}.${w.exportStage}`);
        const url = desc.find((r) => String(r.property ?? '').toUpperCase() === 'URL');
        const external = url && /s3:\/\//.test(String(url.property_value ?? ''));
        if (!external) {
          return {
            skip:
              `the export stage ${w.exportStage} is internal (no bucket before the first deploy), and mode "unload" ` +
              'writes through an external stage on the destination bucket (shared/transfer/unload.ts reads its URL with DESC STAGE); ' +
              'after the deploy, `npm run smoke -- --stage dev` runs an unload transfer there (its step "transfer (unload)")',
          };
        }
        const r = await transferData(
          { source_table: TRANSFER_TABLE, destination_s3_bucket: EXPORTS_BUCKET, run_id: 'live-unload', mode: 'unload' },
          { warehouse: sf, s3: opts.s3, config: cfg },
        );
        const rows = await transferRows(opts.s3, r.file_name);
        if (missing(rows, duckRows).length || missing(duckRows, rows).length) throw new Error('the unload differs from the DuckDB stream output');
        return `${r.row_count} rows, the same as DuckDB's`;
      });
    }
  } finally {
    if (created) {
      await step('drop database', async () => {
        await sf.execute(`drop database if exists ${database}`);
        report.dropped = true;
        return database;
      });
    }
  }
  report.ok = report.steps.every((s) => s.status !== 'fail') && report.dropped;
  return report;
}
