/**
 * The file ledger: the exactly-once memory of ingest, in portable SQL on both engines. Writes only
 * append events to raw.file_events (in the same transaction as the rows they describe); what a unit's
 * status is, and which load is live, is read through the views of ./schema.ts. It outlives
 * Snowflake's own load metadata (64 days for COPY, 14 for pipes).
 *
 * Triage, before loading (docs/ARCHITECTURE.md §5):
 *   1. within a batch, one candidate per key: the newest sequencer;
 *   2. a version the ledger has seen as loaded, replaced, superseded or held is a duplicate;
 *   3. append datasets: a version older than the key's live load (by sequencer) is superseded.
 * Two invocations may still load the same version at once (nothing is locked): both append, and the
 * views count only the first committed load of a version, so a reader never sees it twice.
 */
import type { DatasetDecl } from '../datasets/types';
import type { Param, Warehouse } from '../warehouse/port';
import type { FileUnit, LoadOutcome } from './types';

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

/**
 * The ledger's version of an object: its versionId; on an unversioned bucket `<etag>@<sequencer>`,
 * because the same ETag at a newer sequencer is a new upload of the same bytes, a new unit of load.
 */
export function unitVersion(versionId: string | undefined, etag: string, sequencer: string): string {
  return versionId ?? `${etag}@${sequencer}`;
}

/** '2019-10-01T11:09:00.123Z' -> '2019-10-01 11:09:00.123' (naive UTC, as both engines store it). */
export function toWarehouseTimestamp(at: string | Date): string {
  return new Date(at).toISOString().replace('T', ' ').replace('Z', '');
}

export interface LedgerEvent {
  unit: FileUnit;
  status: 'loaded' | 'held' | 'confirmed' | 'superseded' | 'failed' | 'pending';
  replaces: 'dataset' | 'key';
  loadId?: string;
  lastModified?: Date;
  rowsLoaded?: number;
  rowsQuarantined?: number;
  firstError?: string;
}

const EVENT_COLUMNS = [
  'bucket',
  'key',
  'version',
  'version_id',
  'etag',
  'sequencer',
  'dataset',
  'replaces',
  'event_time',
  'last_modified',
  'size_bytes',
  'load_id',
  'status',
  'rows_loaded',
  'rows_quarantined',
  'first_error',
  'recorded_at',
];

const CHUNK = 200;

/** Append ledger events (several statements only past CHUNK events). */
export async function appendEvents(tx: Warehouse, events: readonly LedgerEvent[], now: Date = new Date()): Promise<void> {
  const at = toWarehouseTimestamp(now);
  for (let i = 0; i < events.length; i += CHUNK) {
    const part = events.slice(i, i + CHUNK);
    const row = `(${EVENT_COLUMNS.map(() => '?').join(', ')})`;
    await tx.execute(
      `insert into raw.file_events (${EVENT_COLUMNS.join(', ')}) values ${part.map(() => row).join(', ')}`,
      part.flatMap((e): Param[] => [
        e.unit.bucket,
        e.unit.key,
        e.unit.version,
        e.unit.versionId ?? null,
        e.unit.etag || null,
        e.unit.sequencer || null,
        e.unit.dataset,
        e.replaces,
        isoOrNull(e.unit.eventTime),
        e.lastModified ? toWarehouseTimestamp(e.lastModified) : null,
        e.unit.size,
        e.loadId ?? null,
        e.status,
        e.rowsLoaded ?? 0,
        e.rowsQuarantined ?? 0,
        e.firstError ? e.firstError.slice(0, 4000) : null,
        at,
      ]),
    );
  }
}

function isoOrNull(t: string): string | null {
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? toWarehouseTimestamp(new Date(ms)) : null;
}


const settle = (unit: FileUnit, status: 'duplicate' | 'superseded', note?: string): LoadOutcome => ({
  unit,
  status,
  rowsLoaded: 0,
  rowsQuarantined: 0,
  ...(note ? { note } : {}),
});


/**
 * Decide which of one dataset's units need loading. Every input unit ends in `toLoad` or `settled`;
 * settled superseded units also come back as ledger events to record.
 */
