/**
 * Ingest on Snowflake, end to end: the real handler (functions/ingest.ts), the one ingest flow, the
 * stage landing and the real snowflake-sdk, against the fake Snowflake REST API with an engine that
 * executes the statements (test/support/fake-snowflake/engine.ts): migrate's DDL creates the tables and
 * views, COPY lands lines, the rules' table function runs as Snowflake documents table functions, the
 * multi-table INSERT writes rows with NOT NULL enforced. What loads is compared with what the local
 * DuckDB path loads from the same files (one flow, one set of rules), and with counts made here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createIngest } from '../../functions/ingest';
import { loadConfig, resetConfig } from '../../shared/config';
import { defaultRegistry } from '../../shared/datasets';
import { migrate, snowflakeParameters } from '../../shared/migrate';
import { setLogSink } from '../../shared/logger';
import { setS3Client } from '../../shared/storage/object-store';
import { setWarehouse } from '../../shared/warehouse';
import { SnowflakeWarehouse } from '../../shared/warehouse/snowflake';
import { FakeSnowflake } from '../support/fake-snowflake';
import { fakeSnowflakeConfig, fakeSnowflakeEnv, keyPairCredentials } from '../support/fake-snowflake/config';
import { SnowflakeEngine } from '../support/fake-snowflake/engine';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { resetEventFactories, s3Record, sqsEvent, sqsRecordFor } from '../support/events';
import { judgeText } from '../support/judge';

jest.setTimeout(60_000);

const key = generateKeyPair();
const TX_A = 'transactions/d=2024-05-01/a.json';
const TX_B = 'transactions/d=2024-05-02/b.json';
const CUSTOMERS = 'starter/customers.csv';
const PRODUCTS = 'products.csv';

const good = (c: string, p: string, price: number, at = '2024-05-01 10:00:00') =>
  JSON.stringify({ customer_id: c, basket: [{ product_id: p, price }, { product_id: 'P9', price: 0.5 }], date_of_purchase: at });

const FILES: Record<string, string> = {
  [TX_A]: [good('C1', 'P1', 5), good('C2', 'P2', 7.5), '', '{"customer_id": "C3", "basket": "x", "date_of_purchase": "2024-05-01 10:00:00"}'].join('\r\n') + '\r\n',
  [TX_B]: '\ufeff' + [good('C4', 'P1', 1), 'not json', good('C5', 'P3', 2)].join('\n'),
  [CUSTOMERS]: 'customer_id,loyalty_score\nC1,7\nC2,x\nC3,3\n ,4\n',
  [PRODUCTS]: 'product_id,product_description,product_category\nP1,"belt, brown",clothes\nP2,"two\nlines",house\nP3,x\n',
};

const ENV = { ...fakeSnowflakeEnv('http://127.0.0.1:9'), INGEST_MODE: 'copy' };

const UPLOADED = new Date(Date.UTC(2024, 4, 3, 12, 0, 0));

describe('Snowflake ingest through the handler, statements executed', () => {
  const s3 = mockClient(S3Client);
  const saved = { ...process.env };
  let fake: FakeSnowflake;
  let engine: SnowflakeEngine;
  let wh: SnowflakeWarehouse;
  let seq = 0;

  const event = (keys: string[]): SQSEvent =>
    sqsEvent(
      keys.map((k) =>
        sqsRecordFor([s3Record({ key: k, eTag: engine.objects.get(k)!.etag, sequencer: (++seq).toString(16).padStart(18, '0') })], { messageId: `msg-${k}-${seq}` }),
      ),
    );
  const ingest = (keys: string[]) => createIngest()(event(keys));
  const live = async (table: string) => engine.query(`select * from raw.${table} order by _file_key, _line_number`);

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
    engine = await SnowflakeEngine.attach(fake);
    for (const [k, body] of Object.entries(FILES)) engine.put(k, body, UPLOADED);
    wh = new SnowflakeWarehouse(fakeSnowflakeConfig(fake, { user: 'loader', role: 'SP_LOADER' }), { credentials: keyPairCredentials(key), statementTimeoutMs: 20_000 });
    setWarehouse(wh);
    // the schema, as migrate creates it on a real account (the admin scripts included)
    await migrate(wh, { admin: true, params: snowflakeParameters(loadConfig(process.env), process.env) });
    s3.reset();
    setS3Client(new S3Client({ region: 'eu-west-2' }));
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
      const o = engine.objects.get(input.Key);
      if (!o) throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
      return { ETag: `"${o.etag}"`, LastModified: o.lastModified, ContentLength: o.bytes.length };
    });
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

  it('lands, judges and appends a batch; the live rows are what the rules make of the files', async () => {
    // Act
    const result = await ingest([TX_A, TX_B, CUSTOMERS, PRODUCTS]);
    // Assess: nothing fails, one COPY per dataset, the rules ran once per line in one INSERT each
    expect(result.batchItemFailures).toEqual([]);
    expect(fake.sql().filter((s) => /^copy into/i.test(s))).toHaveLength(3);
    expect(fake.sql().filter((s) => /^insert all/i.test(s))).toHaveLength(3);
    // the independent expectation: the rules run in Node over the same text, keyed as the writer keys
    const items = await live('transaction_items');
    const expectedItems = [TX_A, TX_B].flatMap((k) => judgeText('transactions', FILES[k]!).rows.transaction_items!.map((r) => [k, r[0], r[2], r[4], r[5]]));
    expect(items.map((r) => [r._file_key, r._line_number, r.item_index, r.product_id, Number(r.price)])).toEqual(expectedItems);
    const customers = await live('customers');
    expect(customers.map((r) => [r.customer_id, r.loyalty_score])).toEqual([
      ['C1', 7],
      ['C3', 3],
    ]);
    const products = await live('products');
    expect(products.map((r) => r.product_description)).toEqual(['belt, brown', 'two\nlines']);
    const quarantine = await engine.query<{ key: string; line_number: number; reason: string }>(`select key, line_number, reason from raw.quarantine order by key, line_number`);
    expect(quarantine.map((q) => [q.key, Number(q.line_number), q.reason])).toEqual([
      [PRODUCTS, 5, 'expected 3 columns, found 2'],
      [CUSTOMERS, 3, 'loyalty_score is not an integer'],
      [CUSTOMERS, 5, 'missing customer_id'],
      [TX_A, 4, 'missing basket'],
      [TX_B, 2, 'invalid JSON'],
    ]);
    const ledger = await engine.query<{ key: string; status: string; rows_loaded: number; rows_quarantined: number }>(
      `select key, status, rows_loaded, rows_quarantined from raw.file_ledger order by key`,
    );
    expect(ledger.map((r) => [r.key, r.status, Number(r.rows_loaded), Number(r.rows_quarantined)])).toEqual([
      [PRODUCTS, 'loaded', 2, 1],
      [CUSTOMERS, 'loaded', 2, 2],
      [TX_A, 'loaded', 2, 1],
      [TX_B, 'loaded', 2, 1],
    ]);
  });

  it('is exactly once: a redelivery is a no-op, a new version of a key replaces it, the same bytes again load from the landed lines', async () => {
    const delivery = event([TX_A]);
    await createIngest()(delivery);
    const first = fake.sql().length;
    // the same message again: nothing is copied or written
    const again = await createIngest()(delivery);
    expect(again.batchItemFailures).toEqual([]);
    expect(fake.sql().slice(first).filter((s) => /^(copy|insert)/i.test(s))).toEqual([]);
    // new content under the key: it replaces the key's rows
    engine.put(TX_A, good('C7', 'P7', 7) + '\n', new Date(UPLOADED.getTime() + 60_000));
    await ingest([TX_A]);
    expect((await live('transactions')).map((r) => r.customer_id)).toEqual(['C7']);
    // the first content again: COPY skips it (load metadata), its lines are still landed
    engine.put(TX_A, FILES[TX_A]!, new Date(UPLOADED.getTime() + 120_000));
    const before = fake.sql().length;
    await ingest([TX_A]);
    const copy = fake.sql().slice(before).filter((s) => /^copy into/i.test(s));
    expect(copy).toHaveLength(1);
    expect(copy[0]).not.toMatch(/force/i);
    expect((await live('transactions')).map((r) => r.customer_id)).toEqual(['C1', 'C2']);
  });

  it('hands a batch back when the COPY took the time, and the next delivery writes the landed lines without copying them again', async () => {
    // Prepare: an invocation whose time runs out during the COPY (less than half the 60 s reserve left)
    const delivery = event([TX_A]);
    const start = fake.sql().length;
    const copied = () => fake.sql().slice(start).some((q) => /^copy into/i.test(q));
    const context = { getRemainingTimeInMillis: () => (copied() ? 20_000 : 200_000) } as unknown as Context;

    // Act: the late delivery, then the record comes back
    const late = await createIngest()(delivery, context);
    const between = fake.sql().length;
    const next = await createIngest()(delivery);

    // Assess: nothing written the first time, the record failed back to SQS
    expect(late.batchItemFailures).toEqual([{ itemIdentifier: delivery.Records[0]!.messageId }]);
    expect(fake.sql().slice(start, between).filter((q) => /^insert all/i.test(q))).toEqual([]);
    // the second: COPY skips the file it loaded (load metadata, no FORCE), the landed lines are written
    // https://docs.snowflake.com/en/user-guide/data-load-considerations-load#load-metadata
    expect(next.batchItemFailures).toEqual([]);
    const copies = fake.sql().slice(between).filter((q) => /^copy into/i.test(q));
    expect(copies.every((q) => !/force = true/i.test(q))).toBe(true);
    expect((await live('transactions')).map((r) => r.customer_id)).toEqual(['C1', 'C2']);
  });

  it('copies a skipped file again with FORCE when its landed lines are gone', async () => {
    await ingest([TX_B]);
    await engine.purgeLanding();
    engine.put(TX_B, FILES[TX_B]!, new Date(UPLOADED.getTime() + 60_000)); // same bytes, new upload
    const before = fake.sql().length;
    const result = await ingest([TX_B]);
    expect(result.batchItemFailures).toEqual([]);
    expect(fake.sql().slice(before).filter((s) => /^copy into/i.test(s)).map((s) => /force = true/i.test(s))).toEqual([false, true]);
    expect((await live('transactions')).map((r) => r.customer_id)).toEqual(['C4', 'C5']);
  });

  it('fails a file that is not UTF-8 text as unreadable, and says so in the ledger; its neighbour loads', async () => {
    engine.put('transactions/d=2024-05-03/bad.json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), UPLOADED);
    const result = await ingest(['transactions/d=2024-05-03/bad.json', TX_A]);
    expect(result.batchItemFailures).toHaveLength(1);
    const ledger = await engine.query<{ key: string; status: string; first_error: string }>(`select key, status, first_error from raw.file_ledger order by key`);
    expect(ledger[0]).toMatchObject({ key: TX_A, status: 'loaded' });
    expect(ledger[1]).toMatchObject({ status: 'failed', first_error: expect.stringMatching(/could not read the file as UTF-8 text/) });
  });

  it('fails a CSV with an unclosed quote as a whole, from the verdict the function writes in finalize()', async () => {
    engine.put(PRODUCTS, 'product_id,product_description,product_category\nP1,"open,house\n', UPLOADED);
    const result = await ingest([PRODUCTS]);
    expect(result.batchItemFailures).toHaveLength(1);
    expect(await live('products')).toEqual([]);
    const [row] = await engine.query<{ status: string; first_error: string }>(`select status, first_error from raw.file_ledger`);
    expect(row).toMatchObject({ status: 'failed', first_error: expect.stringMatching(/malformed CSV \(quote not closed\)/) });
  });

  it('holds a snapshot that would empty the table', async () => {
    await ingest([CUSTOMERS]);
    engine.put(CUSTOMERS, 'customer_id,loyalty_score\n', new Date(UPLOADED.getTime() + 60_000));
    await ingest([CUSTOMERS]);
    expect((await live('customers')).map((r) => r.customer_id)).toEqual(['C1', 'C3']);
    const statuses = await engine.query<{ status: string }>(`select status from raw.file_ledger order by updated_at`);
    expect(statuses.map((s) => s.status)).toEqual(['loaded', 'held']);
  });

  it('hands a recent file to Snowpipe in pipe mode and finishes it on a later delivery', async () => {
    process.env.INGEST_MODE = 'pipe';
    resetConfig();
    const now = Date.now();
    engine.put(TX_A, FILES[TX_A]!, new Date(Math.floor(now / 1000) * 1000 - 60_000));
    const ev = event([TX_A]);
    const first = await createIngest()(ev);
    expect(first.batchItemFailures).toHaveLength(1); // pending: SQS brings it back
    expect(fake.sql().filter((s) => /^alter pipe/i.test(s))).toEqual([`alter pipe SHOPPING_PATTERNS.raw.transactions_pipe refresh prefix = '${TX_A}'`]);
    expect(await live('transactions')).toEqual([]);
    engine.runPipes(); // minutes later
    const second = await createIngest()(ev);
    expect(second.batchItemFailures).toEqual([]);
    expect((await live('transactions')).map((r) => r.customer_id)).toEqual(['C1', 'C2']);
    const statuses = await engine.query<{ status: string }>(`select status from raw.file_ledger`);
    expect(statuses).toEqual([{ status: 'loaded' }]);
  });

  it('runs the same few statements for a batch of one file as for ten, and calls the rules once per line', async () => {
    const day = (d: number) => `transactions/d=2024-06-${String(d).padStart(2, '0')}/t.json`;
    for (let d = 1; d <= 11; d++) engine.put(day(d), FILES[TX_A]!, UPLOADED);
    const statementsFor = async (keys: string[]) => {
      const before = fake.sql().length;
      expect((await ingest(keys)).batchItemFailures).toEqual([]);
      return fake.sql().slice(before).filter((s) => !/^(alter session|select current_)/i.test(s));
    };
    const one = await statementsFor([day(1)]);
    const ten = await statementsFor(Array.from({ length: 10 }, (_, i) => day(i + 2)));
    // triage, COPY, BEGIN, INSERT ALL through the rules, counts, ledger events, COMMIT (ARCHITECTURE §5)
    expect(ten.map((s) => s.split(/\s+/).slice(0, 2).join(' ').toLowerCase())).toEqual(
      one.map((s) => s.split(/\s+/).slice(0, 2).join(' ').toLowerCase()),
    );
    expect(ten.length).toBeLessThanOrEqual(8);
    expect(ten.filter((s) => /^copy into/i.test(s))).toHaveLength(1);
    expect(ten.filter((s) => /^(update|delete|merge)\b/i.test(s))).toEqual([]);
    // the table function runs once per landed line (4 per file): 11 files, 44 calls
    const calls = [...engine.udtfRows].filter(([name]) => /judge_transactions$/.test(name)).reduce((n, [, c]) => n + c, 0);
    expect(calls).toBe(11 * FILES[TX_A]!.split('\r\n').filter((_, i, a) => i < a.length - 1).length);
  });

  it('in pipe mode reads COPY_HISTORY once per batch and refreshes the pipe once per file', async () => {
    process.env.INGEST_MODE = 'pipe';
    resetConfig();
    const recent = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const keys = [1, 2, 3].map((d) => `transactions/d=2024-07-0${d}/t.json`);
    for (const k of keys) engine.put(k, FILES[TX_A]!, recent);
    const ev = event(keys);
    const before = fake.sql().length;
    expect((await createIngest()(ev)).batchItemFailures).toHaveLength(3); // all pending
    const handOff = fake.sql().slice(before);
    expect(handOff.filter((q) => /copy_history/i.test(q))).toHaveLength(1);
    expect(handOff.filter((q) => /^alter pipe/i.test(q))).toHaveLength(3);
    engine.runPipes();
    const again = fake.sql().length;
    expect((await createIngest()(ev)).batchItemFailures).toEqual([]);
    const finish = fake.sql().slice(again);
    expect(finish.filter((q) => /copy_history/i.test(q))).toHaveLength(1);
    expect(finish.filter((q) => /^alter pipe/i.test(q))).toEqual([]);
    expect(finish.filter((q) => /^insert all/i.test(q))).toHaveLength(1);
    expect((await live('transactions')).map((r) => r._file_key)).toEqual(keys.flatMap((k) => [k, k]));
  });

  it('loads what the local DuckDB path loads from the same files', async () => {
    // the local path's result for the same texts is the rules' output; the Snowflake rows must match
    await ingest([TX_A, TX_B, CUSTOMERS, PRODUCTS]);
    const registry = defaultRegistry;
    for (const d of registry.datasets) {
      for (const t of d.tables) {
        const keys = Object.keys(FILES).filter((k) => registry.routes().find((r) => r.pattern.test(k))?.dataset === d.name);
        const expected = keys.flatMap((k) => judgeText(d.name, FILES[k]!).rows[t.name]!.map((r) => r.length)).length;
        expect(await live(t.name)).toHaveLength(expected);
      }
    }
    expect(fs.existsSync(path.join(__dirname, '..', '..', 'sql', 'snowflake', 'generated', 'rules.js'))).toBe(true);
  });
});
