/**
 * The whole local path: generator output dropped into the landing bucket, loaded by the ingest
 * handler through the local stack, rebuilt, tested and published; the published snapshot compared
 * with an independent computation over the generated files themselves.
 */
import path from 'node:path';
import zlib from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { generateSampleData } from '../../local/generator';
import { startStack, type Stack } from '../../local/stack';
import { setLogSink } from '../../shared/logger';
import { rebuild } from '../../shared/rebuild';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';
import { putTree } from '../support/landing';
import { expectedMonthly, expectedPurchases, sortRows } from '../support/models-oracle';
import { readInputFolder } from '../support/raw-fixtures';

jest.setTimeout(120_000);

let stack: Stack;
let scratch: ReturnType<typeof scratchDir>;
let dataDir: string;

beforeAll(async () => {
  setLogSink(() => undefined);
  scratch = scratchDir('rebuild-e2e-');
  dataDir = path.join(scratch.dir, 'data');
  await generateSampleData({ outDir: dataDir, months: 2, customers: 80, seed: 7, end: '2020-01-31' });
  stack = await startStack({ dir: path.join(scratch.dir, 'stack'), s3Port: 0, sqsPort: 0, visibilityTimeoutSeconds: 1, batchWindowMs: 100 });
  await putTree(createS3Client(stack.config), dataDir);
  await stack.waitForIdle();
});

afterAll(async () => {
  await stack.stop();
  scratch.remove();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

async function readJsonLinesGz(key: string): Promise<Record<string, unknown>[]> {
  const res = await createS3Client(stack.config).send(new GetObjectCommand({ Bucket: 'exports', Key: key }));
  const bytes = Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  return zlib
    .gunzipSync(bytes)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

it('publishes exactly what the generated files say, after loading them through ingest', async () => {
  // Prepare
  const input = readInputFolder(dataDir);

  // Act
  const result = await rebuild({ snapshotDate: '2020-02-03', runId: 'rb-e2e' });

  // Assess: warnings (freshness: the files arrive years after their data) do not block publishing
  expect(result.status).toBe('published');
  expect(result.tests.failed).toBe(0);
  const prefix = 'customer_product_purchases/snapshot_date=2020-02-03';
  expect(sortRows(await readJsonLinesGz(`${prefix}/customer_product_purchases/part-00000.jsonl.gz`))).toEqual(
    sortRows(expectedPurchases(input)),
  );
  expect(sortRows(await readJsonLinesGz(`${prefix}/customer_product_purchases_monthly/part-00000.jsonl.gz`))).toEqual(
    sortRows(expectedMonthly(input)),
  );
  expect(sortRows(await warehouse().query('select * from analytics.customer_product_purchases'))).toEqual(
    sortRows(expectedPurchases(input)),
  );
});
