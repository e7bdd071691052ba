/**
 * Ingest on Snowflake, end to end through the real handler (functions/ingest.ts), the real loader and
 * adapter, and the real snowflake-sdk, against the fake Snowflake REST API. The fake answers the row
 * rules with parse.ts (see test/support/fake-snowflake/ingest.ts); the expectations below are computed
 * in the test from the fixture files, independently of the loader.
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { resetConfig } from '../../shared/config';
import { decodeObject, parseFile } from '../../shared/ingest/parse';
import { SnowflakeLoader } from '../../shared/ingest/snowflake-loader';
import { setLogSink } from '../../shared/logger';
import { setS3Client } from '../../shared/storage/object-store';
import { setWarehouse } from '../../shared/warehouse';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { TransientError, UnreadableFileError } from '../../shared/errors';
import { ingest } from '../../functions/ingest';
import { FakeSnowflake, type StatementRecord } from '../support/fake-snowflake';
import { scriptIngest, type IngestScript } from '../support/fake-snowflake/ingest';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { resetEventFactories, s3Record, sqsEvent, sqsRecordFor } from '../support/events';
import { fileUnit } from '../support/factories';
import { fakeSnowflakeConfig } from '../support/fake-snowflake/config';

const key = generateKeyPair();
const credentials = async () => ({
  privateKey: key.privateKey,
  privateKeyPassphrase: undefined,
  account: undefined,
  user: undefined,
  role: undefined,
  warehouse: undefined,
});

const TX_A = 'transactions/d=2024-05-01/a.json';
const TX_B = 'transactions/d=2024-05-02/b.json';
const CUSTOMERS = 'starter/customers.csv';

const good = (c: string, p: string, price: number, at = '2024-05-01 10:00:00') =>
  JSON.stringify({ customer_id: c, basket: [{ product_id: p, price }], date_of_purchase: at });

const FILES: Record<string, string> = {
  [TX_A]: [good('C1', 'P1', 5), good('C2', 'P2', 7.5), '', '{"customer_id": "C3", "basket": "x", "date_of_purchase": "2024-05-01 10:00:00"}'].join('\n') + '\n',
  [TX_B]: [good('C4', 'P1', 1), 'not json', good('C5', 'P3', 2)].join('\n') + '\n',
  [CUSTOMERS]: 'customer_id,loyalty_score\nC1,7\nC2,x\nC3,3\n',
};

/** What parse.ts says each file should load: the independent expectation. */
function expected(key: string) {
  const dataset = key.includes('transactions/') ? 'transactions' : 'customers';
  const f = parseFile(dataset, decodeObject(Buffer.from(FILES[key] as string), key), key);
  const rows = f.dataset === 'transactions' ? f.transactions.length : f.rows.length;
  return { rows, quarantined: f.quarantined.length, firstReason: f.quarantined[0]?.reason ?? null };
}

const ETAG = (k: string) => `etag-${k.replace(/\W/g, '')}`;
const UPLOADED = new Date(Date.UTC(2024, 4, 3, 12, 0, 0));

const ENV = {
  STAGE: 'dev',
  WAREHOUSE_ENGINE: 'snowflake',
  LANDING_BUCKET: 'landing',
  EXPORTS_BUCKET: 'exports',
  SNOWFLAKE_ACCOUNT: 'testaccount',
  SNOWFLAKE_USER: 'loader',
  SNOWFLAKE_ACCESS_URL: 'http://127.0.0.1:9', // the warehouse below talks to the fake
  INGEST_MODE: 'copy',
};

function snowflakeConfig(fake: FakeSnowflake, mode: 'copy' | 'pipe' = 'copy'): SnowflakeConfig {
  return fakeSnowflakeConfig(fake, { user: 'loader', role: 'SP_LOADER', ingestMode: mode });
}

function event(keys: string[], opts: { eventTime?: string } = {}): SQSEvent {
  return sqsEvent(keys.map((k) => sqsRecordFor([s3Record({ key: k, eTag: ETAG(k), eventTime: opts.eventTime ?? UPLOADED.toISOString() })], { messageId: `msg-${k}` })));
}

/** The ledger rows written (14 values a row), as (key, status, rows_loaded, rows_quarantined, first_error), with their transaction's fate. */
function ledgerWrites(fake: FakeSnowflake) {
  return fake.statements
    .filter((s) => /^\s*insert into raw\.file_ledger/i.test(s.sql))
    .flatMap((s: StatementRecord) =>
      Array.from({ length: s.binds.length / 14 }, (_, i) => s.binds.slice(i * 14, i * 14 + 14)).map((row) => ({
        key: row[1],
        status: row[7],
        rowsLoaded: row[8],
        rowsQuarantined: row[9],
        firstError: row[10],
        txn: s.txn === null ? 'none' : fake.transactions.get(s.txn),
      })),
    );
}

