/**
 * The on-call commands against the local stack (real s3rver, real SQS API with a DLQ, real DuckDB,
 * the real ingest handler): replay, reconcile (library and CLI exit codes), redrive.
 *
 * The stack starts with its notifications lost (the queue is purged before the consumer starts),
 * so everything in the warehouse got there through replay. Expected numbers come from the landing
 * files themselves (test/support/ops.ts), never from the product's own output.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import zlib from 'node:zlib';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { generateSampleData } from '../../local/generator';
import { startStack, type Stack } from '../../local/stack';
import { setLogSink } from '../../shared/logger';
import { reconcile } from '../../shared/ops/reconcile';
import { explainMessages, peekDlq, redrive, summariseReasons } from '../../shared/ops/redrive';
import { replay } from '../../shared/ops/replay';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { scratchDir } from '../support/factories';
import { listFiles, putTree } from '../support/landing';
import { depth, oracleFromFiles, waitFor, type FileOracle } from '../support/ops';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');
const MONTH = 'transactions/d=2018-09';

let scratch: ReturnType<typeof scratchDir>;
let stack: Stack;
let s3: S3Client;
let dataDir: string;
let stackDir: string;
let keys: string[];
let oracle: FileOracle;

const count = async (sql: string, params: string[] = []) =>
  Number((await warehouse().query(sql, params))[0]!.n);
const rowsOfKey = (key: string) =>
  count(`select count(*) as n from raw.transactions where _file_key = ?`, [key]);
const ledgerOf = (key: string) =>
  warehouse().query<{ version: string; status: string; first_error: string | null }>(
    `select version, status, first_error from raw.file_ledger where key = ? order by updated_at`,
    [key],
  );

const target = () => ({
  s3,
  sqs: stack.queues.client,
  bucket: 'landing',
  queueUrl: stack.queues.queueUrl,
  region: stack.config.region,
  routes: stack.config.routes,
  style: 'local' as const,
});

/**
 * Run an ops CLI as an operator would, against this test's stack (found through its stack.json).
 * Asynchronously: the stack lives in this process and must keep answering meanwhile.
 */
function cli(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'local/cli', script), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, STAGE: 'local', LOCAL_DIR: stackDir, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  setLogSink(() => undefined);
  scratch = scratchDir('sp-ops-');
  dataDir = path.join(scratch.dir, 'data');
  stackDir = path.join(scratch.dir, 'stack');
  await generateSampleData({ outDir: dataDir, months: 1, customers: 30, seed: 7, end: '2018-10-10' });
  oracle = oracleFromFiles(dataDir);
  stack = await startStack({
    dir: stackDir,
    s3Port: 0,
    sqsPort: 0,
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 2,
    batchWindowMs: 100,
    consume: false,
  });
  s3 = createS3Client(stack.config);
  keys = await putTree(s3, dataDir);
  // lose every notification: the objects are in the bucket, the queue forgot them (PurgeQueue
  // takes 60 s, as in AWS, so the messages are received and deleted instead)
  await waitFor(
    'the notifications',
    async () => (await depth(stack.queues.client, stack.queues.queueUrl)) === keys.length,
  );
  let dropped = 0;
  while (dropped < keys.length) {
    const { Messages = [] } = await stack.queues.client.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queues.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) continue;
    await stack.queues.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.queues.queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    dropped += Messages.length;
  }
  await waitFor(
    'an empty queue',
    async () => (await depth(stack.queues.client, stack.queues.queueUrl)) === 0,
  );
  stack.consumer.start();
});

