/**
 * A corpus of bad and awkward files, each with its expected outcome, through the local stack.
 * The accounting must hold: every non-blank input line is either loaded or quarantined, counted.
 */
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { decodeS3Key } from '../../shared/events/s3-key';
import { createS3Client } from '../../shared/storage/object-store';
import { warehouse } from '../../shared/warehouse';
import { startStack, type Stack } from '../../local/stack';
import { scratchDir } from '../support/factories';
import { sendBodies } from '../support/landing';

jest.setTimeout(120_000);

const t = (customer: string, items: [string, unknown][], date = '2020-02-01 10:00:00') =>
  JSON.stringify({ customer_id: customer, basket: items.map(([product_id, price]) => ({ product_id, price })), date_of_purchase: date });

interface Case {
  key: string;
  body: Buffer | string;
  ledger?: { status: string; rows_loaded: number; rows_quarantined: number };
  quarantine?: [number, string][];
  dlq?: boolean;
}

const CORPUS: Case[] = [
  {
    key: 'transactions/d=2020-02-01/mixed.json',
    body: [
      t('C1', [['P01', 10]]),
      '{"customer_id": "C2", "basket": [',
      JSON.stringify({ basket: [{ product_id: 'P01', price: 1 }], date_of_purchase: '2020-02-01 10:00:00' }),
      t('C3', [['P01', 'ten']]),
      t('C4', [['P01', 1]], '2020-02-30 10:00:00'),
      JSON.stringify({ customer_id: 'C5', date_of_purchase: '2020-02-01 10:00:00' }),
      JSON.stringify({ customer_id: 'C6', basket: [{ product_id: 'P01', price: 1 }, { price: 2 }], date_of_purchase: '2020-02-01 10:00:00' }),
      '',
      t('C7', [['P02', 5], ['P02', 6]]),
    ].join('\n'),
    ledger: { status: 'loaded', rows_loaded: 2, rows_quarantined: 6 },
    quarantine: [
      [2, 'invalid JSON'],
      [3, 'missing customer_id'],
      [4, 'basket item 1 has non-numeric price'],
      [5, 'invalid date_of_purchase'],
      [6, 'missing basket'],
      [7, 'basket item 2 without product_id'],
    ],
  },
  {
    key: 'transactions/d=2020-02-02/compressed.jsonl.gz',
    body: gzipSync([t('C1', [['P03', 3]]), t('C2', [['P04', 4]])].join('\n') + '\n'),
    ledger: { status: 'loaded', rows_loaded: 2, rows_quarantined: 0 },
  },
  { key: 'transactions/d=2020-02-03/empty.json', body: '', ledger: { status: 'loaded', rows_loaded: 0, rows_quarantined: 0 } },
  {
    key: 'transactions/d=2020-02-04/corrupt.json.gz',
    body: Buffer.concat([gzipSync(t('C1', [['P01', 1]])).subarray(0, 15), Buffer.from('not the rest')]),
    ledger: { status: 'failed', rows_loaded: 0, rows_quarantined: 0 },
    dlq: true,
  },
  {
    key: 'starter/customers.csv',
    body: '\ufeffcustomer_id,loyalty_score\r\nC1,7\r\nC2,x\r\nC3,4,4\r\nC4,10\r\n',
    ledger: { status: 'loaded', rows_loaded: 2, rows_quarantined: 2 },
    quarantine: [
      [3, 'loyalty_score is not an integer'],
      [4, 'expected 2 columns, found 3'],
    ],
  },
  {
    key: 'products.csv',
    body: 'product_id,product_description,product_category\r\n',
    ledger: { status: 'loaded', rows_loaded: 0, rows_quarantined: 0 },
  },
  { key: 'notes/readme.txt', body: 'not data' },
];

