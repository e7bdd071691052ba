/**
 * `transfer_data(source_table, destination_s3_bucket)`: read a warehouse table, drop blank rows,
 * aggregate to months in the warehouse, and write per-month parts plus a manifest to S3.
 *
 * Order of work (cheap checks first, nothing written until the data is flowing):
 * 1. validate the request and the table name (no SQL runs for a hostile name); resolve where it
 *    delivers (shared/delivery/resolve.ts: a named destination, or a bucket of this account);
 *    refuse the landing bucket and buckets no destination or TRANSFER_ALLOWED_BUCKETS allows;
 * 2. check the target before any warehouse work (shared/delivery/client.ts): assume the
 *    destination's role with its external ID, then list its prefix with ExpectedBucketOwner, so a
 *    bucket that changed hands, or a role that is not ours to use, stops the run here;
 * 3. claim the run (shared/publish/claims.ts): a repeat of the request waits for the first run and
 *    returns its result, so one run writes an output; record it (shared/delivery/runs.ts);
 * 4. resolve the one table the name means, introspect it and plan the roles, types and SQL;
 * 5. stream: run the aggregation ordered by month and write one month at a time through the part
 *    writer; or unload: let Snowflake write the files (./unload.ts);
 * 6. commit: the manifest is written last, while the claim is still held; any failure aborts
 *    instead (no manifest, no open upload) and records the claim as failed.
 * Every request to the destination goes through its delivery client: ExpectedBucketOwner on each,
 * the bucket-owner-full-control ACL and the destination's KMS key on each object it creates.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { config, type Config } from '../config';
import { checkTarget, deliveryClient, type DeliveryTarget } from '../delivery/client';
import { resolveTransfer } from '../delivery/resolve';
import { recordRun, type RunOrigin } from '../delivery/runs';
import type { DestinationStore } from '../delivery/store';
import { classifyError, errorMessage, InvalidInputError } from '../errors';
import { logger, type Logger } from '../logger';
import { createPartWriter, pseudonymisationKey, type PublishProgress } from '../publish';
import { claimOrWait, fingerprintOf, type RunClaim } from '../publish/claims';
import { warehouse as defaultWarehouse } from '../warehouse';
import { parseTableName, tableLabel } from '../warehouse/identifiers';
import type { Row, TableDescription, TableRef, Warehouse } from '../warehouse/port';
import { buildAggregateSql, monthPartition, planTransfer, type TransferPlan } from './plan';
import { newTransferRunId, type ParsedTransferRequest, type TransferRequest } from './request';
import { columnSpecs, manifestExtras, type RunOutcome } from './outcome';
import { readAhead, splitByKey } from './split';
import { runUnload } from './unload';

export interface TransferResult {
  /** Key of the manifest (the commit marker) in the destination bucket. */
  file_name: string;
  /** Rows written (aggregated rows, over all parts). */
  row_count: number;
  /** When the transfer committed, ISO 8601 UTC. */
  timestamp: string;
  run_id: string;
  bucket: string;
  mode: 'stream' | 'unload';
  format: string;
  months: number;
  parts: number;
  bytes: number;
  /** The named destination delivered to; absent for a bucket of this account. */
  destination?: string;
}

export interface TransferDeps {
  warehouse?: Warehouse;
  /** The S3 client with this function's own credentials (a destination's role gets its own client). */
  s3?: S3Client;
  sts?: STSClient;
  /** Where destinations are read (default: the configured store). */
  destinations?: DestinationStore;
  /** Recorded with the run: where it came from (default `direct`). */
  origin?: RunOrigin;
  config?: Config;
  now?: () => Date;
  log?: Logger;
  onProgress?: (progress: PublishProgress) => void;
  /** How long a repeat waits for the first run of its request (default 15 minutes; a Lambda passes its remaining time). */
  waitMs?: number;
  /** Between looks at the first run while waiting (default 2 s). */
  pollMs?: number;
  /** The run claim's lease (default from the configuration: see shared/publish/claims.ts). */
  leaseMs?: number;
}

/** Identical requests without a run_id within this span are one run (a client's retries of one invocation). */
export const REQUEST_DEDUP_WINDOW_MS = 15 * 60_000;

