/**
 * Upload a folder to a bucket: keys are the paths relative to the folder (with '/' separators) under an
 * optional prefix. Files go up through @aws-sdk/lib-storage's Upload, which sends one PutObject for
 * a file that fits in one part and a multipart upload above that (parts of 8 MiB by default; S3's
 * minimum part size is 5 MiB: https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
 * A failed or aborted multipart upload is aborted on S3 too (leavePartsOnError: false), so no
 * invisible, billed parts are left behind.
 *
 * Used by `npm run upload` (local/cli/upload.ts), the demo and the benchmarks.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  InvalidInputError,
  TerminalError,
  TransientError,
  classifyError,
  errorMessage,
} from '../shared/errors';
import { stripEtag } from '../shared/storage/object-store';

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 8;
/** Parts in flight per multipart upload; with 8 files at a time this bounds buffered parts to 16 x 8 MiB. */
const PARTS_IN_FLIGHT = 2;
const MAX_KEY_BYTES = 1024;

export interface LocalFile {
  /** Absolute path on disk. */
  path: string;
  /** Path relative to the uploaded folder, '/'-separated. */
  relative: string;
  size: number;
}

export interface UploadProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The object that just finished, if any. */
  key?: string;
}

export interface UploadOptions {
  bucket: string;
  /** Key prefix, e.g. 'starter' or 'starter/'; a trailing '/' is added when missing. */
  prefix?: string;
  client: S3Client;
  /** Files uploaded at the same time (default 8). */
  concurrency?: number;
  /** Multipart part size in bytes; files larger than this go up in parts (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  onProgress?: (progress: UploadProgress) => void;
  /** Abort everything in flight (multipart uploads are aborted on the server too). */
  signal?: AbortSignal;
}

export interface UploadedObject {
  key: string;
  size: number;
  etag: string;
}

export interface UploadSummary {
  bucket: string;
  prefix: string;
  files: number;
  bytes: number;
  seconds: number;
  objects: UploadedObject[];
}

/** '' stays ''; 'a', '/a', 'a/' become 'a/'. */
export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').trim().replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

export function objectKey(prefix: string, relative: string): string {
  return normalizePrefix(prefix) + relative;
}

