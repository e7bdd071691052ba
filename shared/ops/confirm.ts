/**
 * Confirm a held snapshot (docs/ARCHITECTURE.md §5, snapshot guard): the ingest flow holds a snapshot
 * that would remove most of its table or that comes from another key than the live one; an operator
 * who has looked at it appends a `confirmed` event, and the snapshot becomes live if it is the newest.
 * Nothing is reloaded: its rows were appended when it was held.
 */
import { InvalidInputError } from '../errors';
import { appendEvents } from '../ingest/ledger';
import type { FileUnit } from '../ingest/types';
import type { Warehouse } from '../warehouse/port';

export interface ConfirmResult {
  bucket: string;
  key: string;
  version: string;
  dataset: string;
  /** Why it was held. */
  reason: string | null;
  /** Whether it is live now (false: a newer snapshot is live). */
  live: boolean;
}

export async function confirmHeld(wh: Warehouse, opts: { bucket: string; key: string; version?: string }): Promise<ConfirmResult> {
  const held = await wh.query<{ version: string; dataset: string; first_error: string | null; sequencer: string | null; etag: string | null }>(
    `select version, dataset, first_error, sequencer, etag from raw.file_ledger
      where bucket = ? and key = ? and status = 'held'${opts.version ? ' and version = ?' : ''}
      order by updated_at desc`,
    opts.version ? [opts.bucket, opts.key, opts.version] : [opts.bucket, opts.key],
  );
  const unit = held[0];
  if (!unit) {
    const what = opts.version ? `version ${opts.version} of s3://${opts.bucket}/${opts.key}` : `s3://${opts.bucket}/${opts.key}`;
    throw new InvalidInputError(`${what} is not held (see npm run reconcile, or raw.file_ledger where status = 'held')`);
  }
  const fileUnit: FileUnit = {
    bucket: opts.bucket,
    key: opts.key,
    version: unit.version,
    versionId: undefined,
    etag: unit.etag ?? '',
    sequencer: unit.sequencer ?? '',
    eventTime: new Date().toISOString(),
    size: 0,
    dataset: unit.dataset,
    receiveCount: 1,
  };
  await wh.transaction((tx) => appendEvents(tx, [{ unit: fileUnit, status: 'confirmed', replaces: 'dataset', firstError: 'confirmed by an operator' }]));
  const [now] = await wh.query<{ status: string }>(`select status from raw.file_ledger where bucket = ? and key = ? and version = ?`, [
    opts.bucket,
    opts.key,
    unit.version,
  ]);
  return { bucket: opts.bucket, key: opts.key, version: unit.version, dataset: unit.dataset, reason: unit.first_error, live: now?.status === 'loaded' };
}
