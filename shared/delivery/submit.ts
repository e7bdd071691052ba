/**
 * Asking for a transfer that runs asynchronously: `POST /transfers` and the scheduled deliveries take
 * this one path, so a scheduled run is recorded exactly as a requested one.
 *
 * 1. validate the request and resolve its destination (shared/delivery/resolve.ts): a bad request
 *    or an unknown destination is refused here, before anything is recorded;
 * 2. the run id: the request's `run_id`; else one derived from the Idempotency-Key and the caller
 *    (the same key from the same caller is the same run); else a new one;
 * 3. record the run (shared/delivery/runs.ts) under the claims' lock: a run id already used for a
 *    different request is a conflict; the same request again is the same run;
 * 4. start it (an asynchronous invocation of the transfer function) when it is new, when its last
 *    attempt failed and the caller asks again (`retryFailed`), or when it was started long ago and
 *    never claimed (a lost event). Starting a run twice is harmless: the run claims let one write.
 */
import crypto from 'node:crypto';
import { config, type Config } from '../config';
import { errorMessage, InvalidInputError, TransientError } from '../errors';
import { logger, type Logger } from '../logger';
import { newTransferRunId, parseTransferRequestInput } from '../transfer/request';
import { runIdentity } from '../transfer/run';
import { warehouse as defaultWarehouse } from '../warehouse';
import { parseTableName, tableLabel } from '../warehouse/identifiers';
import type { Warehouse } from '../warehouse/port';
import { transferFunction, type TransferFunction } from './invoke';
import { resolveTransfer } from './resolve';
import { markDispatched, readRun, recordRun, recordRunError, deriveStatus, type RunOrigin, type RunStatus } from './runs';
import type { DestinationStore } from './store';

/**
 * A run accepted but never claimed after this long was lost on its way: start it again. Lambda keeps
 * an asynchronous event it cannot run yet (throttling) for up to the function's maximumEventAge, an
 * hour (serverless.yml), so before that the event may still come.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
 */
export const LOST_START_MS = 65 * 60_000;

export interface SubmitOptions {
  origin: RunOrigin;
  /** Who asked: the caller's IAM ARN (API), the schedule (dispatcher). */
  requestedBy?: string;
  idempotencyKey?: string;
  /** Start a run whose last attempt failed again (a client asking again); schedules do not. */
  retryFailed: boolean;
  config?: Config;
  warehouse?: Warehouse;
  store?: DestinationStore;
  transfer?: TransferFunction;
  now?: () => Date;
  log?: Logger;
}

export type SubmitOutcome =
  | { kind: 'accepted'; status: RunStatus }
  | { kind: 'repeated'; status: RunStatus; restarted: boolean }
  | { kind: 'conflict'; runId: string; message: string };

/** Idempotency keys: printable ASCII, as HTTP header values are, up to 255 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The run id of an Idempotency-Key, per caller: `k-` and 40 hex digits of SHA-256(caller, key). */
export function runIdForKey(key: string, caller: string | undefined): string {
  return `k-${crypto.createHash('sha256').update(`${caller ?? ''}\n${key}`).digest('hex').slice(0, 40)}`;
}

export async function submitTransfer(request: unknown, opts: SubmitOptions): Promise<SubmitOutcome> {
  const cfg = opts.config ?? config();
  const now = opts.now ?? (() => new Date());
  const log = (opts.log ?? logger).child({ component: 'submit' });
  const input = parseTransferRequestInput(request);
  if (opts.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(opts.idempotencyKey)) {
    throw new InvalidInputError('Idempotency-Key must be 1-255 printable ASCII characters');
  }
  if (opts.idempotencyKey !== undefined && input.run_id !== undefined && opts.idempotencyKey !== input.run_id) {
    throw new InvalidInputError('the Idempotency-Key and the request\'s run_id differ: give one of them, or the same value');
  }
  const runId =
    input.run_id ?? (opts.idempotencyKey !== undefined ? runIdForKey(opts.idempotencyKey, opts.requestedBy) : newTransferRunId(now()));
  const asked = { ...(request as Record<string, unknown>), run_id: runId };
  const { req } = await resolveTransfer(asked, { config: cfg, store: opts.store });
  const table = parseTableName(req.source_table);
  const { requestKey, fingerprint } = runIdentity(req, runId, tableLabel(table));
  const wh = opts.warehouse ?? defaultWarehouse();
  const fn = opts.transfer ?? transferFunction(cfg);

  const recorded = await recordRun(
    wh,
    {
      runId,
      requestKey,
      fingerprint,
      destination: req.destination,
      sourceTable: req.source_table,
      bucket: req.destination_s3_bucket,
      origin: opts.origin,
      requestedBy: opts.requestedBy,
      request: asked,
    },
    now(),
  );
  if (recorded.kind === 'conflict') {
    return { kind: 'conflict', runId, message: `run_id ${runId} was already used for a different request; use a new run_id or Idempotency-Key` };
  }

  const start = async () => {
    await markDispatched(wh, runId, requestKey, now());
    try {
      await fn.start(asked);
    } catch (err) {
      await recordRunError(wh, runId, `could not start: ${errorMessage(err)}`, now()).catch(() => undefined);
      throw new TransientError(`could not start transfer run ${runId}: ${errorMessage(err)}; ask again with the same run_id`, { cause: err });
    }
    log.info('transfer run started', { runId, destination: req.destination, origin: opts.origin });
  };

  if (recorded.kind === 'created') {
    await start();
    return { kind: 'accepted', status: await statusOf(wh, runId, now) };
  }
  const current = await statusOf(wh, runId, now);
  const found = await readRun(wh, runId);
  const lost =
    current.status === 'queued' &&
    !found?.claim &&
    (found?.run.dispatchedAt ?? found?.run.acceptedAt ?? now()).getTime() < now().getTime() - LOST_START_MS;
  if ((current.status === 'failed' && opts.retryFailed) || lost) {
    await start();
    return { kind: 'repeated', status: await statusOf(wh, runId, now), restarted: true };
  }
  return { kind: 'repeated', status: current, restarted: false };
}

async function statusOf(wh: Warehouse, runId: string, now: () => Date): Promise<RunStatus> {
  const found = await readRun(wh, runId);
  if (!found) throw new TransientError(`run ${runId} was recorded but cannot be read back`);
  return deriveStatus(found.run, found.claim, now());
}
