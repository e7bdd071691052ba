/**
 * One SQS batch of S3 notifications -> loads -> `batchItemFailures`. This is where ingest semantics
 * meet SQS semantics (docs/ARCHITECTURE.md §5):
 *   - records are judged one by one: a poison message fails only itself;
 *   - `s3:TestEvent`, deletions, unrouted keys and events of other buckets than the landing bucket(s)
 *     are acknowledged (logged, never retried);
 *   - a body that is not an S3 notification fails its record, so it reaches the DLQ;
 *   - a batch's files are grouped by dataset and loaded by the one ingest flow (./flow.ts);
 *   - a record fails when any of its files failed or is pending (handed to Snowpipe); SQS redelivers
 *     it, and the ledger makes the redelivery of files that did load a no-op;
 *   - work stops before the function's time runs out: what is left fails, and SQS delivers it again.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
import type { Route } from '../config';
import type { DatasetRegistry } from '../datasets';
import { classifyError, errorMessage } from '../errors';
import { parseMessageBody } from '../events/s3-notification';
import type { Logger } from '../logger';
import type { Warehouse } from '../warehouse/port';
import { DEFAULT_GUARD, loadDataset, outOfTime, type Landing, type SnapshotGuard } from './flow';
import { ensureIngestSchema } from './schema';
import type { FileUnit, LoadOutcome, LoadStatus } from './types';

export interface SqsRecordLike {
  messageId: string;
  body: string;
  receiptHandle?: string;
  attributes?: { ApproximateReceiveCount?: string };
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

export type BatchSummary = {
  records: number;
  failedRecords: number;
  files: number;
  ignored: number;
  rowsLoaded: number;
  rowsQuarantined: number;
} & Record<LoadStatus, number>;

export interface BatchDeps {
  wh: Warehouse;
  /** A fresh landing per dataset and batch (it holds that batch's state). */
  landing: () => Landing;
  registry: DatasetRegistry;
  routes: readonly Route[];
  /** Buckets whose events are ingested; events of any other bucket are acknowledged and logged. */
  buckets: readonly string[];
  log: Logger;
  guard?: SnapshotGuard;
  /** Milliseconds the function has left (Lambda's context.getRemainingTimeInMillis). */
  remainingMs?: () => number;
  /** Stop taking work when fewer milliseconds than this are left. */
  reserveMs?: number;
  /** A record whose file is pending (Snowpipe): how long SQS should wait before delivering it again. */
  onPending?: (record: SqsRecordLike, delaySeconds: number) => Promise<void>;
  now?: () => number;
}

/** Redelivery delay for a pending file: doubling per receive, 1 to 15 minutes (Snowpipe takes minutes). */
export function pendingDelaySeconds(receiveCount: number): number {
  return Math.min(900, 60 * 2 ** Math.max(0, receiveCount - 1));
}

