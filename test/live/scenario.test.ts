/**
 * The live scenario (./scenario.ts, `npm run test:live`) in `npm test`: the same module, the real
 * snowflake-sdk and SnowflakeWarehouse, against the loopback fake of Snowflake's REST API instead of an
 * account, so its statements and logic are checked on every run.
 *
 * What answers what:
 * - create/drop database, migrate, PUT, LIST, COPY, the ingest's INSERT ALL and every raw.* query: the
 *   fake's engine (test/support/fake-snowflake/engine.ts), which executes them (PUT through the driver's
 *   own upload code, to an internal stage that is a directory);
 * - the rebuild's DDL: the fake's default answers (it runs no model SQL);
 * - SELECTs on analytics.* (but the run bookkeeping: claims, rebuild and transfer runs) and
 *   INFORMATION_SCHEMA.COLUMNS: the DuckDB run's warehouse (which rebuilds first), as
 *   Snowflake would return them (names upper case, types as Snowflake's). So the analytics comparison
 *   here checks the scenario's queries and its comparison through the driver's value decoding, not
 *   Snowflake's models: that is what `npm run test:live` on an account adds.
 * Every statement is also checked against Snowflake's documented rules (test/support/snowflake-rules).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { setLogSink } from '../../shared/logger';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Warehouse } from '../../shared/warehouse/port';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { stripComments } from '../../shared/warehouse/split-statements';
import { setS3Client } from '../../shared/storage/object-store';
import { FakeSnowflake, col, type ColumnSpec, type QueryContext, type Reply, type StatementEngine } from '../support/fake-snowflake';
import { keyPairCredentials } from '../support/fake-snowflake/config';
import { SnowflakeEngine } from '../support/fake-snowflake/engine';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { scratchDir } from '../support/factories';
import { startLocalS3, type LocalS3Server } from '../support/local-s3';
import { scriptRunClaims } from '../support/run-claims';
import { EXPORTS_BUCKET, LANDING_LABEL, runLiveScenario, scratchDatabaseName } from './scenario';
import { putStageLoader } from './stages';

jest.setTimeout(180_000);

const key = generateKeyPair();

/** The fake's engine, with SELECTs on analytics answered from the DuckDB run (see the header). */
class AnalyticsFromDuckDb implements StatementEngine {
  constructor(
    private readonly inner: SnowflakeEngine,
    private readonly duckdb: Warehouse,
    private readonly database: string,
  ) {}

  async execute(ctx: QueryContext): Promise<Reply | undefined> {
    const sql = stripComments(ctx.sql).trim();
    if (/information_schema\.columns/i.test(sql) && !/\braw\b/i.test(String(ctx.binds[1] ?? ''))) return this.columns(ctx);
    if (/^select\b/i.test(sql) && /\banalytics\b/i.test(sql) && !/\braw\./i.test(sql) && !/run_claims|rebuild_runs|transfer_runs/i.test(sql)) {
      const text = sql.replace(new RegExp(`"?${this.database}"?\\.`, 'gi'), '');
      let rows;
      try {
        rows = await this.duckdb.query(text, ctx.binds);
      } catch (err) {
        return { error: { code: '002003', sqlState: '42S02', message: `SQL compilation error: ${(err as Error).message}` } };
      }
      const names = rows[0] ? Object.keys(rows[0]) : [];
      const columns: ColumnSpec[] = names.map((n) => {
        const v = rows.find((r) => r[n] !== null)?.[n];
        const name = /^[a-z_][a-z0-9_]*$/.test(n) ? n.toUpperCase() : n;
        if (typeof v === 'number') return Number.isInteger(v) ? col.int(name) : { name, type: 'real' };
        if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return col.date(name);
        return col.text(name);
      });
      return { columns, rows: rows.map((r) => names.map((n) => r[n])) };
    }
    return this.inner.execute(ctx);
  }

  transactionEnded(sessionId: number, txn: number, outcome: 'committed' | 'rolled back'): Promise<void> {
    return this.inner.transactionEnded(sessionId, txn, outcome);
  }

