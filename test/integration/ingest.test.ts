/**
 * Event-driven ingest end to end on loopback: generator output dropped into the local `landing`
 * bucket loads by itself, exactly once, and the warehouse matches an independent computation over
 * the raw files (plain JSON.parse and string splitting here, not the product's parser).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { generateSampleData } from '../../local/generator';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { startStack, type Stack } from '../../local/stack';
import { scratchDir } from '../support/factories';
import { listFiles, notificationFor, putTree, sendBodies, shuffled } from '../support/landing';

jest.setTimeout(120_000);

interface Expected {
  customers: Map<string, number>;
  products: Map<string, string>;
  transactions: number;
  items: number;
  amount: number;
  pairs: Map<string, number>;
}

/** The oracle: what the warehouse must hold, computed straight from the files. */
function expectedFrom(root: string): Expected {
  const csv = (file: string) =>
    fs
      .readFileSync(path.join(root, file), 'utf8')
      .split(/\r?\n/)
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(','));
  const e: Expected = {
    customers: new Map(csv('customers.csv').map(([id, score]) => [id!, Number(score)])),
    products: new Map(csv('products.csv').map(([id, , category]) => [id!, category!])),
    transactions: 0,
    items: 0,
    amount: 0,
    pairs: new Map(),
  };
  for (const file of listFiles(root).filter((f) => f.startsWith('transactions/'))) {
    for (const line of fs.readFileSync(path.join(root, file), 'utf8').split('\n').filter(Boolean)) {
      const t = JSON.parse(line) as { customer_id: string; basket: { product_id: string; price: number }[] };
      e.transactions++;
      for (const item of t.basket) {
        e.items++;
        e.amount += item.price;
        const k = `${t.customer_id}|${item.product_id}`;
        e.pairs.set(k, (e.pairs.get(k) ?? 0) + 1);
      }
    }
  }
  return e;
}

async function actual(): Promise<Expected> {
  const wh = warehouse();
  const customers = await wh.query<{ customer_id: string; loyalty_score: number }>('select customer_id, loyalty_score from raw.customers');
  const products = await wh.query<{ product_id: string; product_category: string }>('select product_id, product_category from raw.products');
  const [totals] = await wh.query<{ transactions: number; items: number; amount: number }>(
    `select (select count(*) from raw.transactions) as transactions,
            (select count(*) from raw.transaction_items) as items,
            (select coalesce(sum(price), 0) from raw.transaction_items) as amount`,
  );
  const pairs = await wh.query<{ k: string; n: number }>(
    `select customer_id || '|' || product_id as k, count(*) as n from raw.transaction_items group by 1`,
  );
  return {
    customers: new Map(customers.map((r) => [r.customer_id, r.loyalty_score])),
    products: new Map(products.map((r) => [r.product_id, r.product_category])),
    transactions: Number(totals!.transactions),
    items: Number(totals!.items),
    amount: Number(totals!.amount),
    pairs: new Map(pairs.map((r) => [r.k, Number(r.n)])),
  };
}

/** A fingerprint of every loaded row, to compare runs. */
async function fingerprint(): Promise<string> {
  const rows = await warehouse().query(
    `select 'i' as t, transaction_id as id, item_index as n, product_id as v, cast(price as varchar) as p from raw.transaction_items
     union all select 'c', customer_id, loyalty_score, _file_key, null from raw.customers
     union all select 'p', product_id, null, product_category, product_description from raw.products
     order by 1, 2, 3`,
  );
  return JSON.stringify(rows);
}

