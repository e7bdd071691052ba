/**
 * Reconcile: the landing bucket against the file ledger. Every routed object's current version
 * should be live in the warehouse (for snapshots: the newest snapshot file should be); anything else
 * is reported, and `--fix` replays what a replay can fix.
 *
 * Findings per object (current version):
 *   loaded          live, nothing quarantined
 *   quarantined     live, with quarantined rows (reported, not a failure: the file is loaded)
 *   older_snapshot  a customers/products file older than the live snapshot: not live, by design
 *   in_flight       not live yet, but modified within the grace period: probably still queued
 *   missing         never loaded: no version of the key is live                    (problem)
 *   changed         another version of the key is live: the object changed since loading (ETag or
 *                   version id differs)                                            (problem)
 *   failed          the ledger recorded a failure of this version (unreadable file) (problem)
 *   held            a snapshot the ingest guard holds until an operator confirms it (problem)
 * and per ledger row:
 *   orphaned        live rows from a key that is no longer in the bucket (reported, not a failure)
 *
 * A scheduler alerts on the exit code: non-zero when any problem is found.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Route } from '../config';
import { defaultRegistry } from '../datasets';
import type { Warehouse } from '../warehouse/port';
import { collect, listLanding, selectObjects, versionOf, type RoutedObject } from './landing';
import { replay, type ReplayResult, type SequencerStyle } from './replay';

export type Finding =
  'loaded' | 'quarantined' | 'older_snapshot' | 'in_flight' | 'missing' | 'changed' | 'failed' | 'held' | 'orphaned';

export const FINDINGS: readonly Finding[] = [
  'missing',
  'changed',
  'failed',
  'held',
  'in_flight',
  'quarantined',
  'orphaned',
  'older_snapshot',
  'loaded',
];

/** Findings that make reconcile exit non-zero. */
export const PROBLEMS: ReadonlySet<Finding> = new Set<Finding>(['missing', 'changed', 'failed', 'held']);
/** Findings `--fix` replays. A failed version fails again until the file is fixed (a new version). */
export const REPLAYABLE: ReadonlySet<Finding> = new Set<Finding>(['missing', 'changed']);

export interface LedgerEntry {
  key: string;
  version: string;
  /** Without quotes; matches an unversioned object to its units (version is `<etag>@<sequencer>`). */
  etag: string | null;
  dataset: string;
  status: string;
  rows_loaded: number;
  rows_quarantined: number;
  first_error: string | null;
  attempts: number;
}

export interface ReconcileEntry {
  key: string;
  dataset: string;
  finding: Finding;
  /** The object's current version (for orphaned: the live version of the vanished key). */
  version: string;
  /** The version the warehouse holds for this key, when it is another one. */
  liveVersion?: string;
  rowsLoaded?: number;
  rowsQuarantined?: number;
  error?: string;
  attempts?: number;
  lastModified?: string;
  note?: string;
}

export interface ReconcileReport {
  objects: number;
  ledgerRows: number;
  entries: ReconcileEntry[];
  counts: Record<Finding, number>;
  problems: number;
}

export interface ClassifyOptions {
  now: Date;
  /** Objects modified less than this long ago are in flight, not missing (default 0). */
  graceSeconds?: number;
}