describe('ingest corpus: every bad input gets its outcome, nothing is lost', () => {
  let stack: Stack;
  let scratch: ReturnType<typeof scratchDir>;
  const dead: string[] = [];

  beforeAll(async () => {
    scratch = scratchDir();
    stack = await startStack({
      dir: path.join(scratch.dir, 'stack'),
      s3Port: 0,
      sqsPort: 0,
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 2,
      batchWindowMs: 100,
    });
    const s3 = createS3Client(stack.config);
    for (const c of CORPUS) await s3.send(new PutObjectCommand({ Bucket: 'landing', Key: c.key, Body: Buffer.from(c.body) }));
    await sendBodies(stack.queues.client, stack.queues.queueUrl, ['{"hello": "not an S3 event"}', 'plain text']);
    await sendBodies(stack.queues.client, stack.queues.queueUrl, [
      JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: 'landing' }),
    ]);
    await stack.waitForIdle({ timeoutMs: 60_000, settleMs: 2500 });
    for (;;) {
      const res = await stack.queues.client.send(
        new ReceiveMessageCommand({ QueueUrl: stack.queues.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (!res.Messages?.length) break;
      for (const m of res.Messages) {
        try {
          dead.push(decodeS3Key(JSON.parse(m.Body!).Records[0].s3.object.key));
        } catch {
          dead.push(`junk:${m.Body}`);
        }
      }
    }
  });
  afterAll(async () => {
    await stack.stop();
    scratch.remove();
  });

  it.each(CORPUS.filter((c) => c.ledger).map((c) => [c.key, c] as const))('%s', async (key, c) => {
    const rows = await warehouse().query<{ status: string; rows_loaded: number; rows_quarantined: number }>(
      `select status, rows_loaded, rows_quarantined from raw.file_ledger where key = ?`,
      [key],
    );
    expect(rows).toEqual([c.ledger]);
    const quarantined = await warehouse().query<{ line_number: number; reason: string }>(
      `select line_number, reason from raw.quarantine where key = ? order by line_number`,
      [key],
    );
    expect(quarantined.map((q) => [q.line_number, q.reason])).toEqual(c.quarantine ?? []);
    expect(dead.includes(key)).toBe(Boolean(c.dlq));
  });

  it('records why an unreadable file failed', async () => {
    const [row] = await warehouse().query<{ first_error: string; attempts: number }>(
      `select first_error, attempts from raw.file_ledger where key = ?`,
      ['transactions/d=2020-02-04/corrupt.json.gz'],
    );
    expect(row!.first_error).toMatch(/corrupt gzip/);
    expect(row!.attempts).toBe(2);
  });

  it('acknowledges unrouted keys and test events; sends messages that are not S3 notifications to the DLQ', async () => {
    const [row] = await warehouse().query<{ n: number }>(`select count(*) as n from raw.file_ledger where key = 'notes/readme.txt'`);
    expect(Number(row!.n)).toBe(0);
    expect(dead.filter((d) => d.startsWith('junk:')).sort()).toEqual(['junk:plain text', 'junk:{"hello": "not an S3 event"}']);
    expect(dead).not.toContain('notes/readme.txt');
    expect(dead).toHaveLength(3);
  });

  it('accounts for every non-blank input line: loaded or quarantined', async () => {
    for (const c of CORPUS.filter((x) => x.ledger?.status === 'loaded')) {
      const text = Buffer.isBuffer(c.body) && c.body[0] === 0x1f ? gunzipSync(c.body).toString() : String(c.body);
      const lines = text.replace(/^\ufeff/, '').split(/\r?\n/).filter((l: string) => l.trim() !== '');
      const dataLines = c.key.endsWith('.csv') ? lines.length - 1 : lines.length;
      const [row] = await warehouse().query<{ loaded: number; quarantined: number }>(
        `select rows_loaded as loaded, (select count(*) from raw.quarantine q where q.key = l.key) as quarantined
           from raw.file_ledger l where key = ?`,
        [c.key],
      );
      expect(Number(row!.loaded) + Number(row!.quarantined)).toBe(Math.max(0, dataLines));
    }
  });
});
