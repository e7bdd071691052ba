/**
 * A file that cannot be read within the invocation's time fails alone: before, a gzip of
 * 3 GiB of newlines kept its batch busy until the invocation timed out, and the whole batch, innocent
 * neighbours included, went back to SQS and on to the DLQ with no ledger row naming the culprit. Now
 * the read stops when only INGEST_DEADLINE_RESERVE_SECONDS are left, that file fails with its reason
 * in the ledger, and the files beside it load in the same invocation.
 */
import { gzipSync } from 'node:zlib';
import { warehouse } from '../../shared/warehouse';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useLocalStack } from '../support/stack';

jest.setTimeout(120_000);

// an 8 s invocation that keeps 4 s for the load: 4 s to read
const ctx = useLocalStack({
  env: { INGEST_DEADLINE_RESERVE_SECONDS: '4' },
  invocationTimeoutMs: 8_000,
  visibilityTimeoutSeconds: 10,
  maxReceiveCount: 1,
  batchWindowMs: 500,
  concurrency: 1,
});

/**
 * `members` gzip members of 64 MiB of newlines each, one after another (a gzip file may hold several
 * members; the reader inflates them all): about 64 KB of bytes per member.
 */
function gzippedNewlines(members: number): Buffer {
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x0a), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

const tx = (c: string) => JSON.stringify({ customer_id: c, basket: [{ product_id: 'P01', price: 1 }], date_of_purchase: '2024-02-01 10:00:00' });

it('fails a file still being read at the deadline, names it in the ledger, and loads the files beside it', async () => {
  // 31 x 64 MiB = 2,080 million blank lines, under the 2 GiB text ceiling: far more than 4 s of reading
  // on any machine (10-40 million lines a second)
  const slow = gzippedNewlines(31);
  const innocent = ['transactions/d=2024-02-02/a.json', 'transactions/d=2024-02-03/b.json'];
  await Promise.all([
    ctx.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: 'transactions/d=2024-02-01/slow.json.gz', Body: slow })),
    ...innocent.map((Key, i) => ctx.s3.send(new PutObjectCommand({ Bucket: 'landing', Key, Body: `${tx(`C${i}`)}\n` }))),
  ]);
  await ctx.stack.waitForIdle({ timeoutMs: 90_000, settleMs: 1_000 });

  const ledger = await warehouse().query<{ key: string; status: string; first_error: string | null }>(
    `select key, status, first_error from raw.file_ledger order by key`,
  );
  const of = (key: string) => ledger.find((r) => r.key === key);
  expect(of('transactions/d=2024-02-01/slow.json.gz')).toMatchObject({
    status: 'failed',
    first_error: expect.stringMatching(/still being read after \d+ s, all the time this invocation had for it/),
  });
  for (const key of innocent) expect(of(key)).toMatchObject({ status: 'loaded' });
  expect(await warehouse().query(`select count(*) as n from raw.transactions`)).toEqual([{ n: 2 }]);
  // no invocation ran into its timeout: every delivery answered (the slow file's record alone failed)
  expect(ctx.stack.consumer.deliveries.every((d) => d.durationMs < 8_000)).toBe(true);
});