/** Pure: objects (routed, current versions) + ledger rows -> one finding per object and orphan. */
export function classify(
  objects: readonly RoutedObject[],
  ledger: readonly LedgerEntry[],
  opts: ClassifyOptions,
): ReconcileReport {
  const graceCutoff = opts.now.getTime() - (opts.graceSeconds ?? 0) * 1000;
  const byVersion = new Map(ledger.map((r) => [`${r.key}\u0000${r.version}`, r]));
  // an unversioned object is known by its ETag: of its units, the one that loaded (else the last seen)
  const rank = (r: LedgerEntry) => (r.status === 'loaded' ? 3 : r.status === 'replaced' || r.status === 'held' ? 2 : 1);
  const byEtag = new Map<string, LedgerEntry>();
  for (const r of ledger) {
    if (!r.etag) continue;
    const id = `${r.key}\u0000${r.etag}`;
    const current = byEtag.get(id);
    if (!current || rank(r) > rank(current)) byEtag.set(id, r);
  }
  const liveByKey = new Map<string, LedgerEntry>();
  const liveByDataset = new Map<string, LedgerEntry>();
  for (const r of ledger) {
    if (r.status !== 'loaded') continue;
    liveByKey.set(r.key, r);
    liveByDataset.set(r.dataset, r);
  }
  const objectByKey = new Map(objects.map((o) => [o.key, o]));
  const entries: ReconcileEntry[] = [];

  for (const o of objects) {
    const version = versionOf(o);
    const row = o.versionId ? byVersion.get(`${o.key}\u0000${version}`) : byEtag.get(`${o.key}\u0000${o.etag}`);
    const base = { key: o.key, dataset: o.dataset, version, lastModified: o.lastModified.toISOString() };
    const live = liveByKey.get(o.key);
    const snapshot = defaultRegistry.has(o.dataset) && defaultRegistry.get(o.dataset).kind === 'snapshot';

    if (row?.status === 'loaded') {
      entries.push({
        ...base,
        finding: row.rows_quarantined > 0 ? 'quarantined' : 'loaded',
        rowsLoaded: row.rows_loaded,
        rowsQuarantined: row.rows_quarantined,
      });
      continue;
    }
    if (row?.status === 'held') {
      entries.push({ ...base, finding: 'held', rowsLoaded: row.rows_loaded, note: row.first_error ?? undefined });
      continue;
    }
    if (row?.status === 'failed') {
      entries.push({
        ...base,
        finding: 'failed',
        error: row.first_error ?? undefined,
        attempts: row.attempts,
      });
      continue;
    }
    if (snapshot && !live) {
      // Only one snapshot is live per dataset: a file older than the live one is not expected to be.
      const liveSnapshot = liveByDataset.get(o.dataset);
      const liveObject = liveSnapshot ? objectByKey.get(liveSnapshot.key) : undefined;
      const olderThanLive =
        liveObject !== undefined &&
        (o.lastModified.getTime() < liveObject.lastModified.getTime() ||
          (o.lastModified.getTime() === liveObject.lastModified.getTime() && o.key < liveObject.key));
      if (olderThanLive || row?.status === 'superseded' || row?.status === 'replaced') {
        entries.push({ ...base, finding: 'older_snapshot', note: row ? `ledger: ${row.status}` : undefined });
        continue;
      }
    }
    let finding: Finding = live ? 'changed' : 'missing';
    let note: string | undefined;
    if (row && o.versionId) {
      // the ledger has seen this very version id, and a replay of it would be settled as a duplicate
      // (on an unversioned bucket a replay is a new unit of the same ETag, which does load)
      note = `ledger holds this version as ${row.status}: a replay will not reload it`;
    }
    if (o.lastModified.getTime() > graceCutoff && !row) finding = 'in_flight';
    entries.push({ ...base, finding, liveVersion: live?.version, note });
  }

  for (const r of ledger) {
    if (r.status === 'loaded' && !objectByKey.has(r.key)) {
      entries.push({
        key: r.key,
        dataset: r.dataset,
        finding: 'orphaned',
        version: r.version,
        rowsLoaded: r.rows_loaded,
      });
    }
  }

  const counts = Object.fromEntries(FINDINGS.map((f) => [f, 0])) as Record<Finding, number>;
  for (const e of entries) counts[e.finding]++;
  const order = new Map(FINDINGS.map((f, i) => [f, i]));
  entries.sort((a, b) => order.get(a.finding)! - order.get(b.finding)! || a.key.localeCompare(b.key));
  return {
    objects: objects.length,
    ledgerRows: ledger.length,
    entries,
    counts,
    problems: entries.filter((e) => PROBLEMS.has(e.finding)).length,
  };
}

/** The ledger rows of one bucket (optionally under a prefix), in a portable statement. */
export async function readLedger(wh: Warehouse, bucket: string, prefix = ''): Promise<LedgerEntry[]> {
  const rows = await wh.query(
    `select key, version, etag, dataset, status, rows_loaded, rows_quarantined, first_error, attempts
       from raw.file_ledger
      where bucket = ?${prefix ? ' and substr(key, 1, ?) = ?' : ''}`,
    prefix ? [bucket, prefix.length, prefix] : [bucket],
  );
  return rows.map((row) => {
    const r = Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      key: String(r.key),
      version: String(r.version),
      etag: r.etag === null || r.etag === undefined ? null : String(r.etag),
      dataset: String(r.dataset),
      status: String(r.status),
      rows_loaded: Number(r.rows_loaded ?? 0),
      rows_quarantined: Number(r.rows_quarantined ?? 0),
      first_error: r.first_error === null || r.first_error === undefined ? null : String(r.first_error),
      attempts: Number(r.attempts ?? 0),
    };
  });
}

export interface ReconcileOptions {
  s3: S3Client;
  wh: Warehouse;
  bucket: string;
  routes: readonly Route[];
  prefix?: string;
  versioned?: boolean;
  graceSeconds?: number;
  now?: Date;
  /** Replay the missing and changed objects (needs sqs, queueUrl, region, style). */
  fix?: { sqs: SQSClient; queueUrl: string; region: string; style: SequencerStyle; dryRun?: boolean };
}

export interface ReconcileResult extends ReconcileReport {
  unrouted: string[];
  fixed?: ReplayResult;
}

export async function reconcile(opts: ReconcileOptions): Promise<ReconcileResult> {
  // list first, then read the ledger: an object loaded in between shows as loaded, not missing
  const objects = await collect(
    listLanding(opts.s3, opts.bucket, { prefix: opts.prefix, versioned: opts.versioned }),
  );
  const ledger = await readLedger(opts.wh, opts.bucket, opts.prefix);
  const { routed, unrouted } = selectObjects(objects, opts.routes);
  const report = classify(routed, ledger, { now: opts.now ?? new Date(), graceSeconds: opts.graceSeconds });
  const result: ReconcileResult = { ...report, unrouted };
  if (opts.fix) {
    const replayable = new Set(
      report.entries.filter((e) => REPLAYABLE.has(e.finding) && !e.note).map((e) => e.key),
    );
    result.fixed = await replay({
      s3: opts.s3,
      sqs: opts.fix.sqs,
      bucket: opts.bucket,
      queueUrl: opts.fix.queueUrl,
      region: opts.fix.region,
      routes: opts.routes,
      style: opts.fix.style,
      dryRun: opts.fix.dryRun,
      objects: routed.filter((o) => replayable.has(o.key)),
    });
  }
  return result;
}