afterAll(async () => {
  await stack?.stop();
  scratch?.remove();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

describe('replay', () => {
  it('--dry-run lists the month and sends nothing', async () => {
    // Act
    const result = await replay({ ...target(), prefix: MONTH, dryRun: true });
    // Assess
    const expected = listFiles(dataDir).filter((k) => k.startsWith(MONTH));
    expect(result.selected.map((o) => o.key).sort()).toEqual(expected);
    expect(result.sent).toBe(0);
    expect(await depth(stack.queues.client, stack.queues.queueUrl)).toBe(0);
    expect(await count('select count(*) as n from raw.file_ledger')).toBe(0);
  });

  it('--prefix loads exactly the matching files through the queue, with the objects’ own arrival times', async () => {
    // Act
    const result = await replay({ ...target(), prefix: MONTH });
    await stack.waitForIdle();
    // Assess
    const expectedKeys = [...oracle.linesPerKey.keys()].filter((k) => k.startsWith(MONTH)).sort();
    expect(result.sent).toBe(expectedKeys.length);
    const loaded = await warehouse().query<{ key: string }>(
      `select key from raw.file_ledger where status = 'loaded' order by key`,
    );
    expect(loaded.map((r) => r.key)).toEqual(expectedKeys);
    const expectedRows = expectedKeys.reduce((s, k) => s + oracle.linesPerKey.get(k)!, 0);
    expect(await count('select count(*) as n from raw.transactions')).toBe(expectedRows);
    // the ledger's arrival is the object's LastModified, not the replay's clock
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'landing', Key: expectedKeys[0] }));
    const [row] = await warehouse().query<{ t: string }>(
      `select cast(event_time as varchar) as t from raw.file_ledger where key = ?`,
      [expectedKeys[0]!],
    );
    expect(Math.abs(Date.parse(row!.t.replace(' ', 'T') + 'Z') - head.LastModified!.getTime())).toBeLessThan(
      1000,
    );
  });

  it('--all loads the rest, and replaying everything again changes nothing (exactly once)', async () => {
    // Act
    await replay({ ...target() });
    await stack.waitForIdle();
    const afterFirst = await warehouse().query(
      `select key, version, status, attempts from raw.file_ledger order by key`,
    );
    const again = await replay({ ...target() });
    await stack.waitForIdle();
    // Assess
    expect(again.sent).toBe(keys.length);
    expect(
      await warehouse().query(`select key, version, status, attempts from raw.file_ledger order by key`),
    ).toEqual(afterFirst);
    expect(afterFirst).toHaveLength(keys.length);
    expect(new Set(afterFirst.map((r) => r.status))).toEqual(new Set(['loaded']));
    expect(await count('select count(*) as n from raw.transactions')).toBe(oracle.transactions);
    expect(await count('select count(*) as n from raw.transaction_items')).toBe(oracle.items);
    expect(await count('select count(*) as n from raw.customers')).toBe(oracle.customers);
    expect(await count('select count(*) as n from raw.products')).toBe(oracle.products);
  });
});

describe('reconcile', () => {
  const victim = 'transactions/d=2018-09-20/transactions.json';

  it('finds a deleted ledger row (CLI exits 1), --fix replays it, and the rows are not double counted', async () => {
    // Prepare
    const clean = await reconcile({ s3, wh: warehouse(), bucket: 'landing', routes: stack.config.routes });
    expect(clean.problems).toBe(0);
    expect(clean.counts.loaded + clean.counts.quarantined).toBe(keys.length);
    await warehouse().execute(`delete from raw.file_events where key = ?`, [victim]); // the version's load is forgotten: its rows are no longer live

    // Act + Assess: the library
    const found = await reconcile({ s3, wh: warehouse(), bucket: 'landing', routes: stack.config.routes });
    expect(found.problems).toBe(1);
    expect(found.entries.filter((e) => e.finding === 'missing').map((e) => e.key)).toEqual([victim]);

    // Act + Assess: the CLI, as a scheduler runs it
    const check = await cli('reconcile.ts', []);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`missing         ${victim}`);
    const fix = await cli('reconcile.ts', ['--fix']);
    expect(fix.stderr).not.toMatch(/failed:/);
    expect(fix.code).toBe(1);
    expect(fix.stdout).toContain('replayed 1 object(s)');
    await stack.waitForIdle();

    const after = await reconcile({ s3, wh: warehouse(), bucket: 'landing', routes: stack.config.routes });
    expect(after.problems).toBe(0);
    expect(await rowsOfKey(victim)).toBe(oracle.linesPerKey.get(victim));
    expect(await count('select count(*) as n from raw.transactions')).toBe(oracle.transactions);
    expect((await cli('reconcile.ts', [])).code).toBe(0);
  });
});

