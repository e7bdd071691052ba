/**
 * The local object store: s3rver, a real S3 REST API, on loopback, data kept in a directory.
 * Its object-created events are turned into notifications shaped exactly as S3 sends them to SQS
 * (event version 2.1, URL-encoded keys, monotonic sequencers, eTag, size): see ./notifications.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** s3rver's data directory: objects under `<dir>/<bucket>/`. */
  dir: string;
  /** Ids of multipart uploads started and neither completed nor aborted. */
  openUploads(bucket: string): string[];
  close(): Promise<void>;
  onEvent(listener: (event: S3rverEvent) => void): void;
}

/** What s3rver emits (keys unencoded, sequencer = ms timestamp, multipart completion as 'Post'). */
export interface S3rverEvent {
  Records: {
    eventName: string;
    eventTime: string;
    s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string } };
  }[];
}

export async function startLocalS3(opts: { port: number; dir: string; buckets: string[] }): Promise<LocalS3> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port,
    directory: opts.dir,
    silent: true,
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [] })),
  });
  // s3rver is a Koa app; Koa composes `middleware` when the server starts, so this runs first
  (server as unknown as { middleware: KoaMiddleware[] }).middleware.unshift(abortMultipartUpload(opts.dir));
  let address: AddressInfo;
  try {
    address = (await server.run()) as AddressInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${opts.port} on 127.0.0.1 is in use: is the local stack already running (npm start)? ` +
          'Set LOCAL_S3_PORT to use another port.',
      );
    }
    throw err;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    dir: opts.dir,
    openUploads: (bucket) => {
      try {
        return fs.readdirSync(uploadsDir(opts.dir, bucket));
      } catch {
        return [];
      }
    },
    close: () => server.close() as Promise<void>,
    // s3rver is a Koa app: its events come through the EventEmitter API the typings leave out
    onEvent: (listener) => (server as unknown as NodeJS.EventEmitter).on('event', listener),
  };
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** Where s3rver's filesystem store keeps the parts of open multipart uploads, one directory per upload id. */
function uploadsDir(dir: string, bucket: string): string {
  return path.join(dir, bucket, '._S3rver_uploads');
}

/**
 * s3rver answers AbortMultipartUpload with 405; S3 deletes the upload's parts. The transfer and
 * the exports abort their uploads on failure, so the local stack implements that one operation.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 */
function abortMultipartUpload(dir: string): KoaMiddleware {
  return async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string' || !/^[0-9a-f]+$/.test(uploadId)) return next();
    const bucket = decodeURIComponent(ctx.path.split('/')[1] ?? '');
    fs.rmSync(path.join(uploadsDir(dir, bucket), uploadId), { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = null;
  };
}