/** Every regular file under `dir` (following symlinks to files), sorted by relative path. */
export async function listFiles(dir: string): Promise<LocalFile[]> {
  const root = path.resolve(dir);
  let info;
  try {
    info = await stat(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InvalidInputError(`folder not found: ${dir}`);
    throw err;
  }
  if (!info.isDirectory()) throw new InvalidInputError(`not a folder: ${dir}`);
  const files: LocalFile[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const s = entry.isFile() ? await stat(full) : await stat(full).catch(() => undefined);
    if (!s?.isFile()) continue;
    files.push({ path: full, relative: path.relative(root, full).split(path.sep).join('/'), size: s.size });
  }
  return files.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}

function contentType(file: string): string {
  if (file.endsWith('.gz')) return 'application/gzip';
  if (file.endsWith('.csv')) return 'text/csv';
  if (file.endsWith('.jsonl')) return 'application/x-ndjson';
  if (file.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}

async function endpointOf(client: S3Client): Promise<string | undefined> {
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) return undefined;
  return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}`;
}

function isConnectionRefused(err: unknown): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0) {
    const e = stack.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, cause, errors, message } = e as {
      code?: unknown;
      cause?: unknown;
      errors?: unknown;
      message?: unknown;
    };
    // the SDK re-wraps errors from another realm (e.g. under jest) keeping only the message
    if (code === 'ECONNREFUSED' || (typeof message === 'string' && /\bECONNREFUSED\b/.test(message)))
      return true;
    stack.push(cause);
    if (Array.isArray(errors)) stack.push(...(errors as unknown[]));
  }
  return false;
}

/** Fail early, with a message a person can act on, when the bucket cannot be written to. */
export async function checkBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const endpoint = await endpointOf(client);
    if (isConnectionRefused(err)) {
      const local = endpoint !== undefined && /\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(`${endpoint}/`);
      throw new TransientError(
        `cannot reach the S3 endpoint ${endpoint ?? '(AWS)'}: connection refused` +
          (local ? '. Is the local stack running? Start it with `npm start`.' : ''),
        { cause: err },
      );
    }
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404)
      throw new TerminalError(`bucket ${bucket} does not exist at ${endpoint ?? 'AWS'}`, { cause: err });
    if (status === 403) throw new TerminalError(`access to bucket ${bucket} is denied`, { cause: err });
    const e = classifyError(err);
    throw new (e.retryable ? TransientError : TerminalError)(`cannot use bucket ${bucket}: ${e.message}`, {
      cause: err,
    });
  }
}

export async function uploadDirectory(dir: string, opts: UploadOptions): Promise<UploadSummary> {
  const started = process.hrtime.bigint();
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new InvalidInputError(`concurrency must be an integer from 1 to 64, got ${concurrency}`);
  }
  if (!Number.isInteger(partSize) || partSize < 5 * 1024 * 1024) {
    throw new InvalidInputError(`part size must be at least 5 MiB (S3's minimum), got ${partSize}`);
  }
  const prefix = normalizePrefix(opts.prefix);
  const files = await listFiles(dir);
  if (files.length === 0) throw new InvalidInputError(`nothing to upload: ${dir} holds no files`);
  for (const f of files) {
    const key = objectKey(prefix, f.relative);
    if (Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new InvalidInputError(`key longer than 1024 bytes: ${key}`);
  }
  await checkBucket(opts.client, opts.bucket);

  const bytesTotal = files.reduce((n, f) => n + f.size, 0);
  const loaded = new Map<string, number>();
  let bytesDone = 0;
  let filesDone = 0;
  const objects: UploadedObject[] = new Array(files.length);
  const inFlight = new Set<Upload>();
  let failure: unknown;
  let next = 0;

  const abortAll = () => {
    for (const u of inFlight) void u.abort().catch(() => undefined);
  };
  const onAbort = () => {
    failure ??= new TerminalError('upload aborted');
    abortAll();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  const report = (key?: string) =>
    opts.onProgress?.({
      filesDone,
      filesTotal: files.length,
      bytesDone,
      bytesTotal,
      ...(key ? { key } : {}),
    });

  const uploadOne = async (index: number): Promise<void> => {
    const file = files[index] as LocalFile;
    const key = objectKey(prefix, file.relative);
    const upload = new Upload({
      client: opts.client,
      params: {
        Bucket: opts.bucket,
        Key: key,
        Body: createReadStream(file.path),
        ContentType: contentType(key),
      },
      partSize,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (p) => {
      const now = Math.min(p.loaded ?? 0, file.size);
      bytesDone += now - (loaded.get(key) ?? 0);
      loaded.set(key, now);
      report();
    });
    inFlight.add(upload);
    try {
      const res = await upload.done();
      bytesDone += file.size - (loaded.get(key) ?? 0);
      loaded.set(key, file.size);
      filesDone++;
      objects[index] = { key, size: file.size, etag: stripEtag(res.ETag ?? '') };
      report(key);
    } catch (err) {
      if (failure === undefined) {
        const e = classifyError(err);
        failure = new (e.retryable ? TransientError : TerminalError)(
          `uploading ${file.relative} to s3://${opts.bucket}/${key} failed: ${errorMessage(err)}`,
          { cause: err },
        );
        abortAll();
      }
    } finally {
      inFlight.delete(upload);
    }
  };

  const worker = async (): Promise<void> => {
    while (failure === undefined && next < files.length) await uploadOne(next++);
  };
  try {
    report();
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure;
  return {
    bucket: opts.bucket,
    prefix,
    files: files.length,
    bytes: bytesTotal,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    objects,
  };
}
