/**
 * Ingest semantics on the local stack, one case of docs/ARCHITECTURE.md §5 each, as an unlucky
 * operator or an attacker meets them: content uploaded again, uploads in quick succession, an event
 * before its object or after its deletion, an event naming another bucket, a snapshot event claiming
 * the year 2099, and snapshots that would empty a table or come from a stray copy.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../../local/stack';
import { confirmHeld } from '../../shared/ops/confirm';
import { reconcile } from '../../shared/ops/reconcile';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';
import { sendBodies } from '../support/landing';
import { s3NotificationBody } from '../../shared/events/s3-notification';

jest.setTimeout(120_000);

let stack: Stack;
let s3: S3Client;
let scratch: ReturnType<typeof scratchDir>;

beforeAll(async () => {
  scratch = scratchDir();
  stack = await startStack({ dir: path.join(scratch.dir, 'stack'), s3Port: 0, sqsPort: 0, visibilityTimeoutSeconds: 1, batchWindowMs: 50 });
  s3 = createS3Client(stack.config);
});
afterAll(async () => {
  await stack.stop();
  scratch.remove();
});

const put = async (key: string, body: string, bucket = 'landing') => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
};
const idle = () => stack.waitForIdle({ timeoutMs: 60_000, settleMs: 300 });
const customers = async () =>
  (await warehouse().query<{ customer_id: string }>(`select customer_id from raw.customers order by customer_id`)).map((r) => r.customer_id);
const statuses = async (key: string) =>
  (await warehouse().query<{ status: string }>(`select status from raw.file_ledger where key = ? order by updated_at`, [key])).map((r) => r.status);
const tx = (c: string) => JSON.stringify({ customer_id: c, basket: [{ product_id: 'P01', price: 1 }], date_of_purchase: '2024-01-01 10:00:00' });
const rowsOfKey = async (key: string) =>
  (await warehouse().query<{ customer_id: string }>(`select customer_id from raw.transactions where _file_key = ? order by customer_id`, [key])).map((r) => r.customer_id);
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const event = (o: { bucket?: string; key: string; body: string; sequencer: string; eventTime?: string }) =>
  s3NotificationBody([
    {
      bucket: o.bucket ?? 'landing',
      key: o.key,
      size: Buffer.byteLength(o.body),
      eTag: md5(o.body),
      sequencer: o.sequencer,
      eventTime: o.eventTime ?? new Date().toISOString(),
      region: 'eu-west-2',
      source: 'test',
    },
  ]);

const GOOD = 'customer_id,loyalty_score\nC1,1\nC2,2\nC3,3\n';

describe('snapshots', () => {
  it('an earlier content uploaded again loads again; an empty upload between is held, not loaded', async () => {
    await put('customers.csv', GOOD);
    await idle();
    expect(await customers()).toEqual(['C1', 'C2', 'C3']);
    // an empty file by accident: held, the table keeps its rows
    await put('customers.csv', 'customer_id,loyalty_score\n');
    await idle();
    expect(await customers()).toEqual(['C1', 'C2', 'C3']);
    const [held] = await warehouse().query<{ status: string; first_error: string }>(
      `select status, first_error from raw.file_ledger where key = 'customers.csv' and status = 'held'`,
    );
    expect(held!.first_error).toMatch(/0 rows would replace the 3 live rows .*INGEST_SNAPSHOT_MIN_RATIO.*npm run confirm -- customers\.csv/);
    // reconcile says so (a problem: somebody has to look)
    const report = await reconcile({ s3, wh: warehouse(), bucket: 'landing', routes: stack.config.routes });
    expect(report.entries.find((e) => e.key === 'customers.csv')).toMatchObject({ finding: 'held' });
    // the good file again (the same ETag): a new unit, loaded
    await put('customers.csv', GOOD);
    await idle();
    expect(await customers()).toEqual(['C1', 'C2', 'C3']);
    expect((await statuses('customers.csv')).sort()).toEqual(['held', 'loaded', 'replaced']);
  });

  it('an operator confirms a held snapshot and it becomes live', async () => {
    await put('customers.csv', 'customer_id,loyalty_score\nC9,9\n');
    await idle();
    expect(await customers()).toEqual(['C1', 'C2', 'C3']);
    const result = await confirmHeld(warehouse(), { bucket: 'landing', key: 'customers.csv' });
    expect(result).toMatchObject({ live: true, reason: expect.stringMatching(/1 rows would replace the 3 live rows/) });
    expect(await customers()).toEqual(['C9']);
    // the empty file of the case before is still held; confirmed, it stays out: it is older than C9's
    expect(await confirmHeld(warehouse(), { bucket: 'landing', key: 'customers.csv' })).toMatchObject({ live: false, reason: expect.stringMatching(/^held: 0 rows/) });
    expect(await customers()).toEqual(['C9']);
    await expect(confirmHeld(warehouse(), { bucket: 'landing', key: 'customers.csv' })).rejects.toThrow(/is not held/);
  });

  it('holds a stray copy under another prefix (another key than the live one)', async () => {
    await put('old/backup/customers.csv', GOOD);
    await idle();
    expect(await customers()).toEqual(['C9']);
    expect(await statuses('old/backup/customers.csv')).toEqual(['held']);
  });

  it('orders snapshots by what the store says: an event claiming 2099 pins nothing', async () => {
    const body = 'product_id,product_description,product_category\nP01,a,house\n';
    await put('products.csv', body);
    await idle();
    // a crafted event for the same object, claiming the year 2099
    await sendBodies(stack.queues.client, stack.queues.queueUrl, [event({ key: 'products.csv', body, sequencer: '0000000000000000FF', eventTime: '2099-01-01T00:00:00.000Z' })]);
    await idle();
    // a genuine later upload replaces it
    await put('products.csv', 'product_id,product_description,product_category\nP01,a,house\nP02,b,food\n');
    await idle();
    const products = await warehouse().query<{ product_id: string }>(`select product_id from raw.products order by 1`);
    expect(products.map((p) => p.product_id)).toEqual(['P01', 'P02']);
  });
});

describe('keys of an append dataset', () => {
  it('three uploads in quick succession end with the last content', async () => {
    const key = 'transactions/d=2024-01-01/burst.json';
    await put(key, [tx('A1'), tx('A2')].join('\n') + '\n');
    await put(key, '');
    await put(key, [tx('A1'), tx('A2')].join('\n') + '\n');
    await idle();
    expect(await rowsOfKey(key)).toEqual(['A1', 'A2']);
  });

  it('an event that arrives before its object is retried, and loads once the object is there', async () => {
    const key = 'transactions/d=2024-01-02/early.json';
    const body = tx('E1') + '\n';
    await sendBodies(stack.queues.client, stack.queues.queueUrl, [event({ key, body, sequencer: '0000000000000000AA' })]);
    await new Promise((r) => setTimeout(r, 700));
    await put(key, body);
    await idle();
    expect(await rowsOfKey(key)).toEqual(['E1']);
    expect(await statuses(key)).not.toContain('failed');
  });

  it('an event after a deletion is settled, and the same content uploaded again still loads', async () => {
    const key = 'transactions/d=2024-01-03/deleted.json';
    const body = tx('D1') + '\n';
    await put(key, body);
    await idle();
    await s3.send(new DeleteObjectCommand({ Bucket: 'landing', Key: key }));
    await sendBodies(stack.queues.client, stack.queues.queueUrl, [event({ key, body, sequencer: 'FFFFFFFFFFFFFFFFFF' })]);
    await idle();
    expect(await statuses(key)).toContain('superseded');
    await put(key, tx('D2') + '\n');
    await idle();
    await put(key, body);
    await idle();
    expect(await rowsOfKey(key)).toEqual(['D1']);
  });

  it('an event naming another bucket is acknowledged and replaces nothing', async () => {
    const key = 'transactions/d=2024-01-04/shared.json';
    await put(key, [tx('L1'), tx('L2')].join('\n') + '\n');
    await idle();
    const other = tx('X1') + '\n';
    await put(key, other, 'exports');
    await sendBodies(stack.queues.client, stack.queues.queueUrl, [event({ bucket: 'exports', key, body: other, sequencer: 'FFFFFFFFFFFFFFFFFF' })]);
    await idle();
    expect(await rowsOfKey(key)).toEqual(['L1', 'L2']);
    expect(await warehouse().query(`select count(*) as n from raw.file_ledger where bucket = 'exports'`)).toEqual([{ n: 0 }]);
  });
});