const copies = (fake: FakeSnowflake) => fake.sql().filter((s) => /^copy into/i.test(s));

describe('Snowflake ingest through the handler', () => {
  const s3 = mockClient(S3Client);
  const saved = { ...process.env };
  let fake: FakeSnowflake;
  let wh: SnowflakeWarehouse;
  let landing: IngestScript;

  beforeAll(() => setLogSink(() => undefined));
  afterAll(() => {
    setLogSink((line) => process.stderr.write(line + '\n'));
    s3.restore();
  });

  beforeEach(async () => {
    resetEventFactories();
    Object.assign(process.env, ENV);
    resetConfig();
    fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'LOADER', publicKeys: [key.publicKey] });
    wh = new SnowflakeWarehouse(snowflakeConfig(fake), { credentials, statementTimeoutMs: 20_000 });
    setWarehouse(wh);
    s3.reset();
    setS3Client(new S3Client({ region: 'eu-west-2' }));
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => ({ ETag: `"${ETAG(input.Key)}"`, LastModified: UPLOADED, ContentLength: 10 }));
    landing = scriptIngest(fake, FILES);
  });

  afterEach(async () => {
    setWarehouse(undefined);
    setS3Client(undefined);
    await wh.close();
    await fake.idle();
    await fake.close();
    for (const k of Object.keys(ENV)) delete process.env[k];
    Object.assign(process.env, saved);
    resetConfig();
  });

  it('loads a batch with one COPY per dataset, quarantines bad lines, and writes the ledger in the same transaction', async () => {
    // Act
    const result = await ingest(event([TX_A, TX_B, CUSTOMERS]));

    // Assess: nothing fails
    expect(result.batchItemFailures).toEqual([]);

    // one COPY per dataset, the files listed and quoted, never FORCE
    const copyStatements = copies(fake);
    expect(copyStatements).toHaveLength(2);
    const tx = copyStatements.find((s) => s.includes('landing_transactions'))!;
    expect(tx).toContain(`files = ('${TX_A}', '${TX_B}')`);
    expect(tx).toMatch(/on_error = continue/);
    expect(copyStatements.join('\n')).not.toMatch(/\bforce\b|load_uncertain_files/i);
    expect(copyStatements.find((s) => s.includes('landing_customers'))).toContain(`files = ('${CUSTOMERS}')`);

    // the ledger says loaded, with the counts parse.ts computes, each in a committed transaction
    expect(ledgerWrites(fake)).toEqual(
      [TX_A, TX_B, CUSTOMERS].map((k) => ({
        key: k,
        status: 'loaded',
        rowsLoaded: expected(k).rows,
        rowsQuarantined: expected(k).quarantined,
        firstError: expected(k).firstReason,
        txn: 'committed',
      })),
    );

    // one transaction for the batch's transactions files: lock, decide again, replace, insert, quarantine, consume, ledger
    const ledgerInsert = fake.statements.find((s) => /^\s*insert into raw\.file_ledger/i.test(s.sql) && s.binds.includes(TX_A))!;
    const inTxn = fake.statements.filter((s) => s.txn === ledgerInsert.txn).map((s) => s.sql.replace(/\s+/g, ' ').trim().slice(0, 60));
    expect(inTxn[0]).toBe('BEGIN');
    expect(inTxn[1]).toMatch(/^update raw\.ingest_lock/);
    const at = (re: RegExp) => inTxn.findIndex((s) => re.test(s));
    expect(at(/^delete from raw\.transaction_items/)).toBeLessThan(at(/^insert into SHOPPING_PATTERNS\.raw\.transactions /));
    expect(at(/^insert into SHOPPING_PATTERNS\.raw\.transactions /)).toBeLessThan(at(/^insert into raw\.quarantine/));
    expect(at(/^delete from SHOPPING_PATTERNS\.raw\.landing_transactions/)).toBeGreaterThan(at(/^insert into raw\.quarantine/));
    expect(inTxn[inTxn.length - 1]).toBe('COMMIT');
    expect(inTxn.filter((s) => /^insert into SHOPPING_PATTERNS\.raw\.transactions /.test(s))).toHaveLength(1);

    // the quarantine rows are the ones parse.ts rejects, with their line numbers and raw text
    const quarantineInsert = fake.statements.find((s) => /^\s*insert into raw\.quarantine/i.test(s.sql) && s.binds[1] === TX_B)!;
    expect(quarantineInsert.binds.slice(4, 7)).toEqual([2, 'not json', 'invalid JSON']);
  });

  it('fails the records of files Snowflake could not read, records why, and loads the rest', async () => {
    // Prepare
    landing.copyStatus.set(TX_A, { status: 'PARTIALLY_LOADED', firstError: 'Invalid UTF8 detected in string', firstErrorLine: 2 });
    landing.copyStatus.set(TX_B, { status: 'LOAD_FAILED', rowsLoaded: 0, firstError: 'Invalid data encountered during decompression' });

    // Act
    const result = await ingest(event([TX_A, TX_B, CUSTOMERS]));

    // Assess
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([`msg-${TX_A}`, `msg-${TX_B}`]);
    const writes = ledgerWrites(fake);
    expect(writes.map((w) => [w.key, w.status, w.txn]).sort()).toEqual(
      [
        [CUSTOMERS, 'loaded', 'committed'],
        [TX_A, 'failed', 'committed'],
        [TX_B, 'failed', 'committed'],
      ].sort(),
    );
    expect(writes.find((w) => w.key === TX_A)?.firstError).toMatch(/could not read the file as UTF-8 text \(line 2\): Invalid UTF8/);
    expect(writes.find((w) => w.key === TX_B)?.firstError).toMatch(/decompression/);
    // their partial landing lines are removed; nothing of them reaches the raw tables
    expect(fake.sql().filter((s) => /^insert into SHOPPING_PATTERNS\.raw\.transactions/i.test(s))).toHaveLength(0);
    const dropped = fake.statements.filter((s) => /^delete from SHOPPING_PATTERNS\.raw\.landing_transactions/i.test(s.sql));
    expect(dropped.flatMap((s) => s.binds.filter((b) => b === TX_A || b === TX_B))).toEqual([TX_A, TX_B]);
  });

  it('rides out a 503 on the COPY (the driver retries the same request) and loads everything', async () => {
    // Prepare
    fake.fault(/^copy into/i, { httpStatus: 503 }, { times: 1 });

    // Act
    const result = await ingest(event([TX_A, TX_B]));

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    const attempts = fake.attempts.filter((a) => /^copy into/i.test(a.sql)).map((a) => a.outcome);
    expect(attempts).toEqual(['http', 'executed']);
    expect(copies(fake)).toHaveLength(1);
    expect(ledgerWrites(fake).map((w) => w.status)).toEqual(['loaded', 'loaded']);
  });

  it('when the connection drops mid-COPY, fails only that dataset\'s records as transient and writes no ledger row for them', async () => {
    // Prepare: a short statement deadline; the transactions COPY loses its socket
    await wh.close();
    wh = new SnowflakeWarehouse(snowflakeConfig(fake), { credentials, statementTimeoutMs: 1500 });
    setWarehouse(wh);
    // every attempt is dropped until the deadline: the driver's own retry sleeps are random (0.5-3 s), so a single
    // drop would race the deadline
    fake.fault(/^copy into \S+\.raw\.landing_transactions/i, { drop: true });

    // Act
    const result = await ingest(event([TX_A, TX_B, CUSTOMERS]));
    fake.resetScripts(); // the driver's late retries on the abandoned session may now be answered

    // Assess
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([`msg-${TX_A}`, `msg-${TX_B}`]);
    expect(ledgerWrites(fake).map((w) => [w.key, w.status, w.txn])).toEqual([[CUSTOMERS, 'loaded', 'committed']]);
    expect(fake.attempts.some((a) => a.outcome === 'dropped')).toBe(true);
  });

  it('on redelivery, finishes a file COPY already landed (load metadata) from its landing lines', async () => {
    // Prepare: an earlier attempt landed TX_A, then died before its transaction
    landing.alreadyLanded.add(TX_A);

    // Act
    const result = await ingest(event([TX_A]));

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(fake.sql().some((s) => /information_schema\.copy_history/i.test(s))).toBe(true);
    expect(ledgerWrites(fake)).toEqual([
      { key: TX_A, status: 'loaded', rowsLoaded: expected(TX_A).rows, rowsQuarantined: expected(TX_A).quarantined, firstError: expected(TX_A).firstReason, txn: 'committed' },
    ]);
  });

  it('refuses to load a file whose landed lines cannot be found, rather than load it empty', async () => {
    // Prepare: COPY reports the lines landed, but none match the object's Last-Modified
    landing.noLandedLines.add(TX_A);
    landing.copyStatus.set(TX_A, { rowsLoaded: 4 });

    // Act
    const result = await ingest(event([TX_A]));

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: `msg-${TX_A}` }]);
    expect(fake.sql().some((s) => /^delete from raw\.transactions/i.test(s))).toBe(false);
    expect(ledgerWrites(fake)).toEqual([expect.objectContaining({ key: TX_A, status: 'failed', firstError: expect.stringMatching(/landed 4 lines, but 0 are found/) })]);
  });

  it('treats an object overwritten after its event as superseded, without copying it', async () => {
    // Prepare: S3 now holds other bytes under TX_B
    s3.on(HeadObjectCommand, { Key: TX_B }).resolves({ ETag: '"newer-content"', LastModified: UPLOADED });

    // Act
    const result = await ingest(event([TX_A, TX_B]));

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(copies(fake)[0]).toContain(`files = ('${TX_A}')`);
    expect(ledgerWrites(fake).map((w) => [w.key, w.status])).toEqual([
      [TX_B, 'superseded'],
      [TX_A, 'loaded'],
    ]);
  });
});

