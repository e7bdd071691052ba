/**
 * Local stand-in for S3 event notifications to SQS: every object created in the watched bucket
 * becomes a message whose body is what S3 itself would send.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import { s3NotificationBody } from '../../shared/events/s3-notification';
import type { S3rverEvent } from './s3';

let counter = 0;
let lastMs = 0;

/**
 * S3 sequencers are opaque hex that order events for one key. Ours: milliseconds then a counter,
 * so two writes in the same millisecond still order, and a restart never goes backwards.
 */
export function nextSequencer(now = Date.now()): string {
  if (now <= lastMs) counter++;
  else {
    lastMs = now;
    counter = 0;
  }
  return (lastMs.toString(16) + counter.toString(16).padStart(6, '0')).toUpperCase().padStart(18, '0');
}

export interface NotificationTarget {
  region: string;
  /** Only these buckets notify (the landing bucket). */
  buckets: ReadonlySet<string>;
}

/** Build the S3 notification body for one s3rver event, or undefined when it should not notify. */
export function toS3Notification(event: S3rverEvent, target: NotificationTarget): string | undefined {
  const events = event.Records.filter(
    (r) => target.buckets.has(r.s3.bucket.name) && r.eventName.startsWith('ObjectCreated:'),
  ).map((r) => ({
    bucket: r.s3.bucket.name,
    key: r.s3.object.key,
    size: r.s3.object.size ?? 0,
    eTag: (r.s3.object.eTag ?? '').replace(/"/g, ''),
    sequencer: nextSequencer(),
    eventTime: new Date().toISOString(),
    region: target.region,
    // s3rver reports both a completed multipart upload and an HTML-form POST upload as 'Post'
    // (with a whole-object MD5 ETag either way). Nothing local uploads through HTML forms, so
    // it is a multipart completion, which S3 names CompleteMultipartUpload.
    eventName: r.eventName === 'ObjectCreated:Post' ? 'ObjectCreated:CompleteMultipartUpload' : r.eventName,
    source: 'local-stack',
  }));
  return events.length > 0 ? s3NotificationBody(events) : undefined;
}
