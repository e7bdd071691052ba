/**
 * The local object store: a real S3 REST API on loopback (./s3-server.ts), data kept in a directory
 * (./s3-store.ts). Its object-created events are turned into notifications shaped exactly as S3
 * sends them to SQS (event version 2.1, URL-encoded keys, sequencers, eTag, size): see ./notifications.ts.
 */
import type { AddressInfo } from 'node:net';
import { createS3Server } from './s3-server';
import { ObjectStore, type StoreEvent } from './s3-store';

export type { StoreEvent } from './s3-store';

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** The data directory (layout in ./s3-store.ts: keys never become paths). */
  dir: string;
  /** Ids of multipart uploads started and neither completed nor aborted. */
  openUploads(bucket: string): string[];
  close(): Promise<void>;
  /** Every object created or deleted, after it is visible to readers. */
  onEvent(listener: (event: StoreEvent) => void): void;
  /** Create a bucket owned by `owner` (a simulated stakeholder's account); false when it exists. */
  createBucket(name: string, owner?: string): boolean;
}

/** A bucket to create at start: a name (owned by the local account) or a name and its owner account. */
export type BucketSpec = string | { name: string; owner: string };

export async function startLocalS3(opts: {
  port: number;
  dir: string;
  buckets: BucketSpec[];
  region?: string;
  /** Told about a request the server could not handle (it answered 500 and goes on). */
  onInternalError?: (err: Error, req: { method?: string; url?: string }) => void;
}): Promise<LocalS3> {
  const store = new ObjectStore(opts.dir);
  for (const b of opts.buckets) {
    if (typeof b === 'string') store.createBucket(b);
    else store.createBucket(b.name, b.owner);
  }
  const server = createS3Server(store, {
    region: opts.region ?? process.env.AWS_REGION ?? 'eu-west-2',
    onInternalError: opts.onInternalError,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `port ${opts.port} on 127.0.0.1 is in use: is the local stack already running (npm start)? ` +
                'Set LOCAL_S3_PORT to use another port.',
            )
          : err,
      );
    });
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir: opts.dir,
    openUploads: (bucket) => store.openUploads(bucket),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    onEvent: (listener) => store.onEvent(listener),
    createBucket: (name, owner) => store.createBucket(name, owner),
  };
}
