/**
 * The S3-in-SQS envelope, validated with zod before anything touches the warehouse.
 * Shapes: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 * (the same schema powertools uses in packages/parser/src/schemas/s3.ts).
 */
import { z } from 'zod';
import { formatIssues } from '../zod-issues';
import { routeKey } from './routing';
import { decodeS3Key, encodeS3Key } from './s3-key';
import type { Route } from '../config';
import type { FileUnit } from '../ingest/types';
import { stripEtag } from '../storage/object-store';
import { unitVersion } from '../ingest/ledger';

const s3EventRecord = z.object({
  eventVersion: z.string(),
  eventSource: z.literal('aws:s3'),
  awsRegion: z.string(),
  eventTime: z.iso.datetime({ offset: true }),
  eventName: z.string(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().min(1),
    }),
  }),
});

const s3Notification = z.object({ Records: z.array(s3EventRecord).min(1) });

/** Sent once when a notification configuration is created. https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html */
const s3TestEvent = z.object({ Event: z.literal('s3:TestEvent'), Bucket: z.string(), Service: z.literal('Amazon S3') });

export type S3EventRecord = z.infer<typeof s3EventRecord>;

/** What one SQS message body means to ingest. */
export type ParsedMessage =
  | { kind: 'test' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'files'; units: FileUnit[]; ignored: { key: string; reason: string }[] };

export function parseMessageBody(body: string, routes: readonly Route[], receiveCount = 1): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: 'invalid', reason: 'body is not JSON' };
  }
  if (s3TestEvent.safeParse(json).success) return { kind: 'test' };
  const parsed = s3Notification.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: `not an S3 event notification (${formatIssues(parsed.error, 'body')})` };
  const units: FileUnit[] = [];
  const ignored: { key: string; reason: string }[] = [];
  for (const record of parsed.data.Records) {
    let key: string;
    try {
      key = decodeS3Key(record.s3.object.key);
    } catch {
      return { kind: 'invalid', reason: `object key is not valid URL encoding: ${record.s3.object.key}` };
    }
    if (!record.eventName.startsWith('ObjectCreated:')) {
      ignored.push({ key, reason: `event ${record.eventName} is not an object creation` });
      continue;
    }
    const dataset = routeKey(key, routes);
    if (!dataset) {
      ignored.push({ key, reason: 'key matches no dataset route' });
      continue;
    }
    const etag = stripEtag(record.s3.object.eTag ?? '');
    const versionId = record.s3.object.versionId || undefined;
    units.push({
      bucket: record.s3.bucket.name,
      key,
      version: unitVersion(versionId, etag, record.s3.object.sequencer),
      versionId,
      etag,
      sequencer: record.s3.object.sequencer,
      eventTime: new Date(record.eventTime).toISOString(),
      size: record.s3.object.size ?? 0,
      dataset,
      receiveCount,
    });
  }
  return { kind: 'files', units, ignored };
}

/** One object-created event, in the terms S3 notification records use. */
export interface ObjectCreatedEvent {
  bucket: string;
  /** The object key as stored (decoded); the record carries it URL-encoded as S3 does. */
  key: string;
  size: number;
  eTag: string;
  versionId?: string;
  sequencer: string;
  eventTime: string;
  region: string;
  eventName?: string;
  /** Who produced the event: shows in userIdentity and configurationId (e.g. 'local-stack', 'ops-replay'). */
  source: string;
}

/**
 * The body S3 puts on the queue for these events (event version 2.1), for the local stack's
 * notifications and for replays: one shape, the one parseMessageBody reads.
 */
export function s3NotificationBody(events: readonly ObjectCreatedEvent[]): string {
  return JSON.stringify({
    Records: events.map((e) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: e.region,
      eventTime: e.eventTime,
      eventName: e.eventName ?? 'ObjectCreated:Put',
      userIdentity: { principalId: `AWS:${e.source}` },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': e.source.toUpperCase(), 'x-amz-id-2': e.source.toUpperCase() },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: e.source,
        bucket: { name: e.bucket, ownerIdentity: { principalId: e.source.toUpperCase() }, arn: `arn:aws:s3:::${e.bucket}` },
        object: {
          key: encodeS3Key(e.key),
          size: e.size,
          eTag: e.eTag,
          ...(e.versionId ? { versionId: e.versionId } : {}),
          sequencer: e.sequencer,
        },
      },
    })),
  });
}
