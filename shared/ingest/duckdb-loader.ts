/**
 * DuckDB loader: DuckDB has no S3 access offline (no httpfs), so the object is read through the
 * project's S3 client, validated in TypeScript (./parse.ts), and appended with DuckDB's appender,
 * one transaction per file together with its ledger row.
 */
import { mapLimit } from '../concurrency';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type { Dataset } from '../config';
import { classifyError, UnreadableFileError } from '../errors';
import { getObjectBytes } from '../storage/object-store';
import type { DuckDbWarehouse } from '../warehouse/duckdb';
import { clearPreviousAll, insertQuarantine, lockDataset, recordOutcomes, toWarehouseTimestamp, triage } from './ledger';
import { decodeObject, loadedCount, parseFile, type ParsedFile } from './parse';
import type { DatasetLoader, FileUnit, LoadOutcome } from './types';

/** Object fetches run in parallel; warehouse writes are serial (one writer). */
const FETCH_CONCURRENCY = 8;

export class DuckDbLoader implements DatasetLoader {
  constructor(private readonly wh: DuckDbWarehouse) {}

  async load(_dataset: Dataset, units: FileUnit[]): Promise<LoadOutcome[]> {
    const { toLoad, settled } = await triage(this.wh, units);
    const outcomes: LoadOutcome[] = [...settled];
    const fetched = await mapLimit(toLoad, FETCH_CONCURRENCY, (unit) => fetchAndParse(unit));

    // Ledger rows for what will not load: superseded versions, and unreadable files (for diagnosis;
    // their records fail either way). Transient fetch errors leave no trace: the retry decides.
    const notes = [...settled.filter((o) => o.status === 'superseded')];
    const ready: { unit: FileUnit; parsed: ParsedFile }[] = [];
    for (const [i, unit] of toLoad.entries()) {
      const result = fetched[i]!;
      if ('parsed' in result) {
        ready.push({ unit, parsed: result.parsed });
        continue;
      }
      outcomes.push(result.outcome);
      if (result.outcome.status === 'superseded' || result.outcome.error?.retryable === false) notes.push(result.outcome);
    }
    if (notes.length > 0) {
      await this.wh
        .transaction((tx) => recordOutcomes(tx, notes))
        .catch(() => undefined); // diagnosis only: never the reason a record fails
    }

    // All files of the batch in one transaction: one commit instead of one per file. Each file is
    // still all-or-nothing. If the batch transaction fails, load file by file so one bad write
    // cannot hold back the others.
    try {
      outcomes.push(...(await this.writeWithRetry(ready)));
    } catch {
      for (const file of ready) {
        try {
          outcomes.push(...(await this.writeWithRetry([file])));
        } catch (err) {
          outcomes.push({ unit: file.unit, status: 'failed', rowsLoaded: 0, rowsQuarantined: 0, error: classifyError(err) });
        }
      }
    }
    return outcomes;
  }

  /**
   * Concurrent writers of one dataset serialise on its lock row (see lockDataset); DuckDB answers a
   * second writer with a conflict instead of waiting, so retry here a few times before handing the
   * records back to SQS.
   */
  private async writeWithRetry(files: { unit: FileUnit; parsed: ParsedFile }[]): Promise<LoadOutcome[]> {
    if (files.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
      try {
        // Writers in this process queue for the dataset instead of colliding (DuckDB would answer the
        // second with a conflict rather than wait); the lock row still guards other processes.
        return await inProcessQueue(`${this.wh.file}\u0000${files[0]!.unit.dataset}`, () =>
          this.wh.transaction((tx) => this.writeAll(tx as DuckDbWarehouse, files)),
        );
      } catch (err) {
        const error = classifyError(err);
        if (!error.retryable || attempt >= WRITE_ATTEMPTS) throw error;
        await sleep(Math.random() * 25 * 2 ** attempt);
      }
    }
  }

