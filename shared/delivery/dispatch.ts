/**
 * Recurring deliveries. One EventBridge rule runs the dispatcher every few minutes (serverless.yml,
 * `dispatchSchedule`, default every 15 minutes; the local stack runs the same rule in-process). It
 * reads the destinations, and for each one with a schedule whose latest slot fell within the last
 * hour starts that slot's run through the same path as `POST /transfers` (./submit.ts), with a run
 * id made of the destination and the slot: `sched-<destination>-<YYYYMMDDTHHMMZ>`. So:
 * - adding, changing or removing a schedule needs no deploy (it is a field of the destination), and
 *   no rule per destination (rules per destination would need IAM to create rules at run time and
 *   leave rules behind when a destination goes);
 * - a slot runs once: the next ticks find its run recorded (the run id is the slot's);
 * - a slot is started within one dispatch interval of its time; slots closer together than that
 *   interval are merged into the latest; a slot more than an hour old (the dispatcher was down) is
 *   not caught up: the next one delivers the data as it is then;
 * - a scheduled run that fails is not retried by the dispatcher (the run report and the function's
 *   error alarm show it); `POST /transfers` with its run id starts it again.
 */
import { config, type Config } from '../config';
import { errorMessage } from '../errors';
import { logger, type Logger } from '../logger';
import type { Warehouse } from '../warehouse/port';
import { latestSlot } from './cron';
import type { TransferFunction } from './invoke';
import { destinationStore, type DestinationStore } from './store';
import { submitTransfer } from './submit';

/** How far back the dispatcher looks for a slot not started yet: four ticks of the default rule. */
export const DISPATCH_LOOKBACK_MS = 60 * 60_000;

export interface DispatchResult {
  /** Runs started now. */
  started: string[];
  /** Slots whose run exists already. */
  existing: string[];
  /** Destinations that could not be dispatched, with the reason. */
  errors: Array<{ destination: string; error: string }>;
}

/** `20240101T0600Z`: a slot in a run id. */
export function slotStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\d\d\.\d+Z$/, 'Z');
}

export function scheduledRunId(destination: string, slot: Date): string {
  return `sched-${destination}-${slotStamp(slot)}`;
}

export async function dispatchSchedules(opts: {
  now?: Date;
  config?: Config;
  store?: DestinationStore;
  warehouse?: Warehouse;
  transfer?: TransferFunction;
  log?: Logger;
} = {}): Promise<DispatchResult> {
  const cfg = opts.config ?? config();
  const now = opts.now ?? new Date();
  const log = (opts.log ?? logger).child({ component: 'dispatch' });
  const store = opts.store ?? destinationStore(cfg);
  const result: DispatchResult = { started: [], existing: [], errors: [] };
  const { destinations, invalid } = await store.list();
  for (const bad of invalid) result.errors.push({ destination: bad.name, error: `invalid: ${bad.error}` });
  for (const d of destinations) {
    if (!d.schedule) continue;
    const slot = latestSlot(d.schedule.cron, now, DISPATCH_LOOKBACK_MS);
    if (!slot) continue;
    const runId = scheduledRunId(d.name, slot);
    const { cron, ...request } = d.schedule;
    try {
      const outcome = await submitTransfer(
        { ...request, destination: d.name, run_id: runId },
        {
          origin: 'schedule',
          requestedBy: `schedule ${cron} (slot ${slot.toISOString()})`,
          retryFailed: false,
          config: cfg,
          store,
          warehouse: opts.warehouse,
          transfer: opts.transfer,
          now: () => now,
          log,
        },
      );
      if (outcome.kind === 'accepted' || (outcome.kind === 'repeated' && outcome.restarted)) result.started.push(runId);
      else if (outcome.kind === 'repeated') result.existing.push(runId);
      else result.errors.push({ destination: d.name, error: outcome.message });
    } catch (err) {
      result.errors.push({ destination: d.name, error: errorMessage(err) });
    }
  }
  for (const e of result.errors) log.error('scheduled delivery not started', e);
  log.info('dispatched', { started: result.started.length, existing: result.existing.length, errors: result.errors.length });
  return result;
}