  /** INFORMATION_SCHEMA.COLUMNS of the DuckDB run, spelled as Snowflake's catalog spells it. */
  private async columns(ctx: QueryContext): Promise<Reply> {
    const [table, schema] = [String(ctx.binds[0] ?? ''), ctx.binds[1] === null ? null : String(ctx.binds[1])];
    const rows = await this.duckdb.query<{ s: string; t: string; c: string; type: string }>(
      `select upper(table_schema) as s, upper(table_name) as t, upper(column_name) as c, data_type as type
         from information_schema.columns where upper(table_name) = ? and (? is null or upper(table_schema) = ?) order by table_schema, ordinal_position`,
      [table, schema, schema],
    );
    const sf = (type: string): [string, number | null, number | null] =>
      /INT/.test(type) ? ['NUMBER', 38, 0] : /DECIMAL|DOUBLE|FLOAT/.test(type) ? ['FLOAT', null, null] : /^DATE$/.test(type) ? ['DATE', null, null] : /TIMESTAMP/.test(type) ? ['TIMESTAMP_NTZ', null, null] : ['TEXT', null, null];
    return {
      columns: [col.text('TABLE_CATALOG'), col.text('TABLE_SCHEMA'), col.text('TABLE_NAME'), col.text('COLUMN_NAME'), col.text('DATA_TYPE'), col.int('NUMERIC_PRECISION'), col.int('NUMERIC_SCALE')],
      rows: rows.map((r) => [this.database, r.s, r.t, r.c, ...sf(r.type)]),
    };
  }
}

