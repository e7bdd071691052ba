/**
 * ingest: SQS batches of S3 object-created notifications -> exactly-once loads into the warehouse.
 * Wiring only; the semantics live in shared/ingest/ (batch.ts, flow.ts).
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { config } from '../shared/config';
import { defaultRegistry, type DatasetRegistry } from '../shared/datasets';
import { processBatch, type SqsRecordLike } from '../shared/ingest/batch';
import { landingFor } from '../shared/ingest/landing';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';
import { warehouse } from '../shared/warehouse';

const log = logger.child({ fn: 'ingest' });

let sqs: SQSClient | undefined;

/**
 * A pending (Snowpipe) record comes back after `delaySeconds` instead of the queue's whole visibility
 * timeout. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
 */
export async function delay(record: SqsRecordLike, delaySeconds: number): Promise<void> {
  const { url } = config().queue;
  if (!url || !record.receiptHandle) return;
  sqs ??= new SQSClient({ region: config().region });
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delaySeconds }));
}

/** The handler for a registry of datasets (the default one in Lambda; tests and extensions their own). */
export function createIngest(registry: DatasetRegistry = defaultRegistry) {
  let limited: DatasetRegistry | undefined;
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const cfg = config();
    limited ??= registry.withLimits(cfg.ingest.limits);
    const wh = warehouse();
    const { batchItemFailures } = await processBatch(event.Records, {
      wh,
      landing: () => landingFor(wh),
      registry: limited,
      routes: registry === defaultRegistry ? cfg.routes : registry.routes(),
      buckets: [cfg.buckets.landing],
      log,
      guard: cfg.ingest.guard,
      remainingMs: context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis() : undefined,
      reserveMs: cfg.ingest.reserveMs,
      onPending: delay,
    });
    return { batchItemFailures };
  };
}

export const ingest = createIngest();

export const handler = middy<SQSEvent, SQSBatchResponse>(ingest).use(invocationLog(log));
