/**
 * Local stand-in for S3 event notifications to SQS: every object created in the watched bucket
 * becomes a message whose body is what S3 itself would send.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import { s3NotificationBody } from '../../shared/events/s3-notification';
import type { StoreEvent } from './s3-store';

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

/** Build the S3 notification body for one local S3 event, or undefined when it should not notify. */
export function toS3Notification(event: StoreEvent, target: NotificationTarget): string | undefined {
  if (!target.buckets.has(event.bucket) || !event.eventName.startsWith('ObjectCreated:')) return undefined;
  return s3NotificationBody([
    {
      bucket: event.bucket,
      key: event.key,
      size: event.size,
      eTag: event.eTag,
      // taken when the store committed the object, so they order as the writes did
      sequencer: event.sequencer,
      eventTime: event.eventTime,
      region: target.region,
      eventName: event.eventName,
      source: 'local-stack',
    },
  ]);
}
