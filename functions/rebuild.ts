/**
 * rebuild: models -> data tests -> publish (only when no `error` test failed) -> run record.
 * Triggered weekly by EventBridge (serverless.yml, `rebuildSchedule`) and on demand:
 *
 *   npx sls invoke local --stage local -f rebuild
 *   npx sls invoke --stage dev -f rebuild -d '{"publish": false}'
 *
 * One rebuild at a time: another one started meanwhile is refused (a transient error: an async
 * invocation is retried later); a repeat of the same request returns the first run's result.
 * Wiring only; the semantics live in shared/rebuild.ts.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';
import { rebuild, type RebuildResult } from '../shared/rebuild';
import { formatIssues } from '../shared/zod-issues';

const log = logger.child({ fn: 'rebuild' });

/** An EventBridge scheduled event, or a manual request; both may be empty. */
const eventSchema = z
  .object({
    'detail-type': z.string().optional(),
    time: z.iso.datetime().optional(),
    publish: z.boolean().optional(),
    pseudonymise: z.boolean().optional(),
    snapshot_date: z.iso.date().optional(),
    run_id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
  })
  .loose();

export type RebuildEvent = z.input<typeof eventSchema>;

export function parseRebuildEvent(event: unknown) {
  // `sls invoke local` without -d/-p passes an empty string
  const parsed = eventSchema.safeParse(event === undefined || event === null || event === '' ? {} : event);
  if (!parsed.success) {
    throw new InvalidInputError(
      `invalid rebuild event: ${formatIssues(parsed.error, '(event)')}`,
    );
  }
  const e = parsed.data;
  // a scheduled run's snapshot is the scheduled day, so a retried invocation writes the same keys
  const scheduledDate = e['detail-type'] === 'Scheduled Event' && e.time ? e.time.slice(0, 10) : undefined;
  return {
    publish: e.publish,
    pseudonymise: e.pseudonymise,
    snapshotDate: e.snapshot_date ?? scheduledDate,
    runId: e.run_id,
  };
}

export const rebuildHandler = async (event: unknown, context?: Partial<Context>): Promise<RebuildResult> => {
  // a repeated invoke waits for the first run at most until shortly before this one times out
  const remaining = context?.getRemainingTimeInMillis?.();
  const waitMs = remaining === undefined ? undefined : Math.max(0, remaining - 15_000);
  const result = await rebuild({ ...parseRebuildEvent(event), logger: log, waitMs });
  // `sls invoke local` prints the returned JSON; the report reads better as text on the terminal
  if (process.env.IS_LOCAL) process.stderr.write(`${result.report}\n`);
  return result;
};

export const handler = middy<unknown, RebuildResult>(rebuildHandler).use(invocationLog(log));
