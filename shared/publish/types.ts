/**
 * Contracts of the part writer, shared by the transfer and the weekly export of `rebuild`.
 *
 * A publish run writes data parts under one run prefix, partition by partition, then writes
 * `<runPrefix>/_manifest.json` last: the manifest is the commit marker. A reader that finds no
 * manifest ignores the prefix; a run that fails leaves no manifest and no open multipart upload.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ColumnKind, Row } from '../warehouse/port';

export type { Row } from '../warehouse/port';

export const OUTPUT_FORMATS = ['jsonl.gz', 'csv.gz', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * A column of the published rows, in output order. `role` is free text for the manifest (the
 * transfer uses `month_key`, `month`, `sum`, `group`); `type` is the engine's type name of the
 * source. `output_type` is the one type the column is written as (INTEGER, BIGINT, DECIMAL(p,s),
 * DOUBLE, DATE, TIMESTAMP, BOOLEAN, VARCHAR); without it, it is derived from `kind` and `type`.
 */
export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  type?: string;
  role?: string;
  output_type?: string;
  /** Set by the writer when the column's values were replaced by keyed HMAC-SHA256 digests. */
  pseudonymised?: boolean;
}

/** Keyed HMAC-SHA256 of the named columns' values (hex), for exports that must not reveal ids. */
export interface PseudonymiseOptions {
  columns: string[];
  /** The secret key (from Secrets Manager in AWS); at least 16 bytes. */
  key: string | Buffer;
}

export interface PartWriterOptions {
  bucket: string;
  /** Key prefix of this run, without a trailing slash, e.g. `transfer/ORDERS_100K/20240101T000000Z-ab12cd`. */
  runPrefix: string;
  format?: OutputFormat;
  columns: ColumnSpec[];
  /** Default: the process-wide client from `shared/storage/object-store`. */
  client?: S3Client;
  /**
   * Start a new part file once a part holds this many bytes, checked between batches: bytes before
   * gzip for the `.gz` formats, file bytes for parquet. Default 256 MiB.
   */
  maxPartBytes?: number;
  /** Multipart part size (min 5 MiB); memory held per open part is about partSize * (queueSize + 1). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded concurrently per open file. Default 2. */
  queueSize?: number;
  /** gzip level for the `.gz` formats (1 fastest .. 9 smallest). Default 6 (zlib's default). */
  gzipLevel?: number;
  pseudonymise?: PseudonymiseOptions;
  /** Called after each batch is accepted; for progress bars. */
  onProgress?: (progress: PublishProgress) => void;
}

export interface PublishProgress {
  rows: number;
  bytes: number;
  parts: number;
  partition: string;
}

export interface PartInfo {
  /** Full object key. */
  key: string;
  /** Partition path relative to the run prefix, e.g. `month=2024-01`. */
  partition: string;
  rows: number;
  /** Encoded (compressed) size in bytes. */
  bytes: number;
  /** Hex SHA-256 of the object's bytes; null when the part was written by someone else (Snowflake unload). */
  sha256: string | null;
}

export interface Manifest {
  manifest_version: 1;
  created_at: string;
  bucket: string;
  prefix: string;
  format: OutputFormat;
  row_count: number;
  bytes: number;
  columns: ColumnSpec[];
  partitions: Array<{ partition: string; rows: number; parts: number }>;
  parts: PartInfo[];
  [extra: string]: unknown;
}

export interface CommitResult {
  manifestKey: string;
  rowCount: number;
  bytes: number;
  parts: PartInfo[];
  manifest: Manifest;
}

/** Rows for one partition: a plain array, or batches from a warehouse stream. */
export type RowSource = Row[] | Iterable<Row[]> | AsyncIterable<Row[]>;

export interface PartWriter {
  /**
   * Stream the rows of one partition into `<runPrefix>/<partition>/part-NNNNN.<ext>` (a new part
   * every `maxPartBytes`). Partitions are written one at a time; an empty source writes nothing.
   * Writing the same partition twice is an error (its part numbers would collide).
   * `options.columns` narrows the encoded columns to these (of the writer's) for this partition,
   * when partitions hold different row sets (the weekly export's view and monthly table).
   * Resolves when the partition's parts are encoded and handed to their uploads (sizes and
   * checksums final); the last request of each upload may still be in flight: `commit` waits for
   * them, and an upload that failed makes the next call reject.
   */
  writePartition(partition: string, rows: RowSource, options?: { columns?: readonly string[] }): Promise<PartInfo[]>;
  /** Delete stale objects of an earlier attempt under the prefix, then write the manifest last. */
  commit(extra?: Record<string, unknown>): Promise<CommitResult>;
  /** Abort the open upload and delete the parts this run wrote; never writes a manifest. Idempotent. */
  abort(reason?: unknown): Promise<void>;
  readonly parts: readonly PartInfo[];
  readonly rowCount: number;
}
