/**
 * The ingest layer's tables and views, written once for both engines and derived from the dataset
 * declarations (shared/datasets/). Engines differ here only in type names and in how a view keeps its
 * grants (the dialect, shared/warehouse/dialect.ts).
 *
 * The hot path only appends (docs/ARCHITECTURE.md §5, "one flow"): every load writes its rows under a
 * fresh load id, and its ledger event in the same transaction. Nothing is updated or deleted while
 * loading, so loads of one dataset never wait on each other (Snowflake: INSERT only adds
 * micro-partitions and runs beside other INSERTs, while UPDATE/DELETE/MERGE lock the table,
 * https://docs.snowflake.com/en/sql-reference/transactions#resource-locking). Which load of which
 * version counts is decided where the data is read:
 *
 *   raw.file_events       every event of every object version (loaded, held, confirmed, superseded,
 *                         failed, pending), appended
 *   raw.unit_loads        per object version: the load that wrote it (the first committed one)
 *   raw.live_loads        per key (append datasets) or per dataset (snapshots): the load that is live
 *                         (newest sequencer; snapshots: newest last-modified time the store reported)
 *   raw.file_ledger       per object version: its status (loaded, replaced, superseded, held, failed,
 *                         pending), rows, first error, attempts: what operators and reconcile read
 *   raw.<table>           live rows of a dataset's table (a view of raw.<table>_appended)
 *   raw.quarantine        quarantined lines of the live (and held) loads
 *   raw.cut_loads         the loads a rebuild reads, fixed when it starts (raw.<table>__cut views), so a
 *                         rebuild sees one consistent cut while files keep arriving
 *
 * Compaction (./compact.ts, off the hot path) deletes the rows no view can show any more.
 */
import type { DatasetRegistry } from '../datasets';
import type { TableDecl } from '../datasets/types';
import type { SpecColumn } from './rules/spec';
import type { Dialect } from '../warehouse/dialect';
import type { Warehouse } from '../warehouse/port';

/**
 * What the live views add to a table's declared columns. A row stores only its load id and line: the
 * file it came from (bucket, key, version) and when it loaded are the load's, in the ledger, and the
 * views join them in (rows stay small: no repeated key, version or id strings).
 */
export const META_COLUMNS = ['_bucket', '_file_key', '_file_version', '_load_id', '_line_number', '_loaded_at'] as const;

function columnType(d: Dialect, c: SpecColumn): string {
  switch (c.type) {
    case 'text':
      return 'varchar';
    case 'integer':
      return 'integer';
    case 'decimal':
      return d.decimalType(c.precision, c.scale);
    default:
      return d.timestampType;
  }
}

/**
 * Declared columns of a raw table with their types (from the compiled spec). Values from the file are
 * nullable: the rules decide what a valid record is, and the data tests check the raw layer again
 * (sql/tests/not_null_raw_*.sql); what ingest derives (record id, item index, counts) is never null.
 * A record id (`<key>:<line>`) is not stored: the views compute it from the load's key and the line.
 */
export function columnsOf(d: Dialect, registry: DatasetRegistry, dataset: string, t: TableDecl) {
  const spec = registry.spec(dataset);
  const table = spec.tables.find((x) => x.name === t.name)!;
  return table.columns.map((c) => ({
    name: c.name,
    type: columnType(d, c),
    notNull: c.kind !== 'record' && c.kind !== 'item',
    stored: c.kind !== 'recordId',
    column: c,
  }));
}

/** The columns an appended table stores, in order: the stored declared ones, then load id and line. */
export function storedColumns(d: Dialect, registry: DatasetRegistry, dataset: string, t: TableDecl) {
  return columnsOf(d, registry, dataset, t).filter((c) => c.stored);
}

function appendedTableDdl(d: Dialect, registry: DatasetRegistry, dataset: string, t: TableDecl, p: string): string {
  const cols = storedColumns(d, registry, dataset, t).map((c) => `  ${c.name.padEnd(18)} ${c.type}${c.notNull ? ' not null' : ''}`);
  return [
    `-- grain: ${t.grain}; every load of dataset ${dataset} appends here (live rows: raw.${t.name})`,
    `create table if not exists ${p}raw.${t.name}_appended (`,
    [...cols, `  _load_id           varchar not null`, `  _line_number       integer not null`].join(',\n'),
    `)`,
  ].join('\n');
}