describe('SnowflakeLoader in pipe mode', () => {
  let fake: FakeSnowflake;
  let wh: SnowflakeWarehouse;
  let landing: IngestScript;
  const now = new Date(Date.UTC(2024, 4, 3, 12, 0, 0));

  beforeAll(() => setLogSink(() => undefined));
  afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));

  beforeEach(async () => {
    fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'LOADER', publicKeys: [key.publicKey] });
    wh = new SnowflakeWarehouse(snowflakeConfig(fake, 'pipe'), { credentials });
    landing = scriptIngest(fake, FILES);
  });

  afterEach(async () => {
    await wh.close();
    await fake.close();
  });

  function loader(waitMs = 2000) {
    return new SnowflakeLoader(wh, {
      cfg: { database: 'SHOPPING_PATTERNS', landingStage: 'RAW.LANDING_STAGE', ingestMode: 'pipe' },
      landingBucket: 'landing',
      head: async (_b, k) => ({ etag: `e-${k}`, lastModified: new Date(now.getTime() - 3600_000) }),
      now: () => now,
      pipeWaitMs: waitMs,
      pipePollMs: 50,
    });
  }

  const unit = (k: string, eventTime: Date) => fileUnit({ key: k, etag: `e-${k}`, version: `e-${k}`, eventTime: eventTime.toISOString() });

  it('asks the pipe for recent files, follows COPY_HISTORY, sends older files through COPY', async () => {
    // Prepare: TX_A is an hour old; TX_B's event is 8 days old, beyond the pipe's 7-day refresh window
    landing.historyAfter.set(TX_A, 1); // the pipe's load shows up on the second look
    const recent = unit(TX_A, new Date(now.getTime() - 3600_000));
    const old = unit(TX_B, new Date(now.getTime() - 8 * 24 * 3600_000));

    // Act
    const outcomes = await loader().load('transactions', [recent, old]);

    // Assess
    expect(outcomes.map((o) => [o.unit.key, o.status, o.rowsLoaded])).toEqual([
      [TX_A, 'loaded', expected(TX_A).rows],
      [TX_B, 'loaded', expected(TX_B).rows],
    ]);
    expect(fake.sql().filter((s) => /^alter pipe/i.test(s))).toEqual([
      `alter pipe SHOPPING_PATTERNS.raw.transactions_pipe refresh prefix = '${TX_A}'`,
    ]);
    expect(copies(fake)).toHaveLength(1);
    expect(copies(fake)[0]).toContain(`files = ('${TX_B}')`);
  });

  it('leaves a file the pipe has not loaded yet to a later delivery (transient), writing nothing', async () => {
    // Prepare
    landing.historyAfter.set(TX_A, Infinity);

    // Act
    const [outcome] = await loader(300).load('transactions', [unit(TX_A, new Date(now.getTime() - 60_000))]);

    // Assess
    expect(outcome?.status).toBe('failed');
    expect(outcome?.error).toBeInstanceOf(TransientError);
    expect(fake.sql().some((s) => /^insert into raw\.file_ledger/i.test(s))).toBe(false);
  });

  it('fails a file the pipe could only partly load as unreadable', async () => {
    // Prepare
    landing.historyAfter.set(TX_A, 0);
    landing.historyStatus.set(TX_A, 'Partially loaded');

    // Act
    const [outcome] = await loader().load('transactions', [unit(TX_A, new Date(now.getTime() - 60_000))]);

    // Assess
    expect(outcome?.error).toBeInstanceOf(UnreadableFileError);
    expect(fake.sql().filter((s) => /^alter pipe/i.test(s))).toEqual([]);
  });
});