export async function triage(
  wh: Warehouse,
  decl: DatasetDecl,
  units: readonly FileUnit[],
): Promise<{ toLoad: FileUnit[]; settled: LoadOutcome[]; events: LedgerEvent[] }> {
  const settled: LoadOutcome[] = [];
  const events: LedgerEvent[] = [];
  const replaces = decl.kind === 'snapshot' ? 'dataset' : 'key';
  const byKey = new Map<string, FileUnit>();
  for (const unit of units) {
    const id = `${unit.bucket}/${unit.key}`;
    const current = byKey.get(id);
    if (!current) byKey.set(id, unit);
    else if (compareSequencers(unit.sequencer, current.sequencer) > 0) {
      settled.push(settle(current, current.version === unit.version ? 'duplicate' : 'superseded', 'a newer event of this key came in the same batch'));
      byKey.set(id, unit);
    } else {
      settled.push(settle(unit, current.version === unit.version ? 'duplicate' : 'superseded', 'a newer event of this key came in the same batch'));
    }
  }
  for (const s of settled) if (s.status === 'superseded') events.push({ unit: s.unit, status: 'superseded', replaces, firstError: s.note });
  const candidates = [...byKey.values()];
  // one read of the keys' events (the table, not the views: triage runs on every batch)
  const seen = await keyEvents(wh, candidates);
  const toLoad: FileUnit[] = [];
  for (const unit of candidates) {
    const mine = seen.filter((r) => r.bucket === unit.bucket && r.key === unit.key);
    if (mine.some((r) => r.version === unit.version && DONE_EVENTS.has(r.status))) {
      settled.push(settle(unit, 'duplicate'));
      continue;
    }
    // append datasets: the live version of a key is the loaded one with the newest sequencer
    const liveSeq =
      decl.kind === 'append'
        ? mine.filter((r) => r.status === 'loaded' && r.sequencer).reduce<string | undefined>((a, r) => (a === undefined || compareSequencers(r.sequencer!, a) > 0 ? r.sequencer! : a), undefined)
        : undefined;
    if (liveSeq !== undefined && compareSequencers(liveSeq, unit.sequencer) > 0) {
      const note = 'a newer version of this key is already loaded';
      settled.push(settle(unit, 'superseded', note));
      events.push({ unit, status: 'superseded', replaces, firstError: note });
      continue;
    }
    toLoad.push(unit);
  }
  return { toLoad, settled, events };
}

/** Events after which a version is never loaded again (failed and pending are retried). */
const DONE_EVENTS = new Set(['loaded', 'held', 'superseded']);

async function keyEvents(wh: Warehouse, units: readonly FileUnit[]) {
  const rows: { bucket: string; key: string; version: string; status: string; sequencer: string | null }[] = [];
  for (let i = 0; i < units.length; i += CHUNK) {
    const where = keyMatch(units.slice(i, i + CHUNK));
    rows.push(
      ...(await wh.query<{ bucket: string; key: string; version: string; status: string; sequencer: string | null }>(
        `select bucket, key, version, status, sequencer from raw.file_events
          where status in ('loaded', 'held', 'superseded') and (${where.sql})`,
        where.params,
      )),
    );
  }
  return rows;
}

function keyMatch(units: readonly FileUnit[], alias = ''): { sql: string; params: string[] } {
  const p = alias ? `${alias}.` : '';
  return {
    sql: units.map(() => `(${p}bucket = ? and ${p}key = ?)`).join(' or '),
    params: units.flatMap((u) => [u.bucket, u.key]),
  };
}



/** The live snapshot of a dataset: its key, sequencer, last-modified time and rows in its first table. */
export async function liveSnapshot(
  wh: Warehouse,
  decl: DatasetDecl,
): Promise<{ bucket: string; key: string; sequencer: string; lastModified: string; rows: number } | undefined> {
  const table = firstRecordTable(decl);
  const [row] = await wh.query<{ bucket: string; key: string; sequencer: string | null; last_modified: string; n: number }>(
    `select l.bucket, l.key, l.sequencer, l.last_modified,
            (select count(*) from raw.${table}_appended a where a._load_id = l.load_id) as n
       from raw.live_loads l
      where l.dataset = ?`,
    [decl.name],
  );
  if (!row) return undefined;
  return { bucket: row.bucket, key: row.key, sequencer: row.sequencer ?? '', lastModified: row.last_modified, rows: Number(row.n) };
}

/** The table whose rows count a file's loaded records: the first one with one row per record. */
export function firstRecordTable(decl: DatasetDecl): string {
  const t = decl.tables.find((x) => x.per === undefined);
  if (!t) throw new Error(`dataset ${decl.name} has no table with one row per record`);
  return t.name;
}