  private async writeAll(tx: DuckDbWarehouse, files: { unit: FileUnit; parsed: ParsedFile }[]): Promise<LoadOutcome[]> {
    if (files.length === 0) return [];
    // Under the dataset's lock, decide again: another writer may have loaded some of these since
    // the first triage (the exactly-once decision and the write are one transaction).
    await lockDataset(tx, files[0]!.unit.dataset, 'ingest');
    const { toLoad, settled } = await triage(
      tx,
      files.map((f) => f.unit),
    );
    const load = files.filter((f) => toLoad.includes(f.unit));
    const outcomes: LoadOutcome[] = load.map(({ unit, parsed }) => ({
      unit,
      status: 'loaded',
      rowsLoaded: loadedCount(parsed),
      rowsQuarantined: parsed.quarantined.length,
    }));
    await clearPreviousAll(
      tx,
      load.map((f) => f.unit),
    );
    await tx.withConnection((c) => appendFiles(c, load));
    for (const { unit, parsed } of load) await insertQuarantine(tx, unit, parsed.quarantined);
    await recordOutcomes(
      tx,
      [...outcomes, ...settled.filter((o) => o.status === 'superseded')],
      load.map((f) => f.parsed.quarantined[0]?.reason),
    );
    return [...outcomes, ...settled];
  }
}

const WRITE_ATTEMPTS = 5;

const queues = new Map<string, Promise<unknown>>();

/** Run `fn` after every earlier call with the same key has settled. */
function inProcessQueue<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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

/**
 * Append the parsed rows of several files with DuckDB's appender: one appender per table for the
 * whole batch, values typed per column (no per-value type sniffing in the hot loop).
 */
async function appendFiles(c: DuckDBConnection, files: { unit: FileUnit; parsed: ParsedFile }[]): Promise<void> {
  const loadedAt = toWarehouseTimestamp(new Date().toISOString());
  const withAppender = async (table: string, fill: (a: DuckDBAppender) => void) => {
    const appender = await c.createAppender(table, 'raw');
    try {
      fill(appender);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  };
  const by = <D extends ParsedFile['dataset']>(dataset: D) =>
    files.filter((f): f is { unit: FileUnit; parsed: Extract<ParsedFile, { dataset: D }> } => f.parsed.dataset === dataset);

  const customers = by('customers');
  if (customers.length > 0)
    await withAppender('customers', (a) => {
      for (const { unit, parsed } of customers)
        for (const r of parsed.rows) {
          a.appendVarchar(r.customerId);
          a.appendInteger(r.loyaltyScore);
          a.appendVarchar(unit.key);
          a.appendVarchar(unit.version);
          a.appendInteger(r.lineNumber);
          a.appendVarchar(loadedAt);
          a.endRow();
        }
    });
  const products = by('products');
  if (products.length > 0)
    await withAppender('products', (a) => {
      for (const { unit, parsed } of products)
        for (const r of parsed.rows) {
          a.appendVarchar(r.productId);
          a.appendVarchar(r.description);
          a.appendVarchar(r.category);
          a.appendVarchar(unit.key);
          a.appendVarchar(unit.version);
          a.appendInteger(r.lineNumber);
          a.appendVarchar(loadedAt);
          a.endRow();
        }
    });
  const transactions = by('transactions');
  if (transactions.length > 0) {
    await withAppender('transactions', (a) => {
      for (const { unit, parsed } of transactions)
        for (const t of parsed.transactions) {
          a.appendVarchar(t.transactionId);
          a.appendVarchar(t.customerId);
          a.appendVarchar(t.purchasedAt);
          a.appendInteger(t.basketSize);
          a.appendVarchar(unit.key);
          a.appendVarchar(unit.version);
          a.appendInteger(t.lineNumber);
          a.appendVarchar(loadedAt);
          a.endRow();
        }
    });
    await withAppender('transaction_items', (a) => {
      for (const { unit, parsed } of transactions)
        for (const i of parsed.items) {
          a.appendVarchar(i.transactionId);
          a.appendInteger(i.itemIndex);
          a.appendVarchar(i.customerId);
          a.appendVarchar(i.productId);
          a.appendDouble(i.price);
          a.appendVarchar(i.purchasedAt);
          a.appendVarchar(unit.key);
          a.appendVarchar(unit.version);
          a.endRow();
        }
    });
  }
}
