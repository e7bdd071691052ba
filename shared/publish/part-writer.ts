/**
 * The part writer: streams row batches into per-partition part files on S3 and commits the run
 * with a manifest written last.
 *
 * Memory stays flat whatever the row count: rows are encoded as they arrive, each part is a
 * streaming multipart upload (`@aws-sdk/lib-storage` `Upload` reading a stream, `partSize` bytes per
 * part, `queueSize` parts in flight), and the encoder waits for the upload (back-pressure), so at
 * most about partSize * (queueSize + 1) bytes per open file are buffered. One file is open at a time.
 * https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-aws-sdk-lib-storage/
 *
 * Failure: the open part's body stream is destroyed, which makes `Upload` abort its multipart
 * upload (AbortMultipartUpload) rather than complete it; parts already completed by this run are
 * deleted; no manifest is written. A Lambda killed by its timeout cannot clean up: the exports
 * bucket's lifecycle rule `AbortIncompleteMultipartUpload` is the backstop for that.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html
 *
 * Reruns: keys are deterministic for a run prefix. A new attempt first deletes the old manifest
 * (un-commits), overwrites the part keys it writes, and at commit deletes any other object under
 * the prefix left by an earlier attempt, so the committed prefix holds exactly the manifest's parts.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorMessage, InvalidInputError, TerminalError } from '../errors';
import { logger } from '../logger';
import { listObjects, s3 } from '../storage/object-store';
import { createEncoder, FORMAT_INFO, type Encoder } from './encoders';
import { buildManifest, manifestKey, putManifest } from './manifest';
import { createPseudonymiser } from './pseudonymise';
import type {
  ColumnSpec,
  CommitResult,
  OutputFormat,
  PartInfo,
  PartWriter,
  PartWriterOptions,
  Row,
  RowSource,
} from './types';
import { OUTPUT_FORMATS } from './types';

const MiB = 1024 * 1024;
/** S3's smallest allowed multipart part (except the last). */
const MIN_PART_SIZE = 5 * MiB;
const DEFAULTS = { maxPartBytes: 256 * MiB, partSize: 8 * MiB, queueSize: 2 };
/** Finished parts whose last S3 request may still be in flight. */
const MAX_FINISHING = 8;

/** One path segment of a key we build: no empty segments, no `.`/`..`, no control characters. */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9_.=$-]{1,200}$/;

/** A `/`-separated key path made of safe segments (run prefixes, partition paths). */
export function assertKeyPath(value: string, what: string, allowEmpty = false): string {
  if (allowEmpty && value === '') return value;
  if (typeof value !== 'string' || value.length > 900 || !value.split('/').every((s) => SEGMENT.test(s))) {
    throw new InvalidInputError(
      `invalid ${what} ${JSON.stringify(value)}: use segments of letters, digits, _ . = $ - separated by /`,
    );
  }
  return value;
}

export function partKey(runPrefix: string, partition: string, index: number, format: OutputFormat): string {
  return `${runPrefix}/${partition}/part-${String(index).padStart(5, '0')}.${FORMAT_INFO[format].extension}`;
}

