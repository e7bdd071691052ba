/**
 * Test helpers around a running local stack: put files into the landing bucket, send raw
 * notifications, read the warehouse. Independent of the product's upload CLI on purpose.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeS3Key } from '../../shared/events/s3-key';

export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

export async function putTree(client: S3Client, root: string, bucket = 'landing', prefix = ''): Promise<string[]> {
  const keys = listFiles(root);
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map((key) =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + key, Body: fs.readFileSync(path.join(root, key)) })),
      ),
    );
  }
  return keys.map((k) => prefix + k);
}

/** An S3 notification body for an object as it is now (HEAD for its ETag and size). */
export async function notificationFor(client: S3Client, bucket: string, key: string, sequencer: string): Promise<string> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'eu-west-2',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodeS3Key(key), size: head.ContentLength, eTag: head.ETag?.replace(/"/g, ''), sequencer },
        },
      },
    ],
  });
}

export async function sendBodies(client: SQSClient, queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody })),
      }),
    );
  }
}

/** Deterministic shuffle (mulberry32), so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * The bodies of `n` messages waiting in the queue (the stack's own notifications, with their genuine
 * sequencers), left in the queue: each is received once (hidden meanwhile, so none is received twice
 * and pushed towards the DLQ), then made visible again.
 */
export async function queuedBodies(client: SQSClient, queueUrl: string, n: number, timeoutMs = 20_000): Promise<string[]> {
  const seen = new Map<string, { body: string; receipt: string }>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < n && Date.now() < deadline) {
    const res = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1 }));
    for (const m of res.Messages ?? []) if (m.MessageId && m.Body && m.ReceiptHandle) seen.set(m.MessageId, { body: m.Body, receipt: m.ReceiptHandle });
  }
  for (const { receipt } of seen.values()) {
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: 0 }));
  }
  if (seen.size < n) throw new Error(`expected ${n} queued messages, saw ${seen.size}`);
  return [...seen.values()].map((m) => m.body);
}