describe('ingest through the local stack (real DuckDB, local S3, SQS API queue)', () => {
  let stack: Stack;
  let scratch: ReturnType<typeof scratchDir>;
  let dataDir: string;
  let keys: string[];

  beforeAll(async () => {
    scratch = scratchDir();
    dataDir = path.join(scratch.dir, 'data');
    await generateSampleData({ outDir: dataDir, months: 2, customers: 60, seed: 11, end: '2020-01-31' });
    stack = await startStack({ dir: path.join(scratch.dir, 'stack'), s3Port: 0, sqsPort: 0, visibilityTimeoutSeconds: 1, batchWindowMs: 100 });
    keys = await putTree(createS3Client(stack.config), dataDir);
    await stack.waitForIdle();
  });
  afterAll(async () => {
    await stack.stop();
    scratch.remove();
  });

  it('loads every generated file exactly once, matching an independent computation', async () => {
    const expected = expectedFrom(dataDir);
    const got = await actual();
    expect(got.customers).toEqual(expected.customers);
    expect(got.products).toEqual(expected.products);
    expect(got.transactions).toBe(expected.transactions);
    expect(got.items).toBe(expected.items);
    expect(got.amount).toBeCloseTo(expected.amount, 2);
    expect(got.pairs).toEqual(expected.pairs);
    const ledger = await warehouse().query<{ status: string; n: number; rows: number }>(
      `select status, count(*) as n, sum(rows_loaded) as rows from raw.file_ledger group by status`,
    );
    expect(ledger).toEqual([
      { status: 'loaded', n: keys.length, rows: expected.transactions + expected.customers.size + expected.products.size },
    ]);
  });

  it('gives identical tables after duplicated and shuffled redeliveries', async () => {
    // Prepare: every object's own notification (its sequencer from the ledger) three times, and a
    // stale copy with an older sequencer once, all shuffled
    const before = await fingerprint();
    const s3 = createS3Client(stack.config);
    const ledger = await warehouse().query<{ key: string; sequencer: string }>(`select key, sequencer from raw.file_ledger`);
    const sequencer = new Map(ledger.map((r) => [r.key, r.sequencer]));
    const bodies: string[] = [];
    for (const key of keys) {
      const body = await notificationFor(s3, 'landing', key, sequencer.get(key)!);
      bodies.push(body, body, body, await notificationFor(s3, 'landing', key, '0000000000000000FF'));
    }
    // Act
    await sendBodies(stack.queues.client, stack.queues.queueUrl, shuffled(bodies, 42));
    await stack.waitForIdle();
    // Assess: the same rows; each object version once in the ledger; each stale copy a unit of its own
    // (unversioned bucket: ETag at another sequencer) that never became live
    expect(await fingerprint()).toBe(before);
    const rows = await warehouse().query<{ status: string; n: number }>(
      `select status, count(*) as n from raw.file_ledger group by status order by status`,
    );
    expect(rows.map((r) => [r.status, Number(r.n)])).toEqual([
      ['loaded', keys.length],
      ['superseded', keys.length],
    ]);
  });

  it('replaces the rows of a key when new content arrives under it', async () => {
    // Prepare
    const key = keys.find((k) => k.startsWith('transactions/'))!;
    const replacement = [
      { customer_id: 'C1', basket: [{ product_id: 'P01', price: 7 }, { product_id: 'P01', price: 8 }], date_of_purchase: '2020-01-31 10:00:00' },
      { customer_id: 'C2', basket: [{ product_id: 'P02', price: 9 }], date_of_purchase: '2020-01-31 11:00:00' },
    ];
    const [before] = await warehouse().query<{ items: number; keyItems: number }>(
      `select count(*) as items, count(*) filter (where _file_key = ?) as "keyItems" from raw.transaction_items`,
      [key],
    );
    // Act
    await createS3Client(stack.config).send(
      new PutObjectCommand({ Bucket: 'landing', Key: key, Body: replacement.map((t) => JSON.stringify(t)).join('\n') + '\n' }),
    );
    await stack.waitForIdle();
    // Assess
    const rows = await warehouse().query<{ customer_id: string; product_id: string; price: number }>(
      `select customer_id, product_id, price from raw.transaction_items where _file_key = ? order by transaction_id, item_index`,
      [key],
    );
    expect(rows).toEqual([
      { customer_id: 'C1', product_id: 'P01', price: 7 },
      { customer_id: 'C1', product_id: 'P01', price: 8 },
      { customer_id: 'C2', product_id: 'P02', price: 9 },
    ]);
    const [after] = await warehouse().query<{ items: number }>(`select count(*) as items from raw.transaction_items`);
    expect(Number(after!.items)).toBe(Number(before!.items) - Number(before!.keyItems) + 3);
    const ledger = await warehouse().query<{ status: string }>(
      `select status from raw.file_ledger where key = ? and status <> 'superseded' order by updated_at`,
      [key],
    );
    expect(ledger.map((r) => r.status).sort()).toEqual(['loaded', 'replaced']);
  });
});
