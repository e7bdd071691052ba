/**
 * Event samples and factories shared by the tests and `sls invoke local -p events/...`.
 *
 * Shapes follow what AWS sends:
 * - S3 notification records, eventVersion 2.1, keys URL-encoded as S3 does:
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 * - S3 notifications delivered through SQS to Lambda (the body is the notification as a JSON string):
 *   https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Event, S3EventRecord, SQSEvent, SQSRecord } from 'aws-lambda';
import { encodeS3Key } from '../../shared/events/s3-key';

export const EVENTS_DIR = path.resolve(__dirname, '../../events');

/** The identities the samples use: AWS's documentation account, the local stage's names. */
export const SAMPLE = {
  region: 'eu-west-2',
  account: '123456789012',
  bucket: 'landing',
  queueArn: 'arn:aws:sqs:eu-west-2:123456789012:shopping-patterns-local-ingest',
  /** S3 sends to SQS as this service principal's id. */
  s3SenderId: 'AIDAJHIPRHEMV73VRJEBU',
} as const;

const cache = new Map<string, string>();

/**
 * A sample from events/ (path relative to that folder, e.g. 'sqs/put.json'), freshly parsed: each call
 * returns its own deep copy, so a test may mutate it freely.
 */
export function loadEvent<T = unknown>(relativePath: string): T {
  const file = path.resolve(EVENTS_DIR, relativePath);
  if (!file.startsWith(EVENTS_DIR + path.sep)) throw new Error(`event path escapes events/: ${relativePath}`);
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(file, 'utf8');
    cache.set(file, text);
  }
  return JSON.parse(text) as T;
}

export function md5Hex(text: string | Buffer): string {
  return createHash('md5').update(text).digest('hex');
}

let counter = 0;

/** Restart the ids and sequencers the factories hand out (call in beforeEach for stable values). */
export function resetEventFactories(): void {
  counter = 0;
}

function next(): number {
  return ++counter;
}

/** An 18-digit hex sequencer; later calls give greater values, as S3 does for later writes to a key. */
export function sequencerFor(n: number): string {
  return (0x5f8c0e2a00000000n + BigInt(n)).toString(16).toUpperCase().padStart(18, '0');
}

export interface S3RecordInput {
  /** The object key as stored (decoded); the record carries it URL-encoded. */
  key: string;
  bucket?: string;
  /** Without quotes; defaults to a 32-hex-digit value derived from the key. */
  eTag?: string;
  size?: number;
  sequencer?: string;
  /** Without the 's3:' prefix, as in records: 'ObjectCreated:Put', 'ObjectCreated:CompleteMultipartUpload', ... */
  eventName?: string;
  versionId?: string;
  eventTime?: string;
  region?: string;
}

/** One S3 notification record, shaped as S3 sends it (eventVersion 2.1). */
export function s3Record(input: S3RecordInput): S3EventRecord {
  const n = next();
  const bucket = input.bucket ?? SAMPLE.bucket;
  const requestId = md5Hex(`request-${n}`).slice(0, 16).toUpperCase();
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: input.region ?? SAMPLE.region,
    eventTime: input.eventTime ?? new Date().toISOString(),
    eventName: input.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLEUPLOADER' },
    requestParameters: { sourceIPAddress: '203.0.113.10' },
    responseElements: {
      'x-amz-request-id': requestId,
      'x-amz-id-2': Buffer.from(md5Hex(`host-${n}`) + md5Hex(`id-${n}`), 'hex').toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'landing-object-created',
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: 'A3NL1KOZZKEXAMPLE' },
        arn: `arn:aws:s3:::${bucket}`,
      },
      object: {
        key: encodeS3Key(input.key),
        size: input.size ?? 1024,
        eTag: input.eTag ?? md5Hex(`${bucket}/${input.key}#${n}`),
        ...(input.versionId !== undefined ? { versionId: input.versionId } : {}),
        sequencer: input.sequencer ?? sequencerFor(n),
      },
    },
  };
}

/** The body S3 puts on the queue for these records. */
export function s3NotificationBody(records: S3EventRecord[]): string {
  const event: S3Event = { Records: records };
  return JSON.stringify(event);
}

/** The message S3 sends once when a notification configuration is saved. */
export function s3TestEventBody(bucket: string = SAMPLE.bucket, time = new Date().toISOString()): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: time,
    Bucket: bucket,
    RequestId: md5Hex(`test-${time}`).slice(0, 16).toUpperCase(),
    HostId: Buffer.from(md5Hex(`test-host-${time}`), 'hex').toString('base64'),
  });
}

export interface SqsRecordOptions {
  messageId?: string;
  /** ApproximateReceiveCount: 1 on first delivery, more on redelivery. */
  receiveCount?: number;
  sentTimestamp?: number;
  queueArn?: string;
}

/** An SQS record as Lambda receives it, carrying any body. */
export function sqsRecordWithBody(body: string, opts: SqsRecordOptions = {}): SQSRecord {
  const n = next();
  const sent = opts.sentTimestamp ?? Date.now();
  const queueArn = opts.queueArn ?? SAMPLE.queueArn;
  return {
    messageId: opts.messageId ?? `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    receiptHandle: Buffer.from(`receipt:${queueArn}:${n}:${opts.receiveCount ?? 1}`).toString('base64'),
    body,
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: String(sent),
      SenderId: SAMPLE.s3SenderId,
      ApproximateFirstReceiveTimestamp: String(sent + 3),
    },
    messageAttributes: {},
    md5OfBody: md5Hex(body),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? SAMPLE.region,
  };
}

/** An SQS record whose body is the S3 notification for these records (S3 sends one record per message). */
export function sqsRecordFor(s3Records: S3EventRecord[], opts: SqsRecordOptions = {}): SQSRecord {
  return sqsRecordWithBody(s3NotificationBody(s3Records), opts);
}

/** The event Lambda's SQS event source mapping invokes the function with. */
export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