/** The claim's scope, request key and fingerprint of a run: the same for the transfer and the API that queues it. */
export function runIdentity(req: ParsedTransferRequest, runId: string, label: string) {
  const runPrefix = [req.prefix, label, runId].filter(Boolean).join('/');
  const scope = `transfer:s3://${req.destination_s3_bucket}/${runPrefix}`;
  const fingerprint = fingerprintOf(req);
  return { runPrefix, scope, fingerprint, requestKey: req.run_id ? scope : `transfer-request:${fingerprint}` };
}

export async function transferData(
  request: TransferRequest,
  deps: TransferDeps = {},
): Promise<TransferResult> {
  const cfg = deps.config ?? config();
  const { req, target } = await resolveTransfer(request, { config: cfg, store: deps.destinations });
  const table = parseTableName(req.source_table);
  const now = deps.now ?? (() => new Date());
  const runId = req.run_id ?? newTransferRunId(now());
  const { runPrefix, scope, fingerprint, requestKey } = runIdentity(req, runId, tableLabel(table));
  let log = (deps.log ?? logger).child({ component: 'transfer', table: tableLabel(table), runId, destination: target.name });
  if (req.pseudonymise?.length && req.mode === 'unload') {
    throw new InvalidInputError(
      'pseudonymise is done while streaming: use mode "stream" (unload cannot pseudonymise)',
    );
  }

  // the target before any warehouse work: the role, the bucket's owner, the permission to list
  const delivery = deliveryClient(target, { config: cfg, s3: deps.s3, sts: deps.sts, sessionName: `sp-${runId}` });
  await checkTarget(delivery, target, req.prefix, cfg);
  const wh = deps.warehouse ?? defaultWarehouse();

  // one run per output: a repeat of the request (same run_id, or the same content within the
  // window when it names none) waits for the first run and returns its result
  const claimed = await claimOrWait(
    wh,
    {
      scope,
      requestKey,
      fingerprint,
      runId,
      replayAfter: req.run_id ? undefined : new Date(now().getTime() - REQUEST_DEDUP_WINDOW_MS),
    },
    {
      now,
      leaseMs: deps.leaseMs,
      waitMs: deps.waitMs,
      pollMs: deps.pollMs,
      otherRun: 'wait',
      describe: (row) => `transfer run ${row.runId}`,
      log,
    },
  );
  if (claimed.kind === 'replay') {
    const first = JSON.parse(claimed.row.result ?? 'null') as TransferResult;
    log.info('transfer repeated: returning the first run\'s result', { firstRunId: first.run_id, manifest: first.file_name });
    return first;
  }
  const claim = claimed.claim;
  for (const dead of claimed.abandoned) log.warn('took over from a run that died', { deadRunId: dead.runId });
  log = log.child({ holder: claim.holder });
  return claim.settle(async () => {
    // a run asked for through the API or a schedule has its row already; others get one here
    await recordRun(
      wh,
      {
        runId,
        requestKey,
        fingerprint,
        destination: target.name,
        sourceTable: req.source_table,
        bucket: req.destination_s3_bucket,
        origin: deps.origin ?? 'direct',
        requestedBy: undefined,
        request: { ...(request as Record<string, unknown>), run_id: runId },
      },
      now(),
    );
    return transferClaimed({ req, table, cfg, now, runId, runPrefix, log, wh, deps, claim, client: delivery.client, target });
  });
}