function tableViews(d: Dialect, registry: DatasetRegistry, dataset: string, t: TableDecl, p: string): string[] {
  const cols = columnsOf(d, registry, dataset, t)
    .map((c) => (c.stored ? `a.${c.name}` : `l.key || ':' || a._line_number as ${c.name}`))
    .concat(['l.bucket as _bucket', 'l.key as _file_key', 'l.version as _file_version', 'a._load_id', 'a._line_number', 'l.recorded_at as _loaded_at'])
    .join(',\n       ');
  const view = (loads: string) => `select ${cols}\n  from ${p}raw.${t.name}_appended a\n  join ${p}raw.${loads} l on l.load_id = a._load_id`;
  return [d.createView(`${p}raw.${t.name}`, view('live_loads')), d.createView(`${p}raw.${t.name}__cut`, view('cut_loads'))];
}

/** Tables shared by every dataset. */
function coreTables(d: Dialect, p: string): string[] {
  const ts = d.timestampType;
  return [
    `-- grain: one row per event of an object version; never updated (see ${p}raw.file_ledger for the status)
create table if not exists ${p}raw.file_events (
  bucket            varchar not null,
  key               varchar not null,
  version           varchar not null,   -- versionId, or on an unversioned bucket 'etag@sequencer'
  version_id        varchar,
  etag              varchar,
  sequencer         varchar,
  dataset           varchar not null,
  replaces          varchar not null,   -- 'dataset' (snapshot) or 'key' (append)
  event_time        ${ts},              -- what the notification claims: informational only
  last_modified     ${ts},              -- what the object store says: orders snapshots
  size_bytes        bigint,
  load_id           varchar,            -- loaded/held: the load whose rows this version is
  status            varchar not null,   -- loaded | held | confirmed | superseded | failed | pending
  rows_loaded       bigint not null,
  rows_quarantined  bigint not null,
  first_error       varchar,
  recorded_at       ${ts} not null
)`,
    `-- grain: one row per quarantined line or CSV record of a load (fatal: the file-level verdict)
create table if not exists ${p}raw.quarantine_appended (
  _load_id        varchar not null,
  dataset         varchar not null,
  line_number     integer not null,
  raw_text        varchar,
  reason          varchar not null,
  fatal           boolean not null,
  quarantined_at  ${ts} not null
)`,
    `-- grain: one row per load a rebuild reads (replaced as a whole when a rebuild starts)
create table if not exists ${p}raw.cut_loads (
  load_id      varchar not null,
  dataset      varchar not null,
  bucket       varchar not null,
  key          varchar not null,
  version      varchar not null,
  recorded_at  ${ts} not null,
  cut_at       ${ts} not null
)`,
  ];
}

/** S3 sequencers order events of one key as hex strings of varying length: compare them padded. */
const SEQ = (alias: string) => `lpad(upper(coalesce(${alias}.sequencer, '')), 64, '0')`;

