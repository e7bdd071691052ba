/**
 * The local object store: s3rver, a real S3 REST API, on loopback, data kept in a directory.
 * Its object-created events are turned into notifications shaped exactly as S3 sends them to SQS
 * (event version 2.1, URL-encoded keys, monotonic sequencers, eTag, size): see ./notifications.ts.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  port: number;
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
    close: () => server.close() as Promise<void>,
    // s3rver is a Koa app: its events come through the EventEmitter API the typings leave out
    onEvent: (listener) => (server as unknown as NodeJS.EventEmitter).on('event', listener),
  };
}
