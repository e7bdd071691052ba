/**
 * transfer: `transfer_data(source_table, destination_s3_bucket)` as a Lambda.
 *
 *   npx sls invoke local --stage local -f transfer -d '{"source_table":"ORDERS_100K","destination_s3_bucket":"exports"}'
 *   npx sls invoke --stage dev -f transfer -d '{"source_table":"PUBLIC.MOVIE_RATINGS_27M","destination_s3_bucket":"...","mode":"unload"}'
 *
 * Returns `{"file_name": <manifest key>, "row_count": <rows written>, "timestamp": <ISO 8601 UTC>, ...}`.
 * Bad input (an invalid table name, an unknown option) fails before any SQL with an InvalidInputError.
 * Wiring only; the semantics live in shared/transfer/.
 */
import middy from '@middy/core';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';
import { parseTransferRequest, transferData, type TransferResult } from '../shared/transfer';

const log = logger.child({ fn: 'transfer' });

export const transferHandler = async (event: unknown): Promise<TransferResult> => {
  // `sls invoke local -d` may hand over the JSON as a string
  const request = parseTransferRequest(
    typeof event === 'string' && event.trim().startsWith('{') ? JSON.parse(event) : event,
  );
  return transferData(request, { log });
};

export const handler = middy<unknown, TransferResult>(transferHandler).use(invocationLog(log));
