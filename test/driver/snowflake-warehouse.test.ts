/**
 * The real snowflake-sdk, driven by SnowflakeWarehouse, against the loopback fake of Snowflake's
 * REST API: login with a key pair, value shapes, streaming of chunked results, transactions,
 * retries, session loss and key rotation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { TerminalError, TransientError } from '../../shared/errors';
import { setLogSink } from '../../shared/logger';
import { FakeSnowflake, col } from '../support/fake-snowflake';
import { generateKeyPair, type KeyPair } from '../support/fake-snowflake/keys';
import type { SnowflakeCredentials } from '../../shared/secrets';
import { fakeSnowflakeConfig } from '../support/fake-snowflake/config';
import type { Row } from '../../shared/warehouse/port';

function creds(key: KeyPair): SnowflakeCredentials {
  return { privateKey: key.privateKey, privateKeyPassphrase: undefined, account: undefined, user: undefined, role: undefined, warehouse: undefined };
}

function config(fake: FakeSnowflake): SnowflakeConfig {
  return fakeSnowflakeConfig(fake, { user: 'loader', role: 'SP_LOADER' });
}

describe('SnowflakeWarehouse against the fake Snowflake REST API', () => {
  const key = generateKeyPair();
  let fake: FakeSnowflake;
  let wh: SnowflakeWarehouse;

  beforeEach(async () => {
    fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'LOADER', publicKeys: [key.publicKey] });
    wh = new SnowflakeWarehouse(config(fake), { credentials: async () => creds(key), statementTimeoutMs: 20_000 });
  });

  afterEach(async () => {
    await wh.close();
    await fake.idle();
    await fake.close();
  });

  it('logs in with the key pair once, fixes the session formats, and reuses the session', async () => {
    // Act
    await wh.query('select 1 as one');
    await wh.query('select 2 as two');

    // Assess
    expect(fake.logins).toEqual([{ user: 'LOADER', account: 'TESTACCOUNT', ok: true }]);
    const alter = fake.statements.find((s) => /^alter session/i.test(s.sql));
    expect(alter?.params).toBeDefined();
    const session = fake.sessions.get(alter!.sessionId)!;
    expect(session.params).toMatchObject({
      TIMEZONE: 'UTC',
      TIMESTAMP_NTZ_OUTPUT_FORMAT: 'YYYY-MM-DD HH24:MI:SS.FF6',
      DATE_OUTPUT_FORMAT: 'YYYY-MM-DD',
      STATEMENT_TIMEOUT_IN_SECONDS: '20',
    });
    expect(new Set(fake.statements.map((s) => s.sessionId)).size).toBe(1);
  });

  it('returns the same value shapes as the DuckDB adapter for the same logical values', async () => {
    // Prepare: the same values, typed as each engine types them
    fake.reply(/^select \* from shapes/i, {
      columns: [
        col.int('N'),
        col.int('BIG'),
        col.decimal('PRICE', 2),
        col.real('RATIO'),
        col.text('NAME'),
        col.bool('FLAG'),
        col.date('DAY'),
        col.ts('AT'),
        col.ts('AT_MS'),
        col.ts('AT_US'),
        col.int('NOTHING'),
        { name: 'mixedCase', type: 'text' },
      ],
      rows: [[42, '12345678901234567890', 1.5, 0.25, 'C1', true, '2020-01-02', '2018-09-01 11:09:00', '2018-09-01 11:09:00.120', '2018-09-01 11:09:00.123456', null, 'x']],
    });
    const duck = new DuckDbWarehouse(':memory:');
    const expected = await duck.query(
      `select 42::bigint as n, 12345678901234567890::hugeint as big, 1.50::decimal(18,2) as price, 0.25::double as ratio,
              'C1' as name, true as flag, date '2020-01-02' as day, timestamp '2018-09-01 11:09:00' as at,
              timestamp '2018-09-01 11:09:00.120' as at_ms, timestamp '2018-09-01 11:09:00.123456' as at_us,
              null::integer as nothing, 'x' as "mixedCase"`,
    );
    await duck.close();

    // Act
    const rows = await wh.query('select * from shapes');

    // Assess
    expect(rows).toEqual(expected);
  });

  it('sends ? parameters as binds, Dates as naive UTC text', async () => {
    // Act
    await wh.execute('delete from raw.quarantine where key = ? and line_number > ? and ok = ? and at < ? and x is ?', [
      'a/b.json',
      3,
      true,
      new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
      null,
    ]);

    // Assess
    const stmt = fake.statements.find((s) => s.sql.startsWith('delete'));
    expect(stmt?.binds).toEqual(['a/b.json', 3, true, '2024-01-02 03:04:05.006', null]);
  });

  it('streams a chunked result in batches without losing or reordering rows', async () => {
    // Prepare: 12,345 rows served as an inline first part plus 1,000-row chunks
    const total = 12_345;
    const source = Array.from({ length: total }, (_, i) => [i, `row-${i}`]);
    fake.reply(/^select id, label from big/i, { columns: [col.int('ID'), col.text('LABEL')], rows: source, chunkRows: 1000 });
    const small = new SnowflakeWarehouse(config(fake), { credentials: async () => creds(key), streamBatchRows: 2500 });

    // Act
    const batches: number[] = [];
    const seen: { id: unknown; label: unknown }[] = [];
    for await (const batch of small.stream('select id, label from big')) {
      batches.push(batch.length);
      for (const r of batch) seen.push({ id: r.id, label: r.label });
    }
    await small.close();

    // Assess
    expect(seen).toEqual(source.map(([id, label]) => ({ id, label })));
    expect(batches.every((n) => n <= 2500)).toBe(true);
    expect(fake.chunkRequests).toBe(Math.ceil((total - 1000) / 1000));
  });

  it('runs a transaction on one session between BEGIN and COMMIT, and keeps other statements out of it', async () => {
    // Prepare
    let inside!: () => void;
    const gate = new Promise<void>((r) => (inside = r));

    // Act: an outside statement is issued while the transaction is open
    const tx = wh.transaction(async (t) => {
      await t.execute('insert into raw.file_ledger values (1)');
      await gate;
      await t.execute('insert into raw.quarantine values (2)');
    });
    await new Promise((r) => setTimeout(r, 50));
    const outside = wh.query('select 3 from outside_the_transaction');
    inside();
    await Promise.all([tx, outside]);

    // Assess
    const texts = fake.sql().filter((s) => !/^alter session/i.test(s));
    expect(texts).toEqual([
      'BEGIN',
      'insert into raw.file_ledger values (1)',
      'insert into raw.quarantine values (2)',
      'COMMIT',
      'select 3 from outside_the_transaction',
    ]);
    const txn = fake.statements.find((s) => s.sql.startsWith('insert into raw.file_ledger'))!.txn!;
    expect(fake.transactions.get(txn)).toBe('committed');
    expect(fake.statements.find((s) => s.sql.includes('outside'))!.txn).toBeNull();
  });

  it('rolls back when the work inside the transaction fails, and classifies the error', async () => {
    // Prepare
    fake.reply(/^insert into raw\.transactions/i, { error: { code: '100038', sqlState: '22018', message: "Numeric value 'abc' is not recognized" } });

    // Act
    const result = wh.transaction(async (t) => {
      await t.execute('delete from raw.transactions where _file_key = ?', ['k']);
      await t.execute('insert into raw.transactions select 1');
    });

    // Assess
    await expect(result).rejects.toBeInstanceOf(TerminalError);
    await expect(result).rejects.toThrow(/Numeric value 'abc' is not recognized/);
    const txn = fake.statements.find((s) => s.sql.startsWith('delete'))!.txn!;
    expect(fake.transactions.get(txn)).toBe('rolled back');
    expect(fake.sql()).toContain('ROLLBACK');
  });

  it('retries a 503 from the service (the driver does) and succeeds', async () => {
    // Prepare
    fake.fault(/^select 42/i, { httpStatus: 503 }, { times: 1 });
    fake.reply(/^select 42/i, { columns: [col.int('ANSWER')], rows: [[42]] });

    // Act
    const rows = await wh.query('select 42 as answer');

    // Assess
    expect(rows).toEqual([{ answer: 42 }]);
    const attempts = fake.attempts.filter((a) => a.sql.startsWith('select 42'));
    expect(attempts.map((a) => a.outcome)).toEqual(['http', 'executed']);
    expect(attempts[1]!.requestId).toBe(attempts[0]!.requestId);
    expect(attempts[1]!.retryCount).toBe(1);
  });

  it('waits for a long-running statement the service reports as in progress', async () => {
    // Prepare
    fake.fault(/^select slow/i, { inProgress: 2 });
    fake.reply(/^select slow/i, { columns: [col.text('DONE')], rows: [['yes']] });

    // Act / Assess
    await expect(wh.query('select slow')).resolves.toEqual([{ done: 'yes' }]);
  });

  it('fails a statement whose connection drops as transient, past its deadline, and recovers on a new session', async () => {
    // Prepare: the socket is destroyed mid-request; the driver keeps retrying; the deadline ends it
    const impatient = new SnowflakeWarehouse(config(fake), { credentials: async () => creds(key), statementTimeoutMs: 600 });
    await impatient.query('select 1');
    // every attempt is dropped: the driver's retry sleeps are random and could otherwise beat the deadline
    fake.fault(/^copy into/i, { drop: true });

    // Act
    const failed = impatient.execute("copy into raw.landing_transactions from @raw.landing_stage files = ('a.json')");

    // Assess
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    fake.resetScripts();
    await expect(impatient.query('select 2')).resolves.toBeDefined();
    expect(fake.logins.filter((l) => l.ok)).toHaveLength(2);
    await fake.idle();
    await impatient.close();
  });

  it('logs in again when the service has ended the session, and runs the statement once', async () => {
    // Prepare
    await wh.query('select 1');
    fake.killSessions();

    // Act
    await wh.execute('insert into t values (1)');

    // Assess
    expect(fake.logins.filter((l) => l.ok)).toHaveLength(2);
    expect(fake.sql().filter((s) => s === 'insert into t values (1)')).toHaveLength(1);
  });

  it('renews an expired session token without logging in again', async () => {
    // Prepare
    await wh.query('select 1');
    fake.expireSessionToken();

    // Act
    await wh.query('select 2');

    // Assess
    expect(fake.logins).toHaveLength(1);
    expect(fake.sql()).toContain('select 2');
  });

  it('after a key rotation, re-reads the secret once and logs in with the new key', async () => {
    // Prepare: the process still holds the old key; the user now only accepts the new one
    const next = generateKeyPair();
    fake.rotateKeys([next.publicKey]);
    const asked: boolean[] = [];
    const rotating = new SnowflakeWarehouse(config(fake), {
      credentials: async ({ refresh }) => {
        asked.push(refresh);
        return creds(refresh ? next : key);
      },
    });

    // Act
    await rotating.query('select 1');
    await rotating.close();

    // Assess
    expect(asked).toEqual([false, true]);
    expect(fake.logins.map((l) => l.ok)).toEqual([false, true]);
  });

  it('gives up with a terminal error when even the refreshed key is refused', async () => {
    // Prepare
    const stranger = generateKeyPair();
    const refused = new SnowflakeWarehouse(config(fake), { credentials: async () => creds(stranger) });

    // Act / Assess
    await expect(refused.query('select 1')).rejects.toBeInstanceOf(TerminalError);
    expect(fake.logins.map((l) => l.ok)).toEqual([false, false]);
  });

  const catalogColumns = [
    col.text('TABLE_CATALOG'),
    col.text('TABLE_SCHEMA'),
    col.text('TABLE_NAME'),
    col.text('COLUMN_NAME'),
    col.text('DATA_TYPE'),
    col.int('NUMERIC_PRECISION'),
    col.int('NUMERIC_SCALE'),
  ];

  it("describes a table from INFORMATION_SCHEMA with kinds and the catalog's spelling of each name", async () => {
    // Prepare: one column was created quoted in lower case (as pandas and Spark loaders do)
    fake.reply(/information_schema\.columns/i, {
      columns: catalogColumns,
      rows: [
        ['SHOPPING_PATTERNS', 'RAW', 'TRANSACTION_ITEMS', 'CUSTOMER_ID', 'TEXT', null, null],
        ['SHOPPING_PATTERNS', 'RAW', 'TRANSACTION_ITEMS', 'PRICE', 'NUMBER', 18, 2],
        ['SHOPPING_PATTERNS', 'RAW', 'TRANSACTION_ITEMS', 'purchased_at', 'TIMESTAMP_NTZ', null, null],
        ['SHOPPING_PATTERNS', 'RAW', 'TRANSACTION_ITEMS', 'TAGS', 'ARRAY', null, null],
      ],
    });

    // Act
    const columns = await wh.describeTable({ schema: 'raw', table: 'transaction_items' });

    // Assess: names exactly as stored, so a caller quotes them as they are
    expect(columns).toEqual([
      { name: 'CUSTOMER_ID', type: 'TEXT', kind: 'text' },
      { name: 'PRICE', type: 'NUMBER(18,2)', kind: 'number' },
      { name: 'purchased_at', type: 'TIMESTAMP_NTZ', kind: 'timestamp' },
      { name: 'TAGS', type: 'ARRAY', kind: 'other' },
    ]);
    const stmt = fake.statements.find((s) => /information_schema/i.test(s.sql))!;
    expect(stmt.sql).toContain('"SHOPPING_PATTERNS".information_schema.columns');
    expect(stmt.binds).toEqual(['TRANSACTION_ITEMS', 'RAW', 'RAW']);
  });

  it('finds an unqualified table in every schema but INFORMATION_SCHEMA, and refuses to describe an ambiguous one', async () => {
    // Prepare
    fake.reply(/information_schema\.columns/i, {
      columns: catalogColumns,
      rows: [
        ['SHOPPING_PATTERNS', 'PUBLIC', 'ORDERS', 'O_ORDERDATE', 'DATE', null, null],
        ['SHOPPING_PATTERNS', 'SALES', 'ORDERS', 'O_ORDERDATE', 'DATE', null, null],
      ],
    });

    // Act
    const found = await wh.findTables({ table: 'orders' });

    // Assess
    expect(found.map((t) => `${t.database}.${t.schema}.${t.table}`)).toEqual([
      'SHOPPING_PATTERNS.PUBLIC.ORDERS',
      'SHOPPING_PATTERNS.SALES.ORDERS',
    ]);
    const stmt = fake.statements.find((s) => /information_schema/i.test(s.sql))!;
    expect(stmt.sql).toMatch(/table_schema <> 'INFORMATION_SCHEMA'/);
    expect(stmt.binds).toEqual(['ORDERS', null, null]);
    await expect(wh.describeTable({ table: 'orders' })).rejects.toThrow(
      /table name orders is ambiguous: it names SHOPPING_PATTERNS\.PUBLIC\.ORDERS, SHOPPING_PATTERNS\.SALES\.ORDERS/,
    );
  });

  it('streams exact numbers as their text with exactNumbers, one JS type per column', async () => {
    // Prepare: NUMBER(38,2) and NUMBER(38,0) beyond double precision, and a small NUMBER(9,0)
    fake.reply(/^select/i, {
      columns: [col.decimal('AMOUNT', 2, 38), col.decimal('N', 0, 38), col.decimal('SMALL', 0, 9), col.real('F')],
      rows: [
        ['99999999999999999.90', '9007199254740993', 7, 1.5],
        ['0.10', '5', 8, 2.5],
      ],
    });

    // Act
    const exact: Row[] = [];
    for await (const b of wh.stream('select 1', undefined, { exactNumbers: true })) exact.push(...b);
    const plain: Row[] = [];
    for await (const b of wh.stream('select 1')) plain.push(...b);

    // Assess
    expect(exact).toEqual([
      { amount: '99999999999999999.90', n: '9007199254740993', small: 7, f: 1.5 },
      { amount: '0.10', n: '5', small: 8, f: 2.5 },
    ]);
    // the default convention: the nearest double, big integers as text, small ones as numbers
    expect(plain).toEqual([
      { amount: 100000000000000000, n: '9007199254740993', small: 7, f: 1.5 },
      { amount: 0.1, n: 5, small: 8, f: 2.5 },
    ]);
  });

  it('closes its session on the service when closed', async () => {
    // Prepare
    await wh.query('select 1');
    const [session] = [...fake.sessions.values()];

    // Act
    await wh.close();

    // Assess
    expect(session?.deleted).toBe(true);
  });

  it('takes its statement deadline from the configuration, and sets the same one on the service', async () => {
    // Prepare
    const configured = new SnowflakeWarehouse({ ...config(fake), statementTimeoutSeconds: 95 }, { credentials: async () => creds(key) });

    // Act
    await configured.query('select 1');
    await configured.close();

    // Assess
    const alter = fake.statements.find((s) => /^alter session/i.test(s.sql))!;
    expect(fake.sessions.get(alter.sessionId)?.params.STATEMENT_TIMEOUT_IN_SECONDS).toBe('95');
  });

  it("routes the driver's own log lines to the project's logger", async () => {
    // Prepare: a refused key makes the driver log the failed connection
    const lines: string[] = [];
    const level = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'warn';
    setLogSink((line) => lines.push(line));
    const refused = new SnowflakeWarehouse(config(fake), { credentials: async () => creds(generateKeyPair()) });

    // Act
    await refused.query('select 1').catch(() => undefined);
    setLogSink((line) => process.stderr.write(line + '\n'));
    process.env.LOG_LEVEL = level;

    // Assess
    expect(lines.some((l) => l.includes('component=snowflake-sdk') && /JWT token is invalid/.test(l))).toBe(true);
  });

  it('never writes a snowflake.log file', async () => {
    // Act
    await wh.query('select 1');

    // Assess
    expect(fs.existsSync(path.join(process.cwd(), 'snowflake.log'))).toBe(false);
  });
});
