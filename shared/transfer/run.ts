/**
 * `transfer_data(source_table, destination_s3_bucket)`: read a warehouse table, drop blank rows,
 * aggregate to months in the warehouse, and write per-month parts plus a manifest to S3.
 *
 * Order of work (cheap checks first, nothing written until the data is flowing):
 * 1. validate the request and the table name (no SQL runs for a hostile name); refuse the landing
 *    bucket and buckets outside TRANSFER_ALLOWED_BUCKETS;
 * 2. claim the run (shared/publish/claims.ts): a repeat of the request waits for the first run and
 *    returns its result, so one run writes an output;
 * 3. check the destination is reachable (HeadBucket);
 * 4. resolve the one table the name means, introspect it and plan the roles, types and SQL;
 * 5. stream: run the aggregation ordered by month and write one month at a time through the part
 *    writer; or unload: let Snowflake write the files (./unload.ts);
 * 6. commit: the manifest is written last, while the claim is still held; any failure aborts
 *    instead (no manifest, no open upload) and records the claim as failed.
 */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { config, type Config } from '../config';
import { classifyError, errorMessage, InvalidInputError, TerminalError, TransientError } from '../errors';
import { logger, type Logger } from '../logger';
import { createPartWriter, pseudonymisationKey, type PublishProgress } from '../publish';
import { claimOrWait, fingerprintOf, type RunClaim } from '../publish/claims';
import { s3 } from '../storage/object-store';
import { warehouse as defaultWarehouse } from '../warehouse';
import { parseTableName, tableLabel } from '../warehouse/identifiers';
import type { Row, TableDescription, TableRef, Warehouse } from '../warehouse/port';
import { buildAggregateSql, monthPartition, planTransfer, type TransferPlan } from './plan';
import {
  newTransferRunId,
  parseTransferRequest,
  type ParsedTransferRequest,
  type TransferRequest,
} from './request';
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
}

export interface TransferDeps {
  warehouse?: Warehouse;
  s3?: S3Client;
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

export async function transferData(
  request: TransferRequest,
  deps: TransferDeps = {},
): Promise<TransferResult> {
  const req = parseTransferRequest(request);
  const table = parseTableName(req.source_table);
  const cfg = deps.config ?? config();
  const now = deps.now ?? (() => new Date());
  const runId = req.run_id ?? newTransferRunId(now());
  const runPrefix = [req.prefix, tableLabel(table), runId].filter(Boolean).join('/');
  let log = (deps.log ?? logger).child({ component: 'transfer', table: tableLabel(table), runId });
  if (req.pseudonymise?.length && req.mode === 'unload') {
    throw new InvalidInputError(
      'pseudonymise is done while streaming: use mode "stream" (unload cannot pseudonymise)',
    );
  }
  checkBucketAllowed(req.destination_s3_bucket, cfg);
  const wh = deps.warehouse ?? defaultWarehouse();

  // one run per output: a repeat of the request (same run_id, or the same content within the
  // window when it names none) waits for the first run and returns its result
  const scope = `transfer:s3://${req.destination_s3_bucket}/${runPrefix}`;
  const fingerprint = fingerprintOf(req);
  const claimed = await claimOrWait(
    wh,
    {
      scope,
      requestKey: req.run_id ? scope : `transfer-request:${fingerprint}`,
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
  claim.keepAlive();
  try {
    const result = await transferClaimed({ req, table, cfg, now, runId, runPrefix, log, wh, deps, claim });
    await claim.succeed(result);
    return result;
  } catch (err) {
    await claim.fail(err);
    throw err;
  } finally {
    claim.stop();
  }
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
}): Promise<TransferResult> {
  const { req, table, cfg, now, runId, runPrefix, log, wh, deps } = ctx;
  const client = deps.s3 ?? s3();
  await checkDestination(client, req.destination_s3_bucket, cfg);

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
 * Where a transfer may write: never the landing bucket (whatever lands there is ingested, so a
 * transfer's parts would be loaded as data), and only TRANSFER_ALLOWED_BUCKETS when that is set.
 */
export function checkBucketAllowed(bucket: string, cfg: Config): void {
  if (bucket === cfg.buckets.landing) {
    throw new InvalidInputError(
      `destination bucket ${bucket} is the landing bucket: every object written there is ingested; choose another bucket`,
    );
  }
  const allowed = cfg.transfer.allowedBuckets;
  if (allowed && !allowed.includes(bucket)) {
    throw new InvalidInputError(
      `destination bucket ${bucket} is not allowed (TRANSFER_ALLOWED_BUCKETS: ${allowed.join(', ')})`,
    );
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

/**
 * Fail fast, before any warehouse work, when the destination cannot be written: a missing bucket,
 * no permission, or (local stage) the S3 server not running.
 */
async function checkDestination(client: S3Client, bucket: string, cfg: Config): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const refused = e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(errorMessage(err));
    if (refused && cfg.s3Endpoint) {
      throw new TransientError(
        `cannot reach the S3 endpoint ${cfg.s3Endpoint}: is the local stack running? Start it with \`npm start\`` +
          ' (or set S3_ENDPOINT)',
        { cause: err },
      );
    }
    if (e.name === 'NotFound' || e.name === 'NoSuchBucket' || status === 404) {
      throw new InvalidInputError(`destination bucket ${bucket} does not exist`, { cause: err });
    }
    if (e.name === 'Forbidden' || status === 403) {
      throw new TerminalError(`no permission to write to destination bucket ${bucket}`, { cause: err });
    }
    throw classifyError(err);
  }
}
