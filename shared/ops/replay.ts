/**
 * Replay / backfill: enqueue S3-notification-shaped messages for objects already in the landing
 * bucket, so they load through the normal path (queue -> ingest -> ledger). The ledger keeps it
 * exactly once: a version already loaded is a no-op, so replaying too much is harmless.
 *
 * Messages are what S3 would have sent (one record per message, key URL-encoded the way S3 does,
 * eventVersion 2.1), with `configurationId: "ops-replay"` so logs can tell them apart.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 *
 * Event time and sequencer come from the object's LastModified, never from the replay's clock:
 *   - eventTime is the object's arrival, which the freshness test and the arrival-to-build lag read
 *     from the ledger; a replay must not make old data look fresh;
 *   - the sequencer orders events for one key ("newest sequencer wins", shared/ingest/ledger.ts).
 *     Built from LastModified, it is never greater than the sequencer of a genuine event for a
 *     version written later, so a replayed old version cannot beat a newer one. Two more guards
 *     stand behind it: both loaders compare the event's ETag with the object's current one and
 *     settle a stale version as superseded, and a version the ledger already holds is a duplicate.
 *   - Form: locally, the stack's own sequencers are milliseconds then a counter
 *     (local/stack/notifications.ts), so the replay uses LastModified's milliseconds and counter 0.
 *     In AWS, sequencers are opaque hex that compare after left-padding; observed values carry the
 *     event's Unix seconds after two leading zeros (e.g. 0055AED6DC... = July 2015), so the replay
 *     uses "00" + LastModified's seconds + zeros, which sorts at or below any genuine event of the
 *     same second or later. That layout is an observation, not a documented contract: the ETag and
 *     ledger guards above are what correctness rests on.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Route } from '../config';
import { s3NotificationBody } from '../events/s3-notification';
import { collect, listLanding, selectObjects, type RoutedObject } from './landing';

export type SequencerStyle = 'local' | 'aws';

/** A sequencer at or below every genuine event for this object version or a later one (see above). */
export function replaySequencer(lastModified: Date, style: SequencerStyle): string {
  const ms = lastModified.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`invalid LastModified: ${String(lastModified)}`);
  if (style === 'local') return (ms.toString(16) + '000000').toUpperCase().padStart(18, '0');
  return (
    '00' +
    Math.floor(ms / 1000)
      .toString(16)
      .padStart(8, '0') +
    '00000000'
  ).toUpperCase();
}

export interface NotificationContext {
  bucket: string;
  region: string;
  style: SequencerStyle;
}

/** The SQS body S3 would have sent for this object (one record). */
export function replayNotification(
  o: RoutedObject | Omit<RoutedObject, 'dataset'>,
  ctx: NotificationContext,
): string {
  return s3NotificationBody([
    {
      bucket: ctx.bucket,
      key: o.key,
      size: o.size,
      eTag: o.etag,
      versionId: o.versionId,
      sequencer: replaySequencer(o.lastModified, ctx.style),
      eventTime: o.lastModified.toISOString(),
      region: ctx.region,
      source: 'ops-replay',
    },
  ]);
}

export interface SendResult {
  sent: number;
  failed: { index: number; code: string; message: string }[];
}

/**
 * SendMessageBatch in chunks of 10 (the API's maximum). Entries the service rejects with a
 * non-sender fault are retried once; what still fails is reported, never dropped silently.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
export async function sendBodies(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly string[],
  onProgress?: (sent: number, total: number) => void,
): Promise<SendResult> {
  const result: SendResult = { sent: 0, failed: [] };
  for (let start = 0; start < bodies.length; start += 10) {
    let pending = bodies.slice(start, start + 10).map((body, j) => ({ index: start + j, body }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const res = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((p) => ({ Id: String(p.index), MessageBody: p.body })),
        }),
      );
      result.sent += res.Successful?.length ?? 0;
      const retry: typeof pending = [];
      for (const f of res.Failed ?? []) {
        const entry = pending.find((p) => String(p.index) === f.Id);
        if (!entry) continue;
        if (!f.SenderFault && attempt < 2) retry.push(entry);
        else result.failed.push({ index: entry.index, code: f.Code ?? 'Unknown', message: f.Message ?? '' });
      }
      pending = retry;
    }
    onProgress?.(result.sent, bodies.length);
  }
  return result;
}

export interface ReplayOptions {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  queueUrl: string;
  region: string;
  routes: readonly Route[];
  style: SequencerStyle;
  prefix?: string;
  /** Only objects last modified at or after this instant. */
  since?: Date;
  versioned?: boolean;
  dryRun?: boolean;
  /** Replay exactly these objects instead of listing (reconcile --fix). */
  objects?: RoutedObject[];
  onProgress?: (sent: number, total: number) => void;
}

export interface ReplayResult {
  listed: number;
  selected: RoutedObject[];
  unrouted: string[];
  older: number;
  sent: number;
  failed: SendResult['failed'];
  dryRun: boolean;
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  let selected: RoutedObject[];
  let listed: number;
  let unrouted: string[] = [];
  let older = 0;
  if (opts.objects) {
    selected = opts.objects;
    listed = selected.length;
  } else {
    const objects = await collect(
      listLanding(opts.s3, opts.bucket, { prefix: opts.prefix, versioned: opts.versioned }),
    );
    const selection = selectObjects(objects, opts.routes, opts.since);
    listed = objects.length;
    selected = selection.routed;
    unrouted = selection.unrouted;
    older = selection.older;
  }
  const base = { listed, selected, unrouted, older, dryRun: Boolean(opts.dryRun) };
  if (opts.dryRun || selected.length === 0) return { ...base, sent: 0, failed: [] };
  const ctx = { bucket: opts.bucket, region: opts.region, style: opts.style };
  const bodies = selected.map((o) => replayNotification(o, ctx));
  const sent = await sendBodies(opts.sqs, opts.queueUrl, bodies, opts.onProgress);
  return { ...base, sent: sent.sent, failed: sent.failed };
}
