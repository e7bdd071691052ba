/**
 * Hostile files on the local stack (docs/ARCHITECTURE.md §5, bounded reading): a gzip bomb of
 * newlines, a gzip of zeros with no line break, a single huge line. Each fails alone with its reason
 * in the ledger; the innocent files beside it in the same batches load; the stack keeps working.
 * (Peak memory for the full-size cases is measured by `npm run bench -- hostile`.)
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../../local/stack';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';

jest.setTimeout(180_000);

let stack: Stack;
let s3: S3Client;
let scratch: ReturnType<typeof scratchDir>;
const saved = { ...process.env };

beforeAll(async () => {
  scratch = scratchDir();
  // smaller ceilings than the defaults, so the suite stays quick; the mechanism is the same
  process.env.INGEST_MAX_FILE_BYTES = String(8 * 1024 * 1024);
  process.env.INGEST_MAX_LINE_BYTES = String(256 * 1024);
  stack = await startStack({ dir: path.join(scratch.dir, 'stack'), s3Port: 0, sqsPort: 0, visibilityTimeoutSeconds: 1, maxReceiveCount: 2, batchWindowMs: 300 });
  s3 = createS3Client(stack.config);
});
afterAll(async () => {
  await stack.stop();
  process.env = saved;
  scratch.remove();
});

const tx = (c: string) => JSON.stringify({ customer_id: c, basket: [{ product_id: 'P01', price: 1 }], date_of_purchase: '2024-02-01 10:00:00' });

it('fails each hostile file alone, names it in the ledger, and loads its neighbours', async () => {
  const hostile: Record<string, Buffer> = {
    'transactions/d=2024-02-01/newlines.json.gz': gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x0a), { level: 9 }),
    'transactions/d=2024-02-01/zeros.json.gz': gzipSync(Buffer.alloc(64 * 1024 * 1024, 0), { level: 9 }),
    'transactions/d=2024-02-01/one-line.json': Buffer.from('{"customer_id": "' + 'x'.repeat(3 * 1024 * 1024) + '"}\n'),
  };
  const innocent = Array.from({ length: 10 }, (_, i) => `transactions/d=2024-02-0${(i % 9) + 1}/innocent-${i}.json`);
  const puts = [
    ...Object.entries(hostile).map(([Key, Body]) => s3.send(new PutObjectCommand({ Bucket: 'landing', Key, Body }))),
    ...innocent.map((Key, i) => s3.send(new PutObjectCommand({ Bucket: 'landing', Key, Body: `${tx(`C${i}`)}\n` }))),
  ];
  await Promise.all(puts);
  await stack.waitForIdle({ timeoutMs: 120_000, settleMs: 500 });

  const ledger = await warehouse().query<{ key: string; status: string; first_error: string | null }>(
    `select key, status, first_error from raw.file_ledger order by key`,
  );
  const of = (key: string) => ledger.find((r) => r.key === key);
  expect(of('transactions/d=2024-02-01/newlines.json.gz')).toMatchObject({ status: 'failed', first_error: expect.stringMatching(/more than 8388608 bytes of text \(INGEST_MAX_FILE_BYTES\)/) });
  expect(of('transactions/d=2024-02-01/zeros.json.gz')).toMatchObject({ status: 'failed', first_error: expect.stringMatching(/line 1 is longer than the ceiling of 262144 bytes/) });
  expect(of('transactions/d=2024-02-01/one-line.json')).toMatchObject({ status: 'failed', first_error: expect.stringMatching(/line 1 is longer than the ceiling/) });
  for (const key of innocent) expect(of(key)).toMatchObject({ status: 'loaded' });
  expect(await warehouse().query(`select count(*) as n from raw.transactions`)).toEqual([{ n: 10 }]);

  // the stack is still up: a file after them loads
  await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: 'transactions/d=2024-02-10/after.json', Body: `${tx('Z')}\n` }));
  await stack.waitForIdle({ timeoutMs: 30_000, settleMs: 300 });
  expect(await warehouse().query(`select count(*) as n from raw.transactions`)).toEqual([{ n: 11 }]);
});