describe('redrive', () => {
  it('a poisoned file ends in the DLQ, the ledger says why; after the fixed upload, redrive brings the message back and it settles', async () => {
    // Prepare: not gzip at all
    const key = 'transactions/d=2018-10-11/poison.json.gz';
    await s3.send(
      new PutObjectCommand({ Bucket: 'landing', Key: key, Body: Buffer.from('this is not gzip') }),
    );
    await waitFor(
      'the poisoned message in the DLQ',
      async () => (await depth(stack.queues.client, stack.queues.dlqUrl)) === 1,
    );
    const failedVersion = (await ledgerOf(key))[0]!.version;

    // Act: look without consuming
    const peeked = await peekDlq(stack.queues.client, stack.queues.dlqUrl, { waitTimeSeconds: 0 });
    const explained = await explainMessages(warehouse(), peeked, stack.config.routes);

    // Assess
    expect(explained).toHaveLength(1);
    expect(explained[0]!.objects).toEqual([`${key}@${failedVersion}`]);
    expect(explained[0]!.reason).toMatch(/^failed: /);
    expect(summariseReasons(explained)).toEqual([{ reason: explained[0]!.reason, count: 1 }]);
    expect(await depth(stack.queues.client, stack.queues.dlqUrl)).toBe(1);
    const before = await reconcile({ s3, wh: warehouse(), bucket: 'landing', routes: stack.config.routes });
    expect(before.entries.find((e) => e.key === key)?.finding).toBe('failed');

    // Act: the producer uploads a good file; then redrive
    const good = [
      '{"customer_id": "C1", "basket": [{"product_id": "P03", "price": 5}], "date_of_purchase": "2018-10-11 09:00:00"}',
      '{"customer_id": "C2", "basket": [{"product_id": "P04", "price": 7}], "date_of_purchase": "2018-10-11 10:00:00"}',
    ];
    await s3.send(
      new PutObjectCommand({ Bucket: 'landing', Key: key, Body: zlib.gzipSync(good.join('\n') + '\n') }),
    );
    await stack.waitForIdle();
    const moved = await redrive({
      sqs: stack.queues.client,
      dlqUrl: stack.queues.dlqUrl,
      queueUrl: stack.queues.queueUrl,
      pollMs: 200,
    });
    await waitFor('an empty DLQ', async () => (await depth(stack.queues.client, stack.queues.dlqUrl)) === 0);
    await stack.waitForIdle();

    // Assess: SQS's own move task did it; the stale version settled, the good one is loaded once
    expect(moved).toMatchObject({ method: 'move-task', moved: 1, status: 'COMPLETED' });
    const ledger = await ledgerOf(key);
    expect(ledger.find((r) => r.version === failedVersion)?.status).toBe('superseded');
    expect(ledger.filter((r) => r.status === 'loaded')).toHaveLength(1);
    expect(await rowsOfKey(key)).toBe(good.length);
    expect(
      (await reconcile({ s3, wh: warehouse(), bucket: 'landing', routes: stack.config.routes })).problems,
    ).toBe(0);
  });

  it('a message that failed during an outage is redriven (CLI) after the fix and loads', async () => {
    // Prepare: the outage (a table gone), and a file arriving during it
    const key = 'transactions/d=2018-10-12/late.json';
    const lines = [1, 2, 3].map(
      (n) =>
        `{"customer_id": "C${n}", "basket": [{"product_id": "P0${n}", "price": ${n}}], "date_of_purchase": "2018-10-12 0${n}:00:00"}`,
    );
    await warehouse().execute('alter table raw.transaction_items_appended rename to transaction_items_offline');
    try {
      await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: lines.join('\n') + '\n' }));
      await waitFor(
        'the message in the DLQ',
        async () => (await depth(stack.queues.client, stack.queues.dlqUrl)) === 1,
      );
    } finally {
      // the fix
      await warehouse().execute('alter table raw.transaction_items_offline rename to transaction_items_appended');
    }

    // Act
    const peek = await cli('redrive.ts', ['--peek']);
    const run = await cli('redrive.ts', []);
    await waitFor('an empty DLQ', async () => (await depth(stack.queues.client, stack.queues.dlqUrl)) === 0);
    await stack.waitForIdle();

    // Assess
    expect(peek.code).toBe(0);
    expect(peek.stdout).toContain('messages in the DLQ: 1');
    expect(peek.stdout).toContain(key);
    expect(peek.stdout).toMatch(/1 {2}not in the ledger/);
    expect(peek.stdout).toContain('[peek] nothing moved');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('redriven: 1 message(s)');
    expect(await rowsOfKey(key)).toBe(lines.length);
    expect((await ledgerOf(key)).map((r) => r.status)).toEqual(['loaded']);
  });
});
