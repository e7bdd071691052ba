/**
 * The weekly rebuild end to end on the local engines (DuckDB file, s3rver on loopback): models,
 * data tests, publish only when no error test failed, the run record, the export's contents
 * compared with an independent computation, pseudonymisation, and the Lambda handler.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { handler } from '../../functions/rebuild';
import { resetConfig } from '../../shared/config';
import { ConfigError } from '../../shared/errors';
import { setLogSink } from '../../shared/logger';
import { rebuild, RUNS_TABLE } from '../../shared/rebuild';
import { s3, setS3Client } from '../../shared/storage/object-store';
import { createWarehouse, setWarehouse } from '../../shared/warehouse';
import type { Warehouse } from '../../shared/warehouse/port';
import { startLocalS3, type LocalS3 } from '../../local/stack/s3';
import { expectedMonthly, expectedPurchases, sortRows } from '../support/models-oracle';
import { clearRaw, insertRaw, readInputFolder, type RawFixture } from '../support/raw-fixtures';
import { loadEvent } from '../support/events';
import { ORIGINAL_FIXTURE } from '../support/fixtures';

const FIXTURE_DIR = ORIGINAL_FIXTURE;
const BUCKET = 'exports';
const SALT = 'a-test-export-salt-0123456789';

let dir: string;
let server: LocalS3;
let wh: Warehouse;
const savedEnv = { ...process.env };

beforeAll(async () => {
  setLogSink(() => undefined);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rebuild-'));
  server = await startLocalS3({ port: 0, dir: path.join(dir, 's3'), buckets: [BUCKET] });
  Object.assign(process.env, { S3_ENDPOINT: server.endpoint, EXPORTS_BUCKET: BUCKET, DUCKDB_PATH: path.join(dir, 'w.duckdb') });
  delete process.env.EXPORT_SALT;
  delete process.env.EXPORT_PSEUDONYMISE;
  resetConfig();
  setS3Client(undefined);
  wh = createWarehouse();
  setWarehouse(wh);
});

afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + '\n'));
  await wh.close();
  setWarehouse(undefined);
  setS3Client(undefined);
  await server.close();
  process.env = savedEnv;
  resetConfig();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function load(fixture: RawFixture): Promise<void> {
  await clearRaw(wh);
  await insertRaw(wh, fixture);
}

async function keysUnder(prefix: string): Promise<string[]> {
  const res = await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key as string).sort();
}

async function readObject(key: string): Promise<Buffer> {
  const res = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function readJsonLinesGz(key: string): Promise<Record<string, unknown>[]> {
  const text = zlib.gunzipSync(await readObject(key)).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('rebuild', () => {
  it('publishes the view and the monthly table when only warnings fail, and records the run', async () => {
    // Prepare: the original generator's output plus a purchase by an unknown customer (a warning)
    const fixture = readInputFolder(FIXTURE_DIR);
    fixture.transactions.push({ customer_id: 'C9999', date_of_purchase: '2019-12-31 10:00:00', basket: [{ product_id: 'P01', price: 5 }] });
    await load(fixture);

    // Act
    const result = await rebuild({ snapshotDate: '2020-01-06', runId: 'rb-publish' });

    // Assess: the result and the report
    expect(result).toMatchObject({
      run_id: 'rb-publish',
      status: 'published',
      published: true,
      manifest_key: 'customer_product_purchases/snapshot_date=2020-01-06/_manifest.json',
      tests: { failed: 0, warned: 1 },
    });
    expect(result.report).toContain('WARN  warn   relationships_transactions_customer_id');
    expect(result.report).toContain('Published: s3://exports/customer_product_purchases/snapshot_date=2020-01-06/_manifest.json');

    // the objects, the manifest last in the result
    const prefix = 'customer_product_purchases/snapshot_date=2020-01-06/';
    expect(await keysUnder(prefix)).toEqual(
      [
        `${prefix}_manifest.json`,
        `${prefix}customer_product_purchases/part-00000.jsonl.gz`,
        `${prefix}customer_product_purchases_monthly/part-00000.jsonl.gz`,
      ].sort(),
    );
    expect(result.exported_keys.at(-1)).toBe(result.manifest_key);

    // contents against the independent computation
    const purchases = await readJsonLinesGz(`${prefix}customer_product_purchases/part-00000.jsonl.gz`);
    const monthly = await readJsonLinesGz(`${prefix}customer_product_purchases_monthly/part-00000.jsonl.gz`);
    expect(sortRows(purchases)).toEqual(sortRows(expectedPurchases(fixture)));
    expect(sortRows(monthly)).toEqual(sortRows(expectedMonthly(fixture)));

    // the manifest describes the parts exactly
    const manifest = JSON.parse((await readObject(result.manifest_key as string)).toString('utf8'));
    expect(manifest).toMatchObject({ snapshot_date: '2020-01-06', run_id: 'rb-publish', pseudonymised: null });
    const part = manifest.datasets[0].parts[0];
    const bytes = await readObject(part.key);
    expect(part).toMatchObject({ rows: purchases.length, bytes: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
    expect(manifest.datasets[0].columns.map((c: { name: string }) => c.name)).toEqual([
      'customer_id',
      'loyalty_score',
      'product_id',
      'product_category',
      'purchase_count',
    ]);

    // the run record and the stored test results
    const [run] = await wh.query(`select * from ${RUNS_TABLE} where run_id = 'rb-publish'`);
    expect(run).toMatchObject({
      status: 'published',
      snapshot_date: '2020-01-06',
      models_built: 8,
      tests_failed: 0,
      tests_warned: 1,
      published: true,
      manifest_key: result.manifest_key,
      error: null,
    });
    expect(JSON.parse(run?.exported_keys as string)).toEqual(result.exported_keys);
    const [stored] = await wh.query(`select count(*) as n from analytics.data_test_results where run_id = 'rb-publish'`);
    expect(stored?.n).toBe(result.tests.passed + result.tests.warned + result.tests.failed);
  });

  it('withholds publishing when a test of severity error fails', async () => {
    // Prepare: a negative price
    await load({
      customers: [{ customer_id: 'C1', loyalty_score: 3 }],
      products: [{ product_id: 'P1', product_category: 'food' }],
      transactions: [{ customer_id: 'C1', date_of_purchase: '2024-02-01 10:00:00', basket: [{ product_id: 'P1', price: -3 }] }],
    });

    // Act
    const result = await rebuild({ snapshotDate: '2024-02-05', runId: 'rb-withheld' });

    // Assess
    expect(result).toMatchObject({ status: 'withheld', published: false, manifest_key: null, exported_keys: [] });
    expect(result.tests.failed).toBe(1);
    expect(result.report).toContain('FAIL  error  non_negative_price');
    expect(result.report).toContain('Published: nothing (withheld');
    expect(await keysUnder('customer_product_purchases/snapshot_date=2024-02-05/')).toEqual([]);
    const [run] = await wh.query(`select status, published, tests_failed from ${RUNS_TABLE} where run_id = 'rb-withheld'`);
    expect(run).toEqual({ status: 'withheld', published: false, tests_failed: 1 });
  });

  it('pseudonymises customer_id with the keyed HMAC when asked', async () => {
    // Prepare
    const fixture: RawFixture = {
      customers: [
        { customer_id: 'C1', loyalty_score: 3 },
        { customer_id: 'C2', loyalty_score: 8 },
      ],
      products: [{ product_id: 'P1', product_category: 'food' }],
      transactions: [{ customer_id: 'C1', date_of_purchase: '2024-02-01 10:00:00', basket: [{ product_id: 'P1', price: 3 }] }],
    };
    await load(fixture);
    process.env.EXPORT_SALT = SALT;
    resetConfig();

    // Act
    const result = await rebuild({ snapshotDate: '2024-02-06', pseudonymise: true });

    // Assess: HMAC-SHA256(key, id) computed here independently
    const hmac = (id: string) => crypto.createHmac('sha256', SALT).update(id).digest('hex');
    const rows = await readJsonLinesGz('customer_product_purchases/snapshot_date=2024-02-06/customer_product_purchases/part-00000.jsonl.gz');
    const expected = expectedPurchases(fixture).map((r) => ({ ...r, customer_id: hmac(r.customer_id) }));
    expect(sortRows(rows)).toEqual(sortRows(expected));
    expect(JSON.stringify(rows)).not.toMatch(/"C[12]"/);
    const manifest = JSON.parse((await readObject(result.manifest_key as string)).toString('utf8'));
    expect(manifest.pseudonymised).toEqual({ columns: ['customer_id'], method: 'HMAC-SHA256, hex' });
    delete process.env.EXPORT_SALT;
    resetConfig();
  });

  it('refuses to export clear ids when pseudonymisation is asked for without a key, and records the failure', async () => {
    await load({ customers: [{ customer_id: 'C1', loyalty_score: 3 }] });
    // Act
    const error = await rebuild({ snapshotDate: '2024-02-07', runId: 'rb-nokey', pseudonymise: true }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/EXPORT_SALT/);
    expect(await keysUnder('customer_product_purchases/snapshot_date=2024-02-07/')).toEqual([]);
    const [run] = await wh.query(`select status, error from ${RUNS_TABLE} where run_id = 'rb-nokey'`);
    expect(run?.status).toBe('failed');
    expect(run?.error).toMatch(/EXPORT_SALT/);
  });

  it('a rerun for the same day replaces the snapshot', async () => {
    // Prepare
    await load({ customers: [{ customer_id: 'C1', loyalty_score: 3 }] });
    await rebuild({ snapshotDate: '2024-03-04' });
    await load({ customers: [{ customer_id: 'C1', loyalty_score: 3 }, { customer_id: 'C2', loyalty_score: 4 }] });
    // Act
    const second = await rebuild({ snapshotDate: '2024-03-04', runId: 'rb-second' });
    // Assess
    const rows = await readJsonLinesGz('customer_product_purchases/snapshot_date=2024-03-04/customer_product_purchases/part-00000.jsonl.gz');
    expect(rows.map((r) => r.customer_id).sort()).toEqual(['C1', 'C2']);
    const manifest = JSON.parse((await readObject(second.manifest_key as string)).toString('utf8'));
    expect(manifest.run_id).toBe('rb-second');
  });
});

describe('a failure while exporting', () => {
  it('leaves no manifest (the previous one is withdrawn first) and records the failed run', async () => {
    // Prepare: a published snapshot, then a rerun for the same day whose monthly stream breaks
    await load({ customers: [{ customer_id: 'C1', loyalty_score: 3 }] });
    await rebuild({ snapshotDate: '2024-05-06' });
    const breaking: Warehouse = Object.assign(Object.create(wh) as Warehouse, {
      engine: wh.engine,
      stream: (sql: string) => {
        if (!/customer_product_purchases_monthly/.test(sql)) return wh.stream(sql);
        return (async function* () {
          yield [{ customer_id: 'C1' }];
          throw new Error('connection reset while streaming');
        })();
      },
    });
    // Act
    const error = await rebuild({ warehouse: breaking, snapshotDate: '2024-05-06', runId: 'rb-broken' }).catch((e: unknown) => e);
    // Assess
    expect((error as Error).message).toMatch(/connection reset/);
    const keys = await keysUnder('customer_product_purchases/snapshot_date=2024-05-06/');
    expect(keys.some((k) => k.endsWith('_manifest.json'))).toBe(false);
    const [run] = await wh.query(`select status, published, error from ${RUNS_TABLE} where run_id = 'rb-broken'`);
    expect(run).toEqual({ status: 'failed', published: false, error: 'connection reset while streaming' });
  });
});

describe('functions/rebuild handler', () => {
  it('takes the snapshot date from the scheduled event and returns the summary', async () => {
    // Prepare
    await load({ customers: [{ customer_id: 'C1', loyalty_score: 3 }] });
    const event = loadEvent('schedule/weekly.json');

    // Act
    const result = await handler(event, {} as Context);

    // Assess
    expect(result).toMatchObject({
      snapshot_date: '2020-01-06',
      published: true,
      manifest_key: 'customer_product_purchases/snapshot_date=2020-01-06/_manifest.json',
      tests: { failed: 0 },
    });
    expect(result.models).toHaveLength(8);
    expect(result.report).toMatch(/^Rebuild rb-/);
  });

  it('builds and tests without publishing when asked', async () => {
    await load({ customers: [{ customer_id: 'C1', loyalty_score: 3 }] });
    const result = await handler({ publish: false, snapshot_date: '2024-04-01' }, {} as Context);
    expect(result).toMatchObject({ status: 'built', published: false, manifest_key: null });
    expect(await keysUnder('customer_product_purchases/snapshot_date=2024-04-01/')).toEqual([]);
  });

  it('rejects a malformed event before touching the warehouse', async () => {
    await expect(handler({ snapshot_date: '2024-13-45' }, {} as Context)).rejects.toThrow(/invalid rebuild event: snapshot_date/);
  });
});
