/**
 * What the transfer function does with an event (functions/transfer.ts is its wiring):
 *
 *   {"source_table": ..., "destination_s3_bucket" | "destination": ..., ...}   run a transfer
 *   {"action": "submit", "request": {...}, "idempotency_key"?, "requested_by"?} queue one (POST /transfers)
 *   {"action": "status", "run_id": "..."}                                       its status (GET /transfers/{run_id})
 *   {"action": "verify", "destination": "..."}                                  npm run destination -- verify
 *   {"action": "dispatch"}                                                      the schedule rule: start due deliveries
 *
 * The transfer function is the one principal that reads destinations, keeps the run records (it
 * holds the warehouse credentials) and writes into stakeholders' buckets; the API function only
 * invokes it, and holds no credentials of its own.
 *
 * submit and status answer what the HTTP API returns (`{status, body}`), expected refusals included
 * (400 bad request, 404, 409 conflict), so the function fails only when something is broken.
 */
import { z } from 'zod';
import { errorMessage, InvalidInputError, PipelineError } from '../errors';
import { logger, type Logger } from '../logger';
import { transferData, type TransferResult } from '../transfer';
import { parseTransferRequestInput } from '../transfer/request';
import { RUN_ID } from '../transfer/names';
import { warehouse } from '../warehouse';
import { formatIssues } from '../zod-issues';
import { dispatchSchedules, type DispatchResult } from './dispatch';
import { recordRunError, runStatus } from './runs';
import { submitTransfer } from './submit';
import { verifyDestination, type VerifyReport } from './verify';

/** An HTTP answer for the API to relay. */
export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

const actionSchema = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('submit'),
      request: z.unknown(),
      idempotency_key: z.string().optional(),
      requested_by: z.string().max(2048).optional(),
    })
    .strict(),
  z.object({ action: z.literal('status'), run_id: z.string() }).strict(),
  z.object({ action: z.literal('verify'), destination: z.string() }).strict(),
  z.object({ action: z.literal('dispatch') }).strict(),
]);

export interface HandleOptions {
  log?: Logger;
  /** How long a repeated transfer may wait for its first run (the invocation's remaining time). */
  waitMs?: number;
}

export type HandleResult = TransferResult | ApiAnswer | VerifyReport | DispatchResult;

export async function handleTransferEvent(event: unknown, opts: HandleOptions): Promise<HandleResult> {
  const log = opts.log ?? logger;
  // `sls invoke local -d` may hand over the JSON as a string
  const e = typeof event === 'string' && event.trim().startsWith('{') ? (JSON.parse(event) as unknown) : event;
  if (e && typeof e === 'object' && 'action' in e) {
    const parsed = actionSchema.safeParse(e);
    if (!parsed.success) throw new InvalidInputError(`invalid event: ${formatIssues(parsed.error, '(event)')}`);
    const a = parsed.data;
    switch (a.action) {
      case 'submit':
        return submit(a.request, a.idempotency_key, a.requested_by, log);
      case 'status':
        return status(a.run_id);
      case 'verify':
        return verifyDestination(a.destination);
      case 'dispatch':
        return dispatchSchedules({ log });
    }
  }
  const input = parseTransferRequestInput(e);
  try {
    return await transferData(input, { log, waitMs: opts.waitMs, origin: 'invoke' });
  } catch (err) {
    // a run asked for through the API or a schedule shows why it did not run, even when it failed
    // before it claimed (the destination refused); the claim records later failures itself
    if (input.run_id) {
      await recordRunError(warehouse(), input.run_id, errorMessage(err)).catch((recordErr: unknown) =>
        log.warn('could not record the run error', { error: errorMessage(recordErr) }),
      );
    }
    throw err;
  }
}

function refused(err: unknown): ApiAnswer | undefined {
  if (err instanceof InvalidInputError) return { status: 400, body: { error: 'bad_request', message: err.message } };
  if (err instanceof PipelineError && err.retryable) return { status: 503, body: { error: 'unavailable', message: err.message } };
  return undefined;
}

async function submit(request: unknown, key: string | undefined, requestedBy: string | undefined, log: Logger): Promise<ApiAnswer> {
  try {
    const outcome = await submitTransfer(request, { origin: 'api', idempotencyKey: key, requestedBy, retryFailed: true, log });
    if (outcome.kind === 'conflict') return { status: 409, body: { error: 'conflict', run_id: outcome.runId, message: outcome.message } };
    const location = `/transfers/${outcome.status.run_id}`;
    const done = outcome.status.status === 'succeeded' || outcome.status.status === 'failed';
    return {
      status: outcome.kind === 'accepted' || !done ? 202 : 200,
      headers: { location },
      body: { ...outcome.status, status_url: location },
    };
  } catch (err) {
    const answer = refused(err);
    if (answer) return answer;
    throw err;
  }
}

async function status(runId: string): Promise<ApiAnswer> {
  if (!RUN_ID.test(runId)) return { status: 400, body: { error: 'bad_request', message: 'run_id must be letters, digits, _ . - (max 100)' } };
  const found = await runStatus(warehouse(), runId);
  if (!found) return { status: 404, body: { error: 'not_found', message: `no transfer run ${runId}` } };
  return { status: 200, body: { ...found } };
}