describe('the live scenario against the fake Snowflake', () => {
  let fake: FakeSnowflake;
  let engine: SnowflakeEngine;
  let wh: SnowflakeWarehouse;
  let duckdb: DuckDbWarehouse;
  let s3: LocalS3Server;
  let scratch: ReturnType<typeof scratchDir>;
  const database = scratchDatabaseName();

  beforeAll(() => setLogSink(() => undefined));
  afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));

  beforeEach(async () => {
    scratch = scratchDir('sp-live-');
    s3 = await startLocalS3({ buckets: [LANDING_LABEL, EXPORTS_BUCKET] });
    setS3Client(s3.client()); // the DuckDB run's landing reads the loopback bucket
    fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'LIVE', publicKeys: [key.publicKey] });
    engine = await SnowflakeEngine.attach(fake, { database, bucket: LANDING_LABEL });
    duckdb = new DuckDbWarehouse(path.join(scratch.dir, 'live.duckdb'));
    fake.engine = new AnalyticsFromDuckDb(engine, duckdb, database);
    fake.reply(/^select current_role\(\)/i, { columns: [col.text('R')], rows: [['SP_LIVE']] });
    scriptRunClaims(fake);
  });

  afterEach(async () => {
    setS3Client(undefined);
    await wh?.close();
    await duckdb?.close();
    await fake.idle();
    await fake.close();
    engine.dispose();
    await s3.stop();
    scratch.remove();
  });

  function connect(): { cfg: ReturnType<typeof loadConfig> } {
    const cfg = loadConfig({
      STAGE: 'dev',
      LANDING_BUCKET: LANDING_LABEL,
      EXPORTS_BUCKET,
      WAREHOUSE_ENGINE: 'snowflake',
      SNOWFLAKE_ACCESS_URL: fake.url,
      SNOWFLAKE_ACCOUNT: 'testaccount',
      SNOWFLAKE_USER: 'live',
      SNOWFLAKE_DATABASE: database,
      TRANSFER_ALLOWED_BUCKETS: EXPORTS_BUCKET,
      ACCOUNT_ID: '000000000000',
    });
    wh = new SnowflakeWarehouse(cfg.warehouse as SnowflakeConfig, { credentials: keyPairCredentials(key), statementTimeoutMs: 30_000 });
    return { cfg };
  }

  it('migrates, PUTs the corpus, ingests it through COPY, rebuilds, transfers, compares, and drops the database', async () => {
    // Prepare
    const { cfg } = connect();
    const lines: string[] = [];

    // Act
    const report = await runLiveScenario({ snowflake: wh, config: cfg, stage: putStageLoader, duckdb, s3: s3.client(), workDir: scratch.dir, say: (l) => lines.push(l) });

    // Assess: every step passed but unload, which says why it cannot run on an internal stage
    expect(report.steps.filter((s) => s.status === 'fail')).toEqual([]);
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ['create database', 'pass'],
      ['migrate', 'pass'],
      ['stage the corpus', 'pass'],
      ['ingest (Snowflake, COPY from the stage)', 'pass'],
      ['ingest (DuckDB, the same corpus)', 'pass'],
      ['rebuild (both engines)', 'pass'],
      ['compare every raw and analytics table', 'pass'],
      ['transfer, stream mode (both engines)', 'pass'],
      ['transfer, unload mode (Snowflake)', 'skip'],
      ['drop database', 'pass'],
    ]);
    expect(report.steps.find((s) => s.status === 'skip')?.detail).toMatch(/internal .*external stage on the destination bucket/);
    expect(report).toMatchObject({ ok: true, dropped: true, database });
    // the files went up with PUT (the driver's upload, unchanged names), one per key, onto the internal stage
    const puts = fake.sql().filter((s) => /^put /i.test(s));
    expect(puts).toHaveLength(6);
    expect(puts.every((s) => /^put 'file:\/\/\/.+' '@SHOPPING_PATTERNS_LIVE_[0-9A-F]{8}\.RAW\.LANDING_STAGE(\/[^']*\/)?' auto_compress = false overwrite = true$/.test(s))).toBe(true);
    expect(fake.sql().filter((s) => /^copy into/i.test(s)).every((s) => s.includes(`from @${database}.RAW.LANDING_STAGE`))).toBe(true);
    // the raw comparison ran on rows the fake's engine computed: quarantined lines included
    const quarantine = report.comparisons.find((c) => c.table === 'raw.quarantine');
    expect(quarantine).toMatchObject({ equal: true });
    expect(quarantine!.duckdbRows).toBeGreaterThanOrEqual(6);
    for (const t of ['raw.customers', 'raw.products', 'raw.transactions', 'raw.transaction_items', 'raw.file_ledger', 'analytics.customer_product_purchases']) {
      expect(report.comparisons.find((c) => c.table === t)).toMatchObject({ equal: true });
    }
    expect(report.comparisons.find((c) => c.table === 'raw.transactions')!.snowflakeRows).toBeGreaterThan(0);
    // the last statement drops the scratch database
    expect(fake.sql().at(-1)).toBe(`drop database if exists ${database}`);
    expect(lines.at(-1)).toMatch(/^PASS drop database/);
  });

  it('drops the scratch database when a step fails, and reports the failure', async () => {
    // Prepare: COPY fails on the service
    const { cfg } = connect();
    fake.reply(/^copy into/i, { error: { code: '002003', sqlState: '02000', message: 'SQL compilation error: Stage does not exist or not authorized.' } });

    // Act
    const report = await runLiveScenario({ snowflake: wh, config: cfg, stage: putStageLoader, duckdb, s3: s3.client(), workDir: scratch.dir });

    // Assess
    expect(report.ok).toBe(false);
    expect(report.steps.find((s) => s.status === 'fail')).toMatchObject({ step: 'ingest (Snowflake, COPY from the stage)' });
    expect(report.dropped).toBe(true);
    expect(fake.sql().at(-1)).toBe(`drop database if exists ${database}`);
  });

  it('refuses PUT onto an external stage, as Snowflake does', async () => {
    // Prepare
    connect();
    await wh.execute(`create stage if not exists ${database}.RAW.EXT_STAGE url = 's3://landing/' comment = 'x'`);
    const file = path.join(scratch.dir, 'a.json');
    fs.writeFileSync(file, '{}\n');

    // Act
    const put = wh.query(`put 'file://${file}' '@${database}.RAW.EXT_STAGE' auto_compress = false`);

    // Assess
    await expect(put).rejects.toThrow(/PUT does not support uploading files onto an external stage/);
  });
});
