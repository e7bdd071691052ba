/**
 * A real S3 REST API for integration tests: s3rver on 127.0.0.1, a free port (port 0), a fresh
 * temporary directory, the given buckets. Point the code at it with `useLocalS3(server)` (sets
 * S3_ENDPOINT, resets the config and the process-wide S3 client) or with `server.client()`.
 *
 * s3rver answers AbortMultipartUpload with 405; S3 deletes the upload's parts. This helper adds
 * that one operation (a middleware in front of s3rver's routes that removes the upload's parts
 * directory), so tests can check that a failed upload leaves nothing behind, as on S3.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { resetConfig } from '../../shared/config';
import { createS3Client, setS3Client } from '../../shared/storage/object-store';

export interface LocalS3Server {
  endpoint: string;
  port: number;
  /** s3rver's data directory: objects under `<dir>/<bucket>/`, open multipart uploads under `<dir>/<bucket>/._S3rver_uploads/`. */
  dir: string;
  /** A client for this server with the s3rver checksum settings. */
  client(): S3Client;
  /** Ids of multipart uploads started and neither completed nor aborted. */
  openUploads(bucket: string): string[];
  stop(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

export async function startLocalS3(opts: { buckets: string[]; dir?: string }): Promise<LocalS3Server> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'local-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [] })),
  });
  // where s3rver's filesystem store keeps the parts of open multipart uploads, one directory per upload id
  const uploadsDir = (bucket: string) => path.join(dir, bucket, '._S3rver_uploads');
  const abortMultipart: KoaMiddleware = async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string') return next();
    const bucket = decodeURIComponent(ctx.path.split('/')[1] ?? '');
    if (!/^[0-9a-f]+$/.test(uploadId)) return next();
    fs.rmSync(path.join(uploadsDir(bucket), uploadId), { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = null;
  };
  // s3rver is a Koa app; Koa composes `middleware` when the server starts, so this runs first
  (server as unknown as { middleware: KoaMiddleware[] }).middleware.unshift(abortMultipart);
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    dir,
    client: () =>
      new S3Client({
        region: 'eu-west-2',
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    openUploads: (bucket) => {
      try {
        return fs.readdirSync(uploadsDir(bucket));
      } catch {
        return [];
      }
    },
    stop: async () => {
      await (server.close() as Promise<void>);
      if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Point the process-wide config and S3 client at this server. */
export function useLocalS3(server: LocalS3Server): void {
  process.env.S3_ENDPOINT = server.endpoint;
  resetConfig();
  setS3Client(createS3Client());
}
