/**
 * One SQS batch of S3 notifications -> loads -> `batchItemFailures`. This is where ingest semantics
 * meet SQS semantics (docs/ARCHITECTURE.md §5):
 *   - records are judged one by one: a poison message fails only itself;
 *   - `s3:TestEvent`, deletions and unrouted keys are acknowledged (logged, never retried);
 *   - a body that is not an S3 notification fails its record, so it reaches the DLQ;
 *   - a batch's files are grouped by dataset and handed to the engine's loader in one call each
 *     (Snowflake: one COPY per dataset per batch);
 *   - a record fails when any of its files failed (unreadable file, transient warehouse error);
 *     SQS redelivers it, and the ledger makes the redelivery of files that did load a no-op.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
import type { Dataset, Route } from '../config';
import { classifyError, errorMessage } from '../errors';
import { parseMessageBody } from '../events/s3-notification';
import type { Logger } from '../logger';
import type { DatasetLoader, FileUnit, LoadOutcome } from './types';

export interface SqsRecordLike {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface BatchSummary {
  records: number;
  failedRecords: number;
  files: number;
  loaded: number;
  duplicate: number;
  superseded: number;
  failed: number;
  ignored: number;
  rowsLoaded: number;
  rowsQuarantined: number;
}

export async function processBatch(
  records: readonly SqsRecordLike[],
  deps: { loader: DatasetLoader; routes: readonly Route[]; log: Logger; now?: () => number },
): Promise<BatchResult & { summary: BatchSummary }> {
  const { loader, routes, log } = deps;
  const now = deps.now ?? Date.now;
  const started = now();
  const failed = new Set<string>();
  const unitsOf = new Map<string, FileUnit[]>(); // messageId -> its files
  const byDataset = new Map<Dataset, FileUnit[]>();
  const summary: BatchSummary = {
    records: records.length,
    failedRecords: 0,
    files: 0,
    loaded: 0,
    duplicate: 0,
    superseded: 0,
    failed: 0,
    ignored: 0,
    rowsLoaded: 0,
    rowsQuarantined: 0,
  };

  for (const record of records) {
    const message = parseMessageBody(record.body, routes);
    switch (message.kind) {
      case 'test':
        log.info('s3:TestEvent acknowledged', { messageId: record.messageId });
        break;
      case 'invalid':
        log.warn('message rejected', { messageId: record.messageId, reason: message.reason });
        failed.add(record.messageId);
        break;
      case 'files':
        for (const i of message.ignored) {
          summary.ignored++;
          log.info('object acknowledged, not loaded', { messageId: record.messageId, key: i.key, reason: i.reason });
        }
        unitsOf.set(record.messageId, message.units);
        for (const unit of message.units) {
          const list = byDataset.get(unit.dataset) ?? [];
          list.push(unit);
          byDataset.set(unit.dataset, list);
        }
    }
  }

  const outcomes = new Map<FileUnit, LoadOutcome>();
  for (const [dataset, units] of byDataset) {
    summary.files += units.length;
    const t0 = now();
    let results: LoadOutcome[];
    try {
      results = await loader.load(dataset, units);
    } catch (err) {
      // the loader could not even start (warehouse down): every file of this dataset fails
      const error = classifyError(err);
      results = units.map((unit) => ({ unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error }));
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
        lagMs: Math.max(0, now() - Date.parse(o.unit.eventTime)),
        ...(o.error ? { error: errorMessage(o.error), retryable: o.error.retryable } : {}),
      };
      if (o.status === 'failed') log.warn('file failed', fields);
      else log.info('file', fields);
    }
  }

  for (const [messageId, units] of unitsOf) {
    for (const unit of units) {
      const o = outcomes.get(unit);
      if (!o || o.status === 'failed') failed.add(messageId);
    }
  }

  summary.failedRecords = failed.size;
  log.info('batch', { ...summary, durationMs: now() - started });
  log.metrics(
    'ShoppingPatterns/Ingest',
    {
      FilesLoaded: summary.loaded,
      FilesFailed: summary.failed,
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
