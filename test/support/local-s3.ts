/**
 * A real S3 REST API for integration tests: the local stack's S3 server on 127.0.0.1, a free port (port 0), a fresh
 * temporary directory, the given buckets. Point the code at it with `useLocalS3(server)` (sets
 * S3_ENDPOINT, resets the config and the process-wide S3 client) or with `server.client()`.
 *
 * It is the local stack's server (local/stack/s3.ts), which implements AbortMultipartUpload, so
 * tests can check that a failed upload leaves nothing behind, as on S3. It accepts any credentials.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { resetConfig } from '../../shared/config';
import { createS3Client, setS3Client } from '../../shared/storage/object-store';
import { startLocalS3 as startStackS3, type BucketSpec } from '../../local/stack/s3';

export interface LocalS3Server {
  endpoint: string;
  port: number;
  /** The server's data directory (layout in local/stack/s3-store.ts). */
  dir: string;
  /** A client for this server with the project's checksum settings (shared/storage/object-store.ts). */
  client(): S3Client;
  /** Ids of multipart uploads started and neither completed nor aborted. */
  openUploads(bucket: string): string[];
  stop(): Promise<void>;
}

/** The local stack's S3 server (with AbortMultipartUpload) on a free port and a fresh directory. */
export async function startLocalS3(opts: { buckets: BucketSpec[]; dir?: string }): Promise<LocalS3Server> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'local-s3-'));
  const server = await startStackS3({ port: 0, dir, buckets: opts.buckets });
  return {
    endpoint: server.endpoint,
    port: server.port,
    dir,
    client: () =>
      new S3Client({
        region: 'eu-west-2',
        endpoint: server.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    openUploads: (bucket) => server.openUploads(bucket),
    stop: async () => {
      await server.close();
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