export function createPartWriter(opts: PartWriterOptions): PartWriter {
  const format = opts.format ?? 'jsonl.gz';
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new InvalidInputError(
      `unknown format ${JSON.stringify(format)}: expected ${OUTPUT_FORMATS.join(', ')}`,
    );
  }
  const runPrefix = assertKeyPath(opts.runPrefix, 'run prefix');
  if (opts.columns.length === 0) throw new InvalidInputError('a part writer needs at least one column');
  const settings = { ...DEFAULTS, ...definedOnly(opts) };
  if (settings.partSize < MIN_PART_SIZE) {
    throw new InvalidInputError(`partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum part size)`);
  }
  const pseudonymised = new Set((opts.pseudonymise?.columns ?? []).map((c) => c.toUpperCase()));
  const columns: ColumnSpec[] = opts.columns.map((c) =>
    pseudonymised.has(c.name.toUpperCase()) ? { ...c, pseudonymised: true } : { ...c },
  );
  const mapRows = createPseudonymiser(columns, opts.pseudonymise);
  const client = (): S3Client => opts.client ?? s3();
  const log = logger.child({ component: 'publish', bucket: opts.bucket, prefix: runPrefix });

  const parts: PartInfo[] = [];
  const partitions = new Set<string>();
  let state: 'open' | 'writing' | 'failed' | 'committed' | 'aborted' = 'open';
  let begun: Promise<void> | undefined;
  let current: OpenPart | undefined;
  /** Uploads of finished parts still completing (see handOff). */
  const finishing = new Set<Promise<void>>();
  let uploadError: Error | undefined;
  const totals = { rows: 0, bytes: 0 };

  /** First write of an attempt: take down an earlier attempt's manifest so the prefix is uncommitted. */
  function begin(): Promise<void> {
    begun ??= client()
      .send(new DeleteObjectCommand({ Bucket: opts.bucket, Key: manifestKey(runPrefix) }))
      .then(() => undefined);
    return begun;
  }

  async function writePartition(
    partition: string,
    source: RowSource,
    options: { columns?: readonly string[] } = {},
  ): Promise<PartInfo[]> {
    assertKeyPath(partition, 'partition path');
    const partColumns = options.columns ? pickColumns(columns, options.columns) : columns;
    if (state === 'writing')
      throw new TerminalError('writePartition: another partition is still being written');
    if (state === 'failed' || state === 'committed' || state === 'aborted') {
      throw new TerminalError(`writePartition: the writer is ${state}`);
    }
    if (partitions.has(partition))
      throw new TerminalError(`partition ${partition} was already written in this run`);
    partitions.add(partition);
    state = 'writing';
    const written: PartInfo[] = [];
    const finishCurrent = async () => {
      const part = current!;
      current = undefined;
      const info = await handOff(part);
      written.push(info);
    };
    try {
      await begin();
      for await (const batch of batches(source)) {
        if (batch.length === 0) continue;
        throwIfUploadFailed();
        current ??= openPart(partition, nextIndex(partition), partColumns);
        await current.write(mapRows(batch));
        totals.rows += batch.length;
        opts.onProgress?.({
          rows: totals.rows,
          bytes: totals.bytes + current.bytes(),
          parts: parts.length + 1,
          partition,
        });
        if (current.size() >= settings.maxPartBytes) await finishCurrent();
      }
      if (current) await finishCurrent();
      state = 'open';
      return written;
    } catch (err) {
      state = 'failed';
      if (current) {
        await current.fail(err instanceof Error ? err : new Error(String(err)));
        current = undefined;
      }
      throw err;
    }
  }

  /**
   * A finished part's bytes are all encoded and handed to its Upload; the last S3 request (PUT or
   * CompleteMultipartUpload) then completes in the background while the next part is written, up
   * to MAX_FINISHING at a time. Months are often small, and waiting for each round trip in turn
   * would make a many-month transfer latency-bound. `commit` waits for all of them.
   */
  async function handOff(part: OpenPart): Promise<PartInfo> {
    const { info, uploaded } = await part.finish();
    parts.push(info);
    totals.bytes += info.bytes;
    const tracked: Promise<void> = uploaded.then(
      () => {
        finishing.delete(tracked);
      },
      (err: unknown) => {
        finishing.delete(tracked);
        uploadError ??= err instanceof Error ? err : new Error(String(err));
      },
    );
    finishing.add(tracked);
    if (finishing.size >= MAX_FINISHING) await Promise.race(finishing);
    throwIfUploadFailed();
    return info;
  }

  function throwIfUploadFailed(): void {
    if (uploadError) throw uploadError;
  }

  async function settleUploads(): Promise<void> {
    await Promise.all(finishing);
    throwIfUploadFailed();
  }

  function nextIndex(partition: string): number {
    return parts.filter((p) => p.partition === partition).length;
  }

  function openPart(partition: string, index: number, partColumns: ColumnSpec[]): OpenPart {
    const key = partKey(runPrefix, partition, index, format);
    log.debug('opening part', { key });
    return new OpenPart(
      client(),
      opts.bucket,
      key,
      partition,
      createEncoder(format, partColumns, opts),
      settings,
    );
  }

  async function commit(extra: Record<string, unknown> = {}): Promise<CommitResult> {
    if (state === 'writing') throw new TerminalError('commit: a partition is still being written');
    if (state === 'failed' || state === 'aborted' || state === 'committed') {
      throw new TerminalError(`commit: the writer is ${state}; a failed run must be aborted, not committed`);
    }
    await begin();
    try {
      await settleUploads();
    } catch (err) {
      state = 'failed';
      throw err;
    }
    const keep = new Set(parts.map((p) => p.key));
    const stale: string[] = [];
    for await (const key of listKeys(client(), opts.bucket, `${runPrefix}/`)) {
      if (!keep.has(key) && key !== manifestKey(runPrefix)) stale.push(key);
    }
    if (stale.length > 0) {
      log.info('deleting objects of an earlier attempt', { count: stale.length });
      await deleteKeys(client(), opts.bucket, stale);
    }
    const manifest = buildManifest({
      bucket: opts.bucket,
      runPrefix,
      format,
      columns,
      parts: [...parts],
      extra,
    });
    const key = await putManifest(client(), manifest);
    state = 'committed';
    log.info('committed', {
      manifest: key,
      rows: manifest.row_count,
      parts: parts.length,
      bytes: manifest.bytes,
    });
    return {
      manifestKey: key,
      rowCount: manifest.row_count,
      bytes: manifest.bytes,
      parts: [...parts],
      manifest,
    };
  }

  async function abort(reason?: unknown): Promise<void> {
    if (state === 'aborted' || state === 'committed') return;
    state = 'aborted';
    if (current) {
      await current.fail(reason instanceof Error ? reason : new Error(String(reason ?? 'aborted')));
      current = undefined;
    }
    await Promise.allSettled(finishing);
    if (parts.length > 0) {
      try {
        await deleteKeys(
          client(),
          opts.bucket,
          parts.map((p) => p.key),
        );
      } catch (err) {
        // without a manifest the parts are ignored by readers; a rerun with the same run id removes them
        log.warn('could not delete the parts of an aborted run', { error: errorMessage(err) });
      }
    }
    log.warn('aborted: no manifest written', {
      reason: reason === undefined ? undefined : errorMessage(reason),
    });
  }

  return {
    writePartition,
    commit,
    abort,
    get parts() {
      return [...parts];
    },
    get rowCount() {
      return totals.rows;
    },
  };
}

