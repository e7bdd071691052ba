/**
 * ingest: SQS batches of S3 object-created notifications -> exactly-once loads into the warehouse.
 * Wiring only; the semantics live in shared/ingest/batch.ts.
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { config } from '../shared/config';
import { processBatch } from '../shared/ingest/batch';
import { loaderFor } from '../shared/ingest/loaders';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';
import { warehouse } from '../shared/warehouse';

const log = logger.child({ fn: 'ingest' });

export const ingest = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const { batchItemFailures } = await processBatch(event.Records, {
    loader: loaderFor(warehouse()),
    routes: config().routes,
    log,
  });
  return { batchItemFailures };
};

export const handler = middy<SQSEvent, SQSBatchResponse>(ingest).use(invocationLog(log));
