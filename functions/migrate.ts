/**
 * migrate: apply the warehouse schema (sql/<engine>/*.sql). Run after each deploy:
 *
 *   npx sls invoke --stage dev -f migrate                   # objects, grants (the deploy role)
 *   npx sls invoke --stage dev -f migrate -d '{"dryRun": true}'
 *   npx sls invoke local --stage local -f migrate           # DuckDB: verifies the applied schema
 *
 * Account setup (`-- migrate: admin` scripts: roles, warehouse, storage integration) is not run from
 * the Lambda: it needs an administrator, once, from a workstation (`npm run migrate -- --admin`).
 * Wiring only; the semantics live in shared/migrate.ts.
 */
import middy from '@middy/core';
import { z } from 'zod';
import { InvalidInputError } from '../shared/errors';
import { logger } from '../shared/logger';
import { invocationLog } from '../shared/middleware';
import { formatReport, migrate, type MigrationReport } from '../shared/migrate';
import { createWarehouse } from '../shared/warehouse';
import { formatIssues } from '../shared/zod-issues';

const log = logger.child({ fn: 'migrate' });

const eventSchema = z
  .object({
    dryRun: z.boolean().optional(),
    only: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+$/))
      .min(1)
      .optional(),
  })
  .strict();

export function parseMigrateEvent(event: unknown): z.infer<typeof eventSchema> {
  // `sls invoke local` without -d passes an empty string
  const parsed = eventSchema.safeParse(event === undefined || event === null || event === '' ? {} : event);
  if (!parsed.success) {
    throw new InvalidInputError(
      `invalid migrate event: ${formatIssues(parsed.error, '(event)')}` +
        ' (expected {"dryRun"?: boolean, "only"?: ["40_tables.sql", ...]})',
    );
  }
  return parsed.data;
}

export const migrateHandler = async (event: unknown): Promise<MigrationReport> => {
  const request = parseMigrateEvent(event);
  // a session of its own: scripts may change the session's role, which must not leak into other work
  const wh = createWarehouse();
  try {
    const report = await migrate(wh, { ...request, admin: false, log });
    if (process.env.IS_LOCAL) process.stderr.write(`${formatReport(report)}\n`);
    return report;
  } finally {
    await wh.close();
  }
};

export const handler = middy<unknown, MigrationReport>(migrateHandler).use(invocationLog(log));
