/**
 * Ingest vocabulary (docs/ARCHITECTURE.md §5). The unit of load is one object version.
 */
import type { PipelineError } from '../errors';

export interface FileUnit {
  bucket: string;
  /** Decoded object key (S3 event keys arrive URL-encoded with '+' for spaces). */
  key: string;
  /**
   * The version identity: the S3 versionId on a versioned bucket; on an unversioned one
   * `<etag>@<sequencer>`, so the same content uploaded again is a new unit.
   */
  version: string;
  versionId: string | undefined;
  etag: string;
  /** S3 sequencer: orders events for the same key (hex, compare after left-padding). */
  sequencer: string;
  /** What the notification claims; informational (never used to order anything). */
  eventTime: string;
  size: number;
  dataset: string;
  /** SQS ApproximateReceiveCount of the message that carried this unit (1 on first delivery). */
  receiveCount: number;
}

/**
 * What happened to a unit. The ledger (raw.file_ledger) shows the same words, except `duplicate`
 * (nothing is recorded for a redelivery) and `replaced` (a loaded unit a newer one took over from,
 * derived when read).
 */
export type LoadStatus =
  | 'loaded' // its rows are live
  | 'duplicate' // this exact version was handled before: a no-op
  | 'superseded' // never loaded: something newer was already there, or the object changed or vanished
  | 'held' // a snapshot that would remove most of its table, or came from another key: waits for an operator
  | 'pending' // handed to Snowpipe: finished on a later delivery of the same message
  | 'failed'; // could not be loaded: the record fails (retried, then DLQ)

export interface LoadOutcome {
  unit: FileUnit;
  status: LoadStatus;
  rowsLoaded: number;
  rowsQuarantined: number;
  error?: PipelineError;
  /** held/superseded: why, in words (also the ledger's first_error). */
  note?: string;
}

/** A unit whose lines are in the warehouse's reach, about to be appended under `loadId`. */
export interface LandedFile {
  unit: FileUnit;
  loadId: string;
  /** Last-Modified as the object store reports it (orders snapshots). */
  lastModified: Date;
}

/** What a load appended, per load id. */
export interface AppendCounts {
  rows: number;
  quarantined: number;
  firstReason: string | undefined;
  /** The file could not be read as this dataset: nothing of it counts. */
  fatal: string | undefined;
}
