/**
 * The file ledger: the exactly-once memory of ingest, engine-agnostic SQL over `raw.file_ledger`.
 * It outlives Snowflake's own load metadata (64 days for COPY, 14 for pipes).
 *
 * Statuses: loaded (its rows are live) | replaced (a newer version of the key, or a newer snapshot,
 * took over) | superseded (never loaded: something newer was already there) | failed (retryable).
 *
 * Decisions, in order (docs/ARCHITECTURE.md §5):
 *   1. A version the ledger has seen as loaded/replaced/superseded is a duplicate: a no-op.
 *   2. Per key, the newest S3 sequencer wins, within a batch and against the ledger.
 *   3. Snapshot datasets (customers, products): the newest event time wins across keys.
 */
import type { Dataset } from '../config';
import type { Warehouse } from '../warehouse/port';
import type { FileUnit, LoadOutcome, QuarantinedLine } from './types';

export const SNAPSHOT_DATASETS: ReadonlySet<Dataset> = new Set<Dataset>(['customers', 'products']);

/** Raw tables each dataset writes, and the column naming the source key. */
export const DATASET_TABLES: Record<Dataset, readonly string[]> = {
  customers: ['raw.customers'],
  products: ['raw.products'],
  transactions: ['raw.transaction_items', 'raw.transactions'],
};

/**
 * S3 sequencers are hex strings that only order events for the same key; compare them after
 * left-padding to equal length. https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const pa = a.toUpperCase().padStart(width, '0');
  const pb = b.toUpperCase().padStart(width, '0');
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/** Newer of two events for ordering snapshots across keys: event time, then sequencer, then key. */
function newerSnapshot(a: FileUnit, b: FileUnit): boolean {
  if (a.eventTime !== b.eventTime) return Date.parse(a.eventTime) > Date.parse(b.eventTime);
  if (a.key === b.key) return compareSequencers(a.sequencer, b.sequencer) > 0;
  return a.key > b.key;
}

interface LedgerRow {
  bucket: string;
  key: string;
  version: string;
  status: string;
  sequencer: string | null;
  event_time: string | null;
  [k: string]: string | number | boolean | null;
}

const settle = (unit: FileUnit, status: 'duplicate' | 'superseded'): LoadOutcome => ({
  unit,
  status,
  rowsLoaded: 0,
  rowsQuarantined: 0,
});

/**
 * Decide which units of one dataset's batch need loading. Every input unit is either in `toLoad`
 * (at most one per key; for snapshots at most one in all) or settled as duplicate/superseded.
 */
export async function triage(wh: Warehouse, units: FileUnit[]): Promise<{ toLoad: FileUnit[]; settled: LoadOutcome[] }> {
  const settled: LoadOutcome[] = [];
  if (units.length === 0) return { toLoad: [], settled };
  const dataset = units[0]!.dataset;

  // 1. within the batch: one candidate per key, the newest sequencer
  const byKey = new Map<string, FileUnit>();
  for (const unit of units) {
    const id = `${unit.bucket}\u0000${unit.key}`;
    const current = byKey.get(id);
    if (!current) {
      byKey.set(id, unit);
    } else if (compareSequencers(unit.sequencer, current.sequencer) > 0) {
      settled.push(settle(current, current.version === unit.version ? 'duplicate' : 'superseded'));
      byKey.set(id, unit);
    } else {
      settled.push(settle(unit, current.version === unit.version ? 'duplicate' : 'superseded'));
    }
  }
  let candidates = [...byKey.values()];

  // 2. against the ledger
  const seen = await ledgerRows(wh, dataset, candidates);
  const remaining: FileUnit[] = [];
  for (const unit of candidates) {
    const rows = seen.filter((r) => r.bucket === unit.bucket && r.key === unit.key);
    if (rows.some((r) => r.version === unit.version && r.status !== 'failed')) {
      settled.push(settle(unit, 'duplicate'));
    } else if (
      rows.some((r) => (r.status === 'loaded' || r.status === 'replaced') && r.sequencer !== null && compareSequencers(r.sequencer, unit.sequencer) > 0)
    ) {
      settled.push(settle(unit, 'superseded'));
    } else {
      remaining.push(unit);
    }
  }
  candidates = remaining;

  // 3. snapshots: the newest event across keys wins, against the batch and the loaded snapshot
  if (SNAPSHOT_DATASETS.has(dataset) && candidates.length > 0) {
    let newest = candidates[0]!;
    for (const unit of candidates.slice(1)) if (newerSnapshot(unit, newest)) newest = unit;
    for (const unit of candidates) if (unit !== newest) settled.push(settle(unit, 'superseded'));
    const live = await wh.query<LedgerRow>(
      `select bucket, key, version, status, sequencer, cast(event_time as varchar) as event_time
         from raw.file_ledger where dataset = ? and status = 'loaded'`,
      [dataset],
    );
    const liveNewer = live.some((r) => {
      if (r.event_time === null) return false;
      const asUnit = { ...newest, key: r.key, eventTime: toIso(r.event_time), sequencer: r.sequencer ?? '' };
      return newerSnapshot(asUnit, newest);
    });
    if (liveNewer) {
      settled.push(settle(newest, 'superseded'));
      candidates = [];
    } else {
      candidates = [newest];
    }
  }
  return { toLoad: candidates, settled };
}

