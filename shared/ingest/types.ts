/**
 * Ingest vocabulary. The unit of load is one object version: (bucket, key, version).
 */
import type { Dataset } from '../config';
import type { PipelineError } from '../errors';

export interface FileUnit {
  bucket: string;
  /** Decoded object key (S3 event keys arrive URL-encoded with '+' for spaces). */
  key: string;
  /** The version identity: S3 versionId when the bucket is versioned, else the ETag. */
  version: string;
  versionId: string | undefined;
  etag: string;
  /** S3 sequencer: orders events for the same key (hex, compare after left-padding). */
  sequencer: string;
  /** S3 event time, ISO 8601. */
  eventTime: string;
  size: number;
  dataset: Dataset;
}

export type LoadStatus =
  | 'loaded' // rows are in the warehouse, ledger says loaded
  | 'duplicate' // this exact version was already loaded: a no-op
  | 'superseded' // a newer version of this key (or a newer snapshot) is already loaded, or the object changed
  | 'failed'; // could not be loaded: the record fails (retried, then DLQ)

export interface LoadOutcome {
  unit: FileUnit;
  status: LoadStatus;
  rowsLoaded: number;
  rowsQuarantined: number;
  error?: PipelineError;
}

/** One bad line or CSV row. line_number is 1-based in the file (CSV header is line 1). */
export interface QuarantinedLine {
  lineNumber: number;
  rawText: string;
  reason: string;
}

/**
 * Engine-specific loading of a batch's files for one dataset. Implementations must: skip versions
 * the ledger already has as loaded, apply "newest sequencer wins" per key, replace a key's rows (or
 * a snapshot) atomically together with its ledger row, and quarantine bad rows while loading the rest.
 */
export interface DatasetLoader {
  load(dataset: Dataset, units: FileUnit[]): Promise<LoadOutcome[]>;
}
