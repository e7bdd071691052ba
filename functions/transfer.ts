/**
 * transfer: `transfer_data(source_table, destination_s3_bucket)` as a Lambda, and the backend of
 * stakeholder delivery (shared/delivery/handler.ts: submit, status, verify, dispatch).
 *
 *   npx sls invoke local --stage local -f transfer -d '{"source_table":"ORDERS_100K","destination_s3_bucket":"exports"}'
 *   npx sls invoke --stage dev -f transfer -d '{"source_table":"ORDERS_100K","destination":"acme"}'
 *   npx sls invoke --stage dev -f transfer -d '{"action":"verify","destination":"acme"}'
 *
 * A transfer returns `{"file_name": <manifest key>, "row_count": <rows written>, "timestamp": <ISO 8601 UTC>, ...}`.
 * Bad input (an invalid table name, an unknown option) fails before any SQL with an InvalidInputError.
 * A repeated request (same run_id, or the same content within 15 minutes) returns the first run's
 * result, waiting for it while it runs (shared/publish/claims.ts).
 * Wiring only; the semantics live in shared/transfer/ and shared/delivery/.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { handleTransferEvent, type HandleResult } from '../shared/delivery/handler';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';

const log = logger.child({ fn: 'transfer' });

/** Leave this much of the invocation for reporting when a repeat waits for the first run. */
const WAIT_MARGIN_MS = 15_000;

export const transferHandler = async (event: unknown, context?: Partial<Context>): Promise<HandleResult> => {
  // a repeated invoke (the CLI resends a long synchronous one) waits for the first run as long as it can
  const remaining = context?.getRemainingTimeInMillis?.();
  const waitMs = remaining === undefined ? undefined : Math.max(0, remaining - WAIT_MARGIN_MS);
  return handleTransferEvent(event, { log, waitMs });
};

export const handler = middy<unknown, HandleResult>(transferHandler).use(invocationLog(log));