export async function processBatch(records: readonly SqsRecordLike[], deps: BatchDeps): Promise<BatchResult & { summary: BatchSummary }> {
  const { log, registry } = deps;
  const now = deps.now ?? Date.now;
  const started = now();
  const failed = new Set<string>();
  const pending = new Map<string, SqsRecordLike>();
  const unitsOf = new Map<string, FileUnit[]>(); // messageId -> its files
  const byDataset = new Map<string, FileUnit[]>();
  const buckets = new Set(deps.buckets);
  const summary: BatchSummary = {
    records: records.length,
    failedRecords: 0,
    files: 0,
    ignored: 0,
    rowsLoaded: 0,
    rowsQuarantined: 0,
    loaded: 0,
    duplicate: 0,
    superseded: 0,
    held: 0,
    pending: 0,
    failed: 0,
  };

  for (const record of records) {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const message = parseMessageBody(record.body, deps.routes, receiveCount);
    switch (message.kind) {
      case 'test':
        log.info('s3:TestEvent acknowledged', { messageId: record.messageId });
        break;
      case 'invalid':
        log.warn('message rejected', { messageId: record.messageId, reason: message.reason });
        failed.add(record.messageId);
        break;
      case 'files': {
        for (const i of message.ignored) {
          summary.ignored++;
          log.info('object acknowledged, not loaded', { messageId: record.messageId, key: i.key, reason: i.reason });
        }
        const units = message.units.filter((u) => {
          if (buckets.has(u.bucket)) return true;
          summary.ignored++;
          log.warn('object acknowledged, not loaded', { messageId: record.messageId, bucket: u.bucket, key: u.key, reason: 'not a landing bucket' });
          return false;
        });
        unitsOf.set(record.messageId, units);
        for (const unit of units) {
          const list = byDataset.get(unit.dataset) ?? [];
          list.push(unit);
          byDataset.set(unit.dataset, list);
        }
      }
    }
  }

  const reserve = deps.reserveMs ?? 60_000;
  const outcomes = new Map<FileUnit, LoadOutcome>();
  for (const [dataset, units] of byDataset) {
    summary.files += units.length;
    const t0 = now();
    let results: LoadOutcome[];
    if (deps.remainingMs && deps.remainingMs() < reserve) {
      log.warn('out of time: files handed back to SQS', { dataset, files: units.length, remainingMs: deps.remainingMs() });
      results = outOfTime(units);
    } else {
      try {
        if (deps.wh.dialect.selfMigrating) await ensureIngestSchema(deps.wh, registry);
        results = await loadDataset(deps.wh, deps.landing(), registry.get(dataset), units, {
          registry,
          guard: deps.guard ?? DEFAULT_GUARD,
          log,
          remainingMs: deps.remainingMs,
          reserveMs: reserve,
        });
      } catch (err) {
        // the flow could not even start (warehouse down): every file of this dataset fails
        const error = classifyError(err);
        results = units.map((unit) => ({ unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error }));
      }
    }
    const duration = now() - t0;
    for (const o of results) {
      outcomes.set(o.unit, o);
      summary[o.status]++;
      summary.rowsLoaded += o.rowsLoaded;
      summary.rowsQuarantined += o.rowsQuarantined;
      const fields = {
        dataset,
        key: o.unit.key,
        version: o.unit.version,
        status: o.status,
        rowsLoaded: o.rowsLoaded,
        rowsQuarantined: o.rowsQuarantined,
        durationMs: Math.round(duration / Math.max(1, units.length)),
        ...(o.note ? { note: o.note } : {}),
        ...(o.error ? { error: errorMessage(o.error), retryable: o.error.retryable } : {}),
      };
      if (o.status === 'failed' || o.status === 'held') log.warn('file', fields);
      else log.info('file', fields);
    }
  }

  for (const [messageId, units] of unitsOf) {
    for (const unit of units) {
      const o = outcomes.get(unit);
      if (!o || o.status === 'failed') failed.add(messageId);
      else if (o.status === 'pending') pending.set(messageId, records.find((r) => r.messageId === messageId)!);
    }
  }
  for (const [messageId, record] of pending) {
    failed.add(messageId);
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    await deps.onPending?.(record, pendingDelaySeconds(receiveCount)).catch((err: unknown) =>
      log.warn('could not delay the pending record', { messageId, error: errorMessage(err) }),
    );
  }

  summary.failedRecords = failed.size;
  log.info('batch', { ...summary, durationMs: now() - started });
  log.metrics(
    'ShoppingPatterns/Ingest',
    {
      FilesLoaded: summary.loaded,
      FilesFailed: summary.failed,
      FilesHeld: summary.held,
      RowsLoaded: summary.rowsLoaded,
      RowsQuarantined: summary.rowsQuarantined,
      RecordsFailed: summary.failedRecords,
    },
    {},
  );
  // keep SQS's order: failures reported in the order the records came
  const batchItemFailures = records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId }));
  return { batchItemFailures, summary };
}