/** Options that were given (so `undefined` does not override a default). */
function definedOnly(opts: PartWriterOptions): Partial<typeof DEFAULTS> {
  const out: Partial<typeof DEFAULTS> = {};
  for (const k of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const v = opts[k];
    if (v !== undefined) {
      if (!Number.isSafeInteger(v) || v < 1) throw new InvalidInputError(`${k} must be a positive integer`);
      out[k] = v;
    }
  }
  return out;
}

async function* batches(source: RowSource): AsyncIterable<Row[]> {
  if (Array.isArray(source) && !Array.isArray(source[0])) {
    // a plain array of rows: feed it in slices so back-pressure still applies
    const rows = source as Row[];
    for (let i = 0; i < rows.length; i += 2048) yield rows.slice(i, i + 2048);
    return;
  }
  for await (const batch of source as AsyncIterable<Row[]>) yield batch;
}

/** Counts and hashes the bytes on their way to the upload. */
class Meter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

class OpenPart {
  private rows = 0;
  private readonly meter = new Meter();
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;
  /** Rejects when the upload fails, so a writer blocked on back-pressure wakes up with the error. */
  private readonly failed: Promise<never>;

  constructor(
    client: S3Client,
    private readonly bucket: string,
    readonly key: string,
    readonly partition: string,
    private readonly encoder: Encoder,
    settings: typeof DEFAULTS,
  ) {
    encoder.output.on('error', (err) => this.meter.destroy(err));
    encoder.output.pipe(this.meter);
    const format = Object.values(FORMAT_INFO).find((f) => key.endsWith(f.extension));
    this.upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: this.meter, ContentType: format?.contentType },
      partSize: settings.partSize,
      queueSize: settings.queueSize,
      // on failure lib-storage sends AbortMultipartUpload instead of leaving billed, invisible parts
      leavePartsOnError: false,
    });
    this.done = this.upload.done();
    this.failed = this.done.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => {
        throw err;
      },
    );
    // observed here; the error itself reaches the caller through write()/close()
    this.failed.catch(() => undefined);
  }

  bytes(): number {
    return this.meter.bytes;
  }

  /** Encoded size so far (see Encoder.size), which drives the rollover. */
  size(): number {
    return this.encoder.size();
  }

  async write(rows: Row[]): Promise<void> {
    await Promise.race([this.encoder.write(rows), this.failed]);
    this.rows += rows.length;
  }

  /**
   * End the encoder and wait until the Upload has read every byte: then the size and SHA-256 are
   * final. `uploaded` settles when S3 has the object (or the upload failed and was aborted).
   */
  async finish(): Promise<{ info: PartInfo; uploaded: Promise<unknown> }> {
    const consumed = new Promise<void>((resolve, reject) => {
      this.meter.once('end', resolve);
      this.meter.once('error', reject);
    });
    await Promise.race([this.encoder.end(), this.failed]);
    await Promise.race([consumed, this.failed]);
    const info: PartInfo = {
      key: this.key,
      partition: this.partition,
      rows: this.rows,
      bytes: this.meter.bytes,
      sha256: this.meter.hash.digest('hex'),
    };
    return { info, uploaded: this.done };
  }

  /** Destroying the body makes the Upload fail and abort its multipart upload; wait until it has. */
  async fail(err: Error): Promise<void> {
    this.encoder.destroy(err);
    this.meter.destroy(err);
    await this.done.catch((uploadErr: unknown) => {
      logger.debug('part upload abandoned', { key: this.key, error: errorMessage(uploadErr) });
    });
  }
}

export async function* listKeys(client: S3Client, bucket: string, prefix: string): AsyncIterable<string> {
  for await (const o of listObjects(bucket, prefix, client)) yield o.key;
}

/**
 * One DeleteObject per key, a few at a time. DeleteObjects (batch) would need a Content-MD5 or
 * checksum header that S3-compatible servers disagree on; the key counts here are small.
 */
export async function deleteKeys(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
}

/** The writer's columns named for one partition, in the writer's order; unknown names are an error. */
function pickColumns(columns: ColumnSpec[], names: readonly string[]): ColumnSpec[] {
  const wanted = new Set(names.map((n) => n.toUpperCase()));
  const picked = columns.filter((c) => wanted.has(c.name.toUpperCase()));
  if (picked.length !== wanted.size) {
    const known = new Set(columns.map((c) => c.name.toUpperCase()));
    const unknown = names.filter((n) => !known.has(n.toUpperCase()));
    throw new InvalidInputError(`writePartition: unknown columns ${unknown.join(', ')}`);
  }
  return picked;
}
