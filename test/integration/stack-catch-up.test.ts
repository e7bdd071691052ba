/**
 * The local queue lives in memory: notifications in flight when `npm start` stops are gone. On the
 * next start the stack compares the landing bucket with the ledger and re-queues what was never
 * loaded; the ledger keeps it exactly once, so nothing is lost and nothing is doubled.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../../local/stack';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';

jest.setTimeout(120_000);

const FILES: Record<string, string> = {
  'customers.csv': 'customer_id,loyalty_score\nC1,3\nC2,7\n',
  'products.csv': 'product_id,product_description,product_category\nP01,apples,fruit_veg\n',
  'transactions/d=2024-05-01/a.json':
    '{"customer_id":"C1","basket":[{"product_id":"P01","price":2}],"date_of_purchase":"2024-05-01 10:00:00"}\n',
  'transactions/d=2024-05-02/b.json':
    '{"customer_id":"C2","basket":[{"product_id":"P01","price":1},{"product_id":"P01","price":1}],"date_of_purchase":"2024-05-02 11:00:00"}\n' +
    'not json\n',
};

describe('npm start catches up on objects a previous run never loaded', () => {
  const scratch = scratchDir();
  const base = { dir: scratch.dir, s3Port: 0, sqsPort: 0, visibilityTimeoutSeconds: 2, batchWindowMs: 100 };
  let stack: Stack | undefined;

  afterAll(async () => {
    await stack?.stop();
    scratch.remove();
  });

  async function counts() {
    const [row] = await warehouse().query(
      `select (select count(*) from raw.customers) as customers,
              (select count(*) from raw.transactions) as transactions,
              (select count(*) from raw.transaction_items) as items,
              (select count(*) from raw.quarantine) as quarantined,
              (select count(*) from raw.file_ledger where status = 'loaded') as loaded`,
    );
    return row;
  }

  it('re-queues the lost notifications once, loads them exactly once, and a second catch-up finds nothing', async () => {
    // Prepare: a first run receives the objects but stops before consuming their notifications
    stack = await startStack({ ...base, consume: false });
    const s3 = createS3Client(stack.config);
    for (const [key, body] of Object.entries(FILES)) {
      await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));
    }
    s3.destroy();
    await stack.stop();

    // Act: the next start (its queue is empty) catches up, then consumes
    stack = await startStack({ ...base, consume: false });
    const first = await stack.catchUp();
    stack.consumer.start();
    await stack.waitForIdle({ settleMs: 500 });
    const second = await stack.catchUp();
    await stack.waitForIdle({ settleMs: 500 });

    // Assess: every file loaded once (3 transactions lines, one quarantined), nothing re-queued twice
    expect(first).toEqual({ requeued: 4, failed: 0 });
    expect(second).toEqual({ requeued: 0, failed: 0 });
    expect(await counts()).toEqual({ customers: 2, transactions: 2, items: 3, quarantined: 1, loaded: 4 });
  });
});