function coreViews(d: Dialect, p: string): string[] {
  return [
    d.createView(
      `${p}raw.unit_loads`,
      `select bucket, key, version, dataset, replaces, sequencer, etag, last_modified, load_id, status,
       rows_loaded, rows_quarantined, first_error, recorded_at
  from (select e.bucket, e.key, e.version, e.dataset, e.replaces, e.sequencer, e.etag, e.last_modified, e.load_id,
               e.status, e.rows_loaded, e.rows_quarantined, e.first_error, e.recorded_at,
               row_number() over (partition by e.bucket, e.key, e.version order by e.recorded_at, e.load_id) as pick
          from ${p}raw.file_events e
         where e.status in ('loaded', 'held')) w
 where pick = 1`,
    ),
    d.createView(
      `${p}raw.live_loads`,
      `select load_id, bucket, key, version, dataset, last_modified, sequencer, recorded_at
  from (select u.load_id, u.bucket, u.key, u.version, u.dataset, u.last_modified, u.sequencer, u.recorded_at,
               row_number() over (
                 partition by u.dataset, case when u.replaces = 'dataset' then '' else u.bucket || '/' || u.key end
                 order by case when u.replaces = 'dataset' then u.last_modified end desc nulls last,
                          u.key desc, ${SEQ('u')} desc, u.recorded_at desc) as pick
          from ${p}raw.unit_loads u
         where u.status = 'loaded'
            or exists (select 1 from ${p}raw.file_events c
                        where c.status = 'confirmed' and c.bucket = u.bucket and c.key = u.key and c.version = u.version)) r
 where pick = 1`,
    ),
    d.createView(
      `${p}raw.file_ledger`,
      `select u.bucket, u.key, u.version, u.etag, u.dataset, u.sequencer, u.event_time, u.last_modified, u.size_bytes,
       case when l.load_id is null then x.status
            when v.load_id is not null then 'loaded'
            when l.status = 'held' and c.confirmed_at is null then 'held'
            else 'replaced' end as status,
       coalesce(l.rows_loaded, 0) as rows_loaded,
       coalesce(l.rows_quarantined, 0) as rows_quarantined,
       coalesce(l.first_error, x.first_error) as first_error,
       u.attempts,
       case when l.status = 'loaded' then l.recorded_at else c.confirmed_at end as loaded_at,
       u.updated_at
  from (select bucket, key, version, max(etag) as etag, max(dataset) as dataset, max(sequencer) as sequencer, max(event_time) as event_time,
               max(last_modified) as last_modified, max(size_bytes) as size_bytes,
               sum(case when status = 'confirmed' then 0 else 1 end) as attempts, max(recorded_at) as updated_at
          from ${p}raw.file_events
         group by bucket, key, version) u
  left join ${p}raw.unit_loads l on l.bucket = u.bucket and l.key = u.key and l.version = u.version
  left join ${p}raw.live_loads v on v.load_id = l.load_id
  left join (select bucket, key, version, min(recorded_at) as confirmed_at
               from ${p}raw.file_events where status = 'confirmed' group by bucket, key, version) c
         on c.bucket = u.bucket and c.key = u.key and c.version = u.version
  left join (select bucket, key, version, status, first_error
               from (select e.bucket, e.key, e.version, e.status, e.first_error,
                            row_number() over (partition by e.bucket, e.key, e.version order by e.recorded_at desc) as pick
                       from ${p}raw.file_events e
                      where e.status in ('superseded', 'failed', 'pending')) w
              where pick = 1) x
         on x.bucket = u.bucket and x.key = u.key and x.version = u.version`,
    ),
    d.createView(
      `${p}raw.quarantine`,
      `select u.bucket, u.key, u.version, q.dataset, q.line_number, q.raw_text, q.reason, q.quarantined_at
  from ${p}raw.quarantine_appended q
  join ${p}raw.unit_loads u on u.load_id = q._load_id
 where not q.fatal
   and (u.status = 'held' or q._load_id in (select load_id from ${p}raw.live_loads))`,
    ),
  ];
}

/** Every statement of the ingest layer for these datasets, in order (idempotent). */
export function ingestSchemaStatements(d: Dialect, registry: DatasetRegistry, qualifier = ''): string[] {
  const each = <T>(fn: (dataset: string, t: TableDecl) => T) => registry.datasets.flatMap((ds) => ds.tables.map((t) => fn(ds.name, t)));
  return [
    ...coreTables(d, qualifier),
    ...each((dataset, t) => appendedTableDdl(d, registry, dataset, t, qualifier)),
    ...coreViews(d, qualifier),
    ...each((dataset, t) => tableViews(d, registry, dataset, t, qualifier)).flat(),
  ];
}

const ensured = new WeakMap<object, WeakMap<DatasetRegistry, Promise<void>>>();

/**
 * Engines that migrate themselves (DuckDB) get the ingest layer of a registry's datasets on first use:
 * tables IF NOT EXISTS, views replaced. Once per warehouse and registry per process (concurrent DDL on
 * one DuckDB catalog conflicts). Snowflake's comes from migrate (its load role cannot create tables).
 */
export function ensureIngestSchema(wh: Warehouse, registry: DatasetRegistry): Promise<void> {
  let byRegistry = ensured.get(wh);
  if (!byRegistry) ensured.set(wh, (byRegistry = new WeakMap()));
  let done = byRegistry.get(registry);
  if (!done) {
    done = (async () => {
      for (const sql of ingestSchemaStatements(wh.dialect, registry)) await wh.execute(sql);
    })();
    done.catch(() => byRegistry.delete(registry));
    byRegistry.set(registry, done);
  }
  return done;
}