async function transferClaimed(ctx: {
  req: ParsedTransferRequest;
  table: TableRef;
  cfg: Config;
  now: () => Date;
  runId: string;
  runPrefix: string;
  log: Logger;
  wh: Warehouse;
  deps: TransferDeps;
  claim: RunClaim;
  client: S3Client;
  target: DeliveryTarget;
}): Promise<TransferResult> {
  const { req, table, cfg, now, runId, runPrefix, log, wh, deps, client } = ctx;

  const source = resolveTable(await wh.findTables(table), req.source_table);
  const plan = planTransfer(
    { database: source.database, schema: source.schema, table: source.table },
    wh.engine,
    source.columns,
    {
      label: tableLabel(table),
      columns: req.columns,
      dateColumn: req.date_column,
      sumColumns: req.sum_columns,
      groupColumns: req.group_columns,
    },
  );
  log.info('transfer planned', {
    mode: req.mode,
    format: req.format,
    monthKey: plan.monthKey,
    roles: plan.columns.map((c) => `${c.name}:${c.role}`).join(','),
  });

  const started = Date.now();
  // the commit marker is written only by the run that still holds the claim
  const beforeCommit = () => ctx.claim.assertHeld();
  const outcome =
    req.mode === 'unload'
      ? await runUnload({ plan, req, runId, runPrefix, warehouse: wh, s3: client, config: cfg, log, beforeCommit })
      : await runStream({
          plan,
          req,
          runId,
          runPrefix,
          warehouse: wh,
          s3: client,
          log,
          onProgress: deps.onProgress,
          beforeCommit,
        });
  const result: TransferResult = {
    file_name: outcome.manifestKey,
    row_count: outcome.rowCount,
    timestamp: now().toISOString(),
    run_id: runId,
    bucket: req.destination_s3_bucket,
    mode: req.mode,
    format: req.format,
    months: outcome.months,
    parts: outcome.parts,
    bytes: outcome.bytes,
    ...(ctx.target.name ? { destination: ctx.target.name } : {}),
  };
  log.info('transfer committed', { ...result, durationMs: Date.now() - started });
  log.metrics(
    'ShoppingPatterns/Transfer',
    { RowsWritten: result.row_count, BytesWritten: result.bytes },
    { mode: req.mode },
  );
  return result;
}

async function runStream(ctx: {
  plan: TransferPlan;
  req: ParsedTransferRequest;
  runId: string;
  runPrefix: string;
  warehouse: Warehouse;
  s3: S3Client;
  log: Logger;
  onProgress?: (progress: PublishProgress) => void;
  beforeCommit: () => Promise<void>;
}): Promise<RunOutcome> {
  const { plan, req } = ctx;
  const sql = buildAggregateSql(plan);
  const writer = createPartWriter({
    bucket: req.destination_s3_bucket,
    runPrefix: ctx.runPrefix,
    format: req.format,
    columns: columnSpecs(plan),
    client: ctx.s3,
    pseudonymise: req.pseudonymise?.length
      ? { columns: req.pseudonymise, key: await pseudonymisationKey() }
      : undefined,
    onProgress: ctx.onProgress,
  });
  try {
    let months = 0;
    // exact text for decimals and wide integers: sums are written exactly, one type per column
    const rows = readAhead(ctx.warehouse.stream(sql, undefined, { exactNumbers: true }));
    // rows arrive ordered by month, so the last value's partition is almost always the answer
    let lastValue: unknown = Symbol('none');
    let lastPartition = '';
    const partitionOf = (row: Row): string => {
      const value = row[plan.monthKeyOutput];
      if (value !== lastValue) {
        lastValue = value;
        lastPartition = monthPartition(value);
      }
      return lastPartition;
    };
    for await (const month of splitByKey(rows, partitionOf)) {
      await writer.writePartition(month.key, month.batches);
      months++;
    }
    await ctx.beforeCommit();
    const committed = await writer.commit(manifestExtras(plan, req, ctx.runId, sql));
    return {
      manifestKey: committed.manifestKey,
      rowCount: committed.rowCount,
      months,
      parts: committed.parts.length,
      bytes: committed.bytes,
    };
  } catch (err) {
    ctx.log.error('transfer failed, aborting', { error: errorMessage(err) });
    await writer.abort(err);
    throw classifyError(err);
  }
}

/**
 * The one table a source name means. An unqualified name is looked up in every schema (the
 * Snowflake session has no current schema, and guessing one would read another table than the
 * columns came from), so a name found in several schemas is refused, naming them.
 */
export function resolveTable(matches: TableDescription[], name: string): TableDescription {
  if (matches.length === 0) {
    throw new InvalidInputError(`table ${name} does not exist or has no columns visible to this role`);
  }
  if (matches.length > 1) {
    throw new InvalidInputError(
      `table name ${name} is ambiguous: it names ${matches.map((m) => `${m.database}.${m.schema}.${m.table}`).join(', ')}; ` +
        'give it as schema.table',
    );
  }
  return matches[0]!;
}
