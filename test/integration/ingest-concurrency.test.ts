/**
 * Exactly-once under concurrency: several ingest invocations at once over the same shuffled,
 * duplicated deliveries give tables identical to a single consumer's.
 */
import path from 'node:path';
import { generateSampleData } from '../../local/generator';
import { startStack, type Stack } from '../../local/stack';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';
import { notificationFor, putTree, queuedBodies, sendBodies, shuffled } from '../support/landing';

jest.setTimeout(180_000);

async function snapshot(): Promise<{ rows: string; ledger: string }> {
  const rows = await warehouse().query(
    `select 'i' as t, transaction_id as id, item_index as n, product_id as v, cast(price as varchar) as p from raw.transaction_items
     union all select 't', transaction_id, basket_size, customer_id, cast(purchased_at as varchar) from raw.transactions
     union all select 'c', customer_id, loyalty_score, _file_key, null from raw.customers
     union all select 'p', product_id, null, product_category, product_description from raw.products
     order by 1, 2, 3`,
  );
  // what is live, per key: the object's content (ETag) and what it loaded, and that the live unit is the
  // genuine event's, not the stale copy's (whose sequencer is older); the sequencers themselves differ
  // between runs, and whether a stale copy is superseded or replaced depends on which came first
  const ledger = await warehouse().query(
    `select key, etag, rows_loaded, rows_quarantined, version like '%@00000000000000000F' as stale
       from raw.file_ledger where status = 'loaded' order by key`,
  );
  return { rows: JSON.stringify(rows), ledger: JSON.stringify(ledger) };
}

async function run(dir: string, dataDir: string, concurrency: number, copies: number): Promise<{ rows: string; ledger: string }> {
  const stack: Stack = await startStack({
    dir,
    s3Port: 0,
    sqsPort: 0,
    consume: false,
    concurrency,
    batchSize: 5,
    batchWindowMs: 50,
    visibilityTimeoutSeconds: 2,
    maxReceiveCount: 10,
  });
  try {
    const s3 = createS3Client(stack.config);
    const keys = await putTree(s3, dataDir);
    // extra deliveries of every notification (the very message, its sequencer and all), and one stale
    // copy of every object at an older sequencer, shuffled among the originals
    const extra: string[] = [];
    for (const body of await queuedBodies(stack.queues.client, stack.queues.queueUrl, keys.length)) {
      for (let i = 1; i < copies; i++) extra.push(body);
    }
    for (const key of keys) extra.push(await notificationFor(s3, 'landing', key, '00000000000000000F'));
    await sendBodies(stack.queues.client, stack.queues.queueUrl, shuffled(extra, 7));
    stack.consumer.start();
    await stack.waitForIdle({ timeoutMs: 150_000, settleMs: 3000 });
    return await snapshot();
  } finally {
    await stack.stop();
  }
}

describe('ingest concurrency', () => {
  it('several consumers over shuffled duplicates load the same tables as one consumer', async () => {
    const scratch = scratchDir();
    try {
      const dataDir = path.join(scratch.dir, 'data');
      await generateSampleData({ outDir: dataDir, months: 1, customers: 40, seed: 5, end: '2020-01-31' });
      const single = await run(path.join(scratch.dir, 'single'), dataDir, 1, 1);
      const parallel = await run(path.join(scratch.dir, 'parallel'), dataDir, 4, 3);
      expect(parallel.rows).toBe(single.rows);
      expect(parallel.ledger).toBe(single.ledger);
      const live = JSON.parse(single.ledger) as { stale: boolean }[];
      expect(live).toHaveLength(34);
      expect(live.every((r) => !r.stale)).toBe(true);
    } finally {
      scratch.remove();
    }
  });
});