async function ledgerRows(wh: Warehouse, dataset: Dataset, units: FileUnit[]): Promise<LedgerRow[]> {
  const rows: LedgerRow[] = [];
  // bounded IN lists: a batch is at most 10,000 records, keys are chunked to keep statements small
  for (let i = 0; i < units.length; i += 200) {
    const chunk = units.slice(i, i + 200);
    const rowsOf = await wh.query<LedgerRow>(
      `select bucket, key, version, status, sequencer, cast(event_time as varchar) as event_time
         from raw.file_ledger
        where dataset = ? and key in (${chunk.map(() => '?').join(', ')})`,
      [dataset, ...chunk.map((u) => u.key)],
    );
    rows.push(...rowsOf);
  }
  return rows;
}

function toIso(timestamp: string): string {
  return timestamp.includes('T') ? timestamp : timestamp.replace(' ', 'T') + 'Z';
}

/** '2019-10-01T11:09:00.123Z' -> '2019-10-01 11:09:00.123' (naive UTC, as both engines store it). */
export function toWarehouseTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * Serialise the writers of one dataset: the exactly-once decision (triage) and the write must not
 * interleave with another invocation's, and Snowflake enforces no unique constraints, so the ledger
 * alone cannot reject a second load of the same version. Every write transaction first updates the
 * dataset's row in raw.ingest_lock and then triages again:
 *   - Snowflake: the UPDATE locks the row's micro-partition until COMMIT; a concurrent writer waits
 *     (bounded by the session's LOCK_TIMEOUT) and then sees the first writer's ledger rows.
 *     https://docs.snowflake.com/en/sql-reference/transactions#resource-locking
 *   - DuckDB: optimistic concurrency; the second writer gets a conflict error, which is transient:
 *     the loader retries it, and SQS redelivers if it keeps losing.
 * Fetching and parsing stay outside the lock, so parallel invocations still overlap their I/O.
 */
export async function lockDataset(tx: Warehouse, dataset: Dataset, holder: string): Promise<void> {
  const changed = await tx.execute(`update raw.ingest_lock set holder = ?, taken_at = ? where dataset = ?`, [
    holder,
    toWarehouseTimestamp(new Date().toISOString()),
    dataset,
  ]);
  if (changed === 0) {
    await tx.execute(`insert into raw.ingest_lock (dataset, holder, taken_at) values (?, ?, ?)`, [
      dataset,
      holder,
      toWarehouseTimestamp(new Date().toISOString()),
    ]);
  }
}

/** `(bucket = ? and key = ?) or ...`: portable on both engines, bounded by the batch size. */
function keyPredicate(units: readonly FileUnit[], withVersion = false): { sql: string; params: string[] } {
  const one = withVersion ? '(bucket = ? and key = ? and version = ?)' : '(bucket = ? and key = ?)';
  return {
    sql: units.map(() => one).join(' or '),
    params: units.flatMap((u) => (withVersion ? [u.bucket, u.key, u.version] : [u.bucket, u.key])),
  };
}

const CHUNK = 200;
function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * Inside the caller's transaction: remove what these units' keys loaded before (transactions), or
 * the whole previous snapshot (customers/products), with their quarantine rows, and mark the ledger
 * rows that owned them as replaced. Set-based: a few statements per batch, not per file (a
 * statement costs a round trip on Snowflake).
 */
export async function clearPreviousAll(tx: Warehouse, units: readonly FileUnit[]): Promise<void> {
  if (units.length === 0) return;
  const now = toWarehouseTimestamp(new Date().toISOString());
  const snapshots = [...new Set(units.filter((u) => SNAPSHOT_DATASETS.has(u.dataset)).map((u) => u.dataset))];
  for (const dataset of snapshots) {
    for (const table of DATASET_TABLES[dataset]) await tx.execute(`delete from ${table}`);
    await tx.execute(`delete from raw.quarantine where dataset = ?`, [dataset]);
    await tx.execute(`update raw.file_ledger set status = 'replaced', updated_at = ? where dataset = ? and status = 'loaded'`, [
      now,
      dataset,
    ]);
  }
  const keyed = units.filter((u) => !SNAPSHOT_DATASETS.has(u.dataset));
  for (const part of chunks(keyed)) {
    const tables = new Set(part.flatMap((u) => DATASET_TABLES[u.dataset]));
    const keys = [...new Set(part.map((u) => u.key))];
    for (const table of tables) {
      await tx.execute(`delete from ${table} where _file_key in (${keys.map(() => '?').join(', ')})`, keys);
    }
    const where = keyPredicate(part);
    await tx.execute(`delete from raw.quarantine where ${where.sql}`, where.params);
    await tx.execute(`update raw.file_ledger set status = 'replaced', updated_at = ? where status = 'loaded' and (${where.sql})`, [
      now,
      ...where.params,
    ]);
  }
}

/** clearPreviousAll for one unit. */
export async function clearPrevious(tx: Warehouse, unit: FileUnit): Promise<void> {
  await clearPreviousAll(tx, [unit]);
}

export async function insertQuarantine(tx: Warehouse, unit: FileUnit, lines: QuarantinedLine[]): Promise<void> {
  const now = toWarehouseTimestamp(new Date().toISOString());
  for (let i = 0; i < lines.length; i += 500) {
    const chunk = lines.slice(i, i + 500);
    await tx.execute(
      `insert into raw.quarantine (bucket, key, version, dataset, line_number, raw_text, reason, quarantined_at)
       values ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((l) => [unit.bucket, unit.key, unit.version, unit.dataset, l.lineNumber, l.rawText, l.reason, now]),
    );
  }
}

const LEDGER_STATUS: Record<LoadOutcome['status'], string | undefined> = {
  loaded: 'loaded',
  superseded: 'superseded',
  failed: 'failed',
  duplicate: undefined, // already in the ledger
};

/** Write (replace) the ledger rows of these object versions; `firstErrors` by position. */
export async function recordOutcomes(
  tx: Warehouse,
  outcomes: readonly LoadOutcome[],
  firstErrors: readonly (string | undefined)[] = [],
): Promise<void> {
  const rows = outcomes
    .map((outcome, i) => ({ outcome, status: LEDGER_STATUS[outcome.status], firstError: firstErrors[i] }))
    .filter((r): r is { outcome: LoadOutcome; status: string; firstError: string | undefined } => r.status !== undefined);
  const now = toWarehouseTimestamp(new Date().toISOString());
  for (const part of chunks(rows)) {
    const where = keyPredicate(
      part.map((r) => r.outcome.unit),
      true,
    );
    const previous = await tx.query<{ bucket: string; key: string; version: string; attempts: number }>(
      `select bucket, key, version, attempts from raw.file_ledger where ${where.sql}`,
      where.params,
    );
    const attempts = new Map(previous.map((p) => [`${p.bucket}\u0000${p.key}\u0000${p.version}`, Number(p.attempts)]));
    await tx.execute(`delete from raw.file_ledger where ${where.sql}`, where.params);
    await tx.execute(
      `insert into raw.file_ledger
         (bucket, key, version, dataset, sequencer, event_time, size_bytes, status, rows_loaded, rows_quarantined,
          first_error, attempts, loaded_at, updated_at)
       values ${part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      part.flatMap(({ outcome, status, firstError }) => {
        const { unit } = outcome;
        return [
          unit.bucket,
          unit.key,
          unit.version,
          unit.dataset,
          unit.sequencer,
          toWarehouseTimestamp(unit.eventTime),
          unit.size,
          status,
          outcome.rowsLoaded,
          outcome.rowsQuarantined,
          firstError ?? outcome.error?.message ?? null,
          (attempts.get(`${unit.bucket}\u0000${unit.key}\u0000${unit.version}`) ?? 0) + 1,
          status === 'loaded' ? now : null,
          now,
        ];
      }),
    );
  }
}

/** recordOutcomes for one outcome. */
export async function recordOutcome(tx: Warehouse, outcome: LoadOutcome, firstError?: string): Promise<void> {
  await recordOutcomes(tx, [outcome], [firstError]);
}
