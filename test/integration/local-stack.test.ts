/**
 * The embedded stack's SQS semantics, on loopback: a put into `landing` reaches the handler as one
 * S3-notification-shaped SQS record; a record reported in batchItemFailures is redelivered; after
 * maxReceiveCount receives it is in the DLQ.
 */
import fs from 'node:fs';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { decodeS3Key } from '../../shared/events/s3-key';
import { createS3Client } from '../../shared/storage/object-store';
import { startStack, type Stack } from '../../local/stack';
import type { StackInfo } from '../../shared/warehouse/remote';
import { scratchDir } from '../support/factories';

jest.setTimeout(60_000);

describe('local stack: S3 notifications through a queue with SQS semantics', () => {
  let stack: Stack;
  let remove: () => void;
  let dir: string;
  const received: SQSEvent[] = [];
  let failKeys = new Set<string>();

  beforeAll(async () => {
    const scratch = scratchDir();
    remove = scratch.remove;
    dir = scratch.dir;
    stack = await startStack({
      dir: scratch.dir,
      s3Port: 0,
      sqsPort: 0,
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 3,
      batchWindowMs: 100,
      handler: async (event): Promise<SQSBatchResponse> => {
        received.push(event);
        const failures = event.Records.filter((r) => {
          const body = JSON.parse(r.body) as { Records: { s3: { object: { key: string } } }[] };
          return failKeys.has(decodeS3Key(body.Records[0]!.s3.object.key));
        }).map((r) => ({ itemIdentifier: r.messageId }));
        return { batchItemFailures: failures };
      },
    });
  });
  afterAll(async () => {
    await stack.stop();
    remove();
  });
  beforeEach(() => {
    received.length = 0;
    failKeys = new Set();
  });

  const put = (key: string, body = 'customer_id,loyalty_score\n') =>
    createS3Client(stack.config).send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));

  it('delivers one correctly shaped SQS record per object created, key URL-encoded as S3 does', async () => {
    // Act
    const key = 'starter/day one+x%.csv';
    const { ETag } = await put(key, 'hello');
    await stack.waitForIdle();
    // Assess
    const records = received.flatMap((e) => e.Records);
    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(record).toMatchObject({ eventSource: 'aws:sqs', attributes: { ApproximateReceiveCount: '1' } });
    const notification = JSON.parse(record.body) as {
      Records: { eventName: string; eventTime: string; s3: { bucket: { name: string }; object: { key: string; eTag: string; size: number; sequencer: string } } }[];
    };
    expect(notification.Records).toHaveLength(1);
    const s3 = notification.Records[0]!;
    expect(s3).toMatchObject({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' });
    expect(s3.s3.bucket.name).toBe('landing');
    expect(s3.s3.object.key).toBe('starter/day+one%2Bx%25.csv');
    expect(s3.s3.object.eTag).toBe(ETag!.replace(/"/g, ''));
    expect(s3.s3.object.size).toBe(5);
    expect(s3.s3.object.sequencer).toMatch(/^[0-9A-F]{18}$/);
    expect(Number.isNaN(Date.parse(s3.eventTime))).toBe(false);
  });

  it('does not notify for objects written to the exports bucket', async () => {
    await createS3Client(stack.config).send(new PutObjectCommand({ Bucket: 'exports', Key: 'x.json', Body: '{}' }));
    await stack.waitForIdle();
    expect(received).toHaveLength(0);
  });

  it('redelivers a failed record until maxReceiveCount, then it is in the DLQ; the good record is not redelivered', async () => {
    // Prepare
    failKeys = new Set(['poison.csv']);
    // Act
    await put('poison.csv');
    await put('fine.csv');
    const deadline = Date.now() + 20_000;
    let dead: string[] = [];
    while (Date.now() < deadline && dead.length === 0) {
      await new Promise((r) => setTimeout(r, 300));
      const res = await stack.queues.client.send(
        new ReceiveMessageCommand({ QueueUrl: stack.queues.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      dead = (res.Messages ?? []).map((m) => decodeS3Key(JSON.parse(m.Body!).Records[0].s3.object.key));
    }
    await stack.waitForIdle();
    // Assess
    const deliveries = received.flatMap((e) => e.Records).map((r) => ({
      key: decodeS3Key(JSON.parse(r.body).Records[0].s3.object.key),
      count: r.attributes.ApproximateReceiveCount,
    }));
    expect(dead).toEqual(['poison.csv']);
    expect(deliveries.filter((d) => d.key === 'poison.csv').map((d) => d.count)).toEqual(['1', '2', '3']);
    expect(deliveries.filter((d) => d.key === 'fine.csv')).toHaveLength(1);
  });

  it('survives what a client may send: a 1,001-byte key, ../ keys, garbage to SQS and the warehouse', async () => {
    // Act: valid S3 requests that used to crash the stack or write outside its directory
    const keys = ['k'.repeat(1001) + '.csv', '../../escaped.csv', '.../../customers.csv', 'customers.csv'];
    for (const key of keys) await put(key, `${key.length}\n`);
    // and garbage to the queue and the warehouse endpoint
    const sqsNull = await fetch(stack.queues.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' },
      body: 'null',
    });
    const sqsNoTarget = await fetch(stack.queues.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0' }, body: '{}' });
    const whNoToken = await fetch(`${stack.warehouseUrl}/v1/execute`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"sql":"select 1"}' });
    await stack.waitForIdle();

    // Assess: every part still answers, every object was announced under its real key
    expect([sqsNull.status, sqsNoTarget.status, whNoToken.status]).toEqual([400, 400, 401]);
    await createS3Client(stack.config).send(new HeadBucketCommand({ Bucket: 'landing' }));
    await stack.queues.client.send(new GetQueueAttributesCommand({ QueueUrl: stack.queues.queueUrl, AttributeNames: ['All'] }));
    const { warehouseToken } = JSON.parse(fs.readFileSync(`${dir}/stack.json`, 'utf8')) as StackInfo;
    const ping = await fetch(`${stack.warehouseUrl}/v1/ping`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${warehouseToken}` },
      body: '{}',
    });
    expect(await ping.json()).toEqual({ ok: true, engine: 'duckdb' });
    const delivered = received.flatMap((e) => e.Records).map((r) => decodeS3Key(JSON.parse(r.body).Records[0].s3.object.key));
    expect(delivered.sort()).toEqual([...keys].sort());
    // and nothing was written beside the stack's own files
    expect(fs.readdirSync(dir).filter((f) => /escaped|customers|kkkk/.test(f))).toEqual([]);
    expect(fs.readdirSync(`${dir}/..`).filter((f) => /escaped|customers/.test(f))).toEqual([]);
  });
});
