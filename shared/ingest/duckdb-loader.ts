/**
 * DuckDB loader: DuckDB has no S3 access offline (no httpfs), so the object is read through the
 * project's S3 client, validated in TypeScript (./parse.ts), and appended with DuckDB's appender,
 * one transaction per file together with its ledger row.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Dataset } from '../config';
import { classifyError, UnreadableFileError } from '../errors';
import { getObjectBytes } from '../storage/object-store';
import { DuckDbWarehouse } from '../warehouse/duckdb';
import { clearPrevious, insertQuarantine, recordOutcome, toWarehouseTimestamp, triage } from './ledger';
import { decodeObject, loadedCount, parseFile, type ParsedFile } from './parse';
import type { DatasetLoader, FileUnit, LoadOutcome } from './types';

/** Object fetches run in parallel; warehouse writes are serial (one writer). */
const FETCH_CONCURRENCY = 8;

export class DuckDbLoader implements DatasetLoader {
  constructor(private readonly wh: DuckDbWarehouse) {}

  async load(_dataset: Dataset, units: FileUnit[]): Promise<LoadOutcome[]> {
    const { toLoad, settled } = await triage(this.wh, units);
    const outcomes: LoadOutcome[] = [...settled];
    const superseded = settled.filter((o) => o.status === 'superseded');
    if (superseded.length > 0) {
      await this.wh.transaction(async (tx) => {
        for (const o of superseded) await recordOutcome(tx, o);
      });
    }

    const fetched = await mapLimit(toLoad, FETCH_CONCURRENCY, (unit) => fetchAndParse(unit));
    for (const [i, unit] of toLoad.entries()) {
      const result = fetched[i]!;
      if ('outcome' in result) {
        if (result.outcome.status === 'failed' && result.outcome.error && !result.outcome.error.retryable) {
          await this.wh
            .transaction((tx) => recordOutcome(tx, result.outcome))
            .catch(() => undefined); // the record fails either way; the ledger row is for diagnosis
        } else if (result.outcome.status === 'superseded') {
          await this.wh.transaction((tx) => recordOutcome(tx, result.outcome)).catch(() => undefined);
        }
        outcomes.push(result.outcome);
        continue;
      }
      try {
        outcomes.push(await this.write(unit, result.parsed));
      } catch (err) {
        outcomes.push({ unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error: classifyError(err) });
      }
    }
    return outcomes;
  }

  private async write(unit: FileUnit, parsed: ParsedFile): Promise<LoadOutcome> {
    const outcome: LoadOutcome = {
      unit,
      status: 'loaded',
      rowsLoaded: loadedCount(parsed),
      rowsQuarantined: parsed.quarantined.length,
    };
    await this.wh.transaction(async (tx) => {
      await clearPrevious(tx, unit);
      await (tx as DuckDbWarehouse).withConnection((c) => appendRows(c, unit, parsed));
      await insertQuarantine(tx, unit, parsed.quarantined);
      await recordOutcome(tx, outcome, parsed.quarantined[0]?.reason);
    });
    return outcome;
  }
}

type Fetched = { parsed: ParsedFile } | { outcome: LoadOutcome };

async function fetchAndParse(unit: FileUnit): Promise<Fetched> {
  try {
    const { bytes, etag } = await getObjectBytes(unit.bucket, unit.key, {
      versionId: unit.versionId,
      ifMatch: unit.versionId ? undefined : unit.etag,
    });
    // Not every S3 implementation honours If-Match: compare too. A different ETag means the key was
    // overwritten after this event; the newer event will load the newer content.
    if (!unit.versionId && unit.etag && etag && etag !== unit.etag) {
      return { outcome: { unit, status: 'superseded', rowsLoaded: 0, rowsQuarantined: 0 } };
    }
    return { parsed: parseFile(unit.dataset, decodeObject(bytes, unit.key), unit.key) };
  } catch (err) {
    const name = (err as { name?: string }).name;
    // The object changed or vanished after this event: a newer event carries the new content.
    if (name === 'PreconditionFailed' || name === 'NoSuchKey' || name === 'NoSuchVersion') {
      return { outcome: { unit, status: 'superseded', rowsLoaded: 0, rowsQuarantined: 0 } };
    }
    const error = err instanceof UnreadableFileError ? err : classifyError(err);
    return { outcome: { unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error } };
  }
}

async function appendRows(c: DuckDBConnection, unit: FileUnit, parsed: ParsedFile): Promise<void> {
  const loadedAt = toWarehouseTimestamp(new Date().toISOString());
  const append = async (table: string, rows: (string | number)[][]) => {
    if (rows.length === 0) return;
    const appender = await c.createAppender(table, 'raw');
    try {
      for (const row of rows) {
        for (const v of row) {
          if (typeof v === 'number') {
            if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) appender.appendInteger(v);
            else appender.appendDouble(v);
          } else appender.appendVarchar(v);
        }
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  };
  const file = [unit.key, unit.version] as const;
  switch (parsed.dataset) {
    case 'customers':
      return append(
        'customers',
        parsed.rows.map((r) => [r.customerId, r.loyaltyScore, ...file, r.lineNumber, loadedAt]),
      );
    case 'products':
      return append(
        'products',
        parsed.rows.map((r) => [r.productId, r.description, r.category, ...file, r.lineNumber, loadedAt]),
      );
    case 'transactions':
      await append(
        'transactions',
        parsed.transactions.map((t) => [t.transactionId, t.customerId, t.purchasedAt, t.basketSize, ...file, t.lineNumber, loadedAt]),
      );
      return append(
        'transaction_items',
        parsed.items.map((i) => [i.transactionId, i.itemIndex, i.customerId, i.productId, i.price, i.purchasedAt, ...file]),
      );
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}
