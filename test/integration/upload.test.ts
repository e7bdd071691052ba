/**
 * uploadDirectory against a real S3 API server (s3rver) on loopback, port chosen by the OS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../shared/config';
import { createS3Client } from '../../shared/storage/object-store';
import { generateSampleData } from '../../local/generator';
import { startLocalS3, type LocalS3 } from '../../local/stack/s3';
import { listFiles, uploadDirectory, type UploadProgress } from '../../local/upload';

const MiB = 1024 * 1024;
let tmp: string;
let s3server: LocalS3;
let client: S3Client;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function listKeys(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key!));
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function getBytes(bucket: string, key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

function clientFor(endpoint: string): S3Client {
  return createS3Client(loadConfig({ STAGE: 'local', S3_ENDPOINT: endpoint }));
}

/** A loopback port nobody listens on: bind to port 0, note it, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'upload-test-'));
  s3server = await startLocalS3({ port: 0, dir: path.join(tmp, 's3'), buckets: ['landing'] });
  client = clientFor(s3server.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await s3server?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('uploadDirectory', () => {
  it('uploads every file under the folder, keys relative to it under the prefix, bytes intact, large files in parts', async () => {
    // Prepare
    const dir = path.join(tmp, 'data');
    await generateSampleData({ outDir: dir, months: 1, customers: 20, seed: 3, end: '2020-01-31' });
    await mkdir(path.join(dir, 'extra dir'), { recursive: true });
    await writeFile(path.join(dir, 'extra dir', 'big file+1%.bin'), randomBytes(12 * MiB + 123));
    const local = await listFiles(dir);
    const progress: UploadProgress[] = [];
    const sent: { command: string; key: string }[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (input.Key) sent.push({ command: context.commandName!, key: input.Key });
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );

    // Act
    const summary = await uploadDirectory(dir, {
      bucket: 'landing',
      prefix: '/starter',
      client,
      concurrency: 4,
      onProgress: (p) => progress.push(p),
    });
    client.middlewareStack.remove('recordCommands');

    // Assess
    const expectedKeys = local.map((f) => `starter/${f.relative}`).sort();
    expect(expectedKeys).toContain('starter/customers.csv');
    expect(expectedKeys).toContain('starter/transactions/d=2020-01-31/transactions.json');
    expect(expectedKeys).toContain('starter/extra dir/big file+1%.bin');
    expect(await listKeys('landing')).toEqual(expectedKeys);
    for (const f of local) {
      expect(sha256(await getBytes('landing', `starter/${f.relative}`))).toBe(sha256(await readFile(f.path)));
    }
    const totalBytes = local.reduce((n, f) => n + f.size, 0);
    expect(summary).toMatchObject({
      bucket: 'landing',
      prefix: 'starter/',
      files: local.length,
      bytes: totalBytes,
    });
    // 12 MiB in 8 MiB parts: one two-part multipart upload; every other file a single PutObject
    expect(sent.filter((c) => c.command !== 'PutObjectCommand')).toEqual([
      { command: 'CreateMultipartUploadCommand', key: 'starter/extra dir/big file+1%.bin' },
      { command: 'UploadPartCommand', key: 'starter/extra dir/big file+1%.bin' },
      { command: 'UploadPartCommand', key: 'starter/extra dir/big file+1%.bin' },
      { command: 'CompleteMultipartUploadCommand', key: 'starter/extra dir/big file+1%.bin' },
    ]);
    expect(sent.filter((c) => c.command === 'PutObjectCommand')).toHaveLength(local.length - 1);
    const small = summary.objects.find((o) => o.key === 'starter/customers.csv')!;
    expect(small.etag).toBe(
      createHash('md5')
        .update(await readFile(path.join(dir, 'customers.csv')))
        .digest('hex'),
    );
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ filesDone: local.length, filesTotal: local.length, bytesDone: totalBytes });
    expect(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1]!.bytesDone)).toBe(true);
  });

  it('says the local S3 server is not running, and how to start it', async () => {
    // Prepare
    const dir = path.join(tmp, 'tiny');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'customers.csv'), 'customer_id,loyalty_score\r\n');
    const offline = clientFor(`http://127.0.0.1:${await closedPort()}`);

    // Act / Assess
    try {
      await expect(uploadDirectory(dir, { bucket: 'landing', client: offline })).rejects.toThrow(
        /connection refused\. Is the local stack running\? Start it with `npm start`/,
      );
    } finally {
      offline.destroy();
    }
  });

  it('names a missing bucket, and an empty or missing folder', async () => {
    const dir = path.join(tmp, 'tiny2');
    await mkdir(path.join(dir, 'empty'), { recursive: true });
    await writeFile(path.join(dir, 'a.csv'), 'x');
    await expect(uploadDirectory(dir, { bucket: 'no-such-bucket', client })).rejects.toThrow(
      /bucket no-such-bucket does not exist/,
    );
    await expect(uploadDirectory(path.join(dir, 'empty'), { bucket: 'landing', client })).rejects.toThrow(
      /nothing to upload/,
    );
    await expect(uploadDirectory(path.join(tmp, 'nope'), { bucket: 'landing', client })).rejects.toThrow(
      /folder not found/,
    );
  });

  it('uploads nothing when aborted before it starts', async () => {
    const dir = path.join(tmp, 'abort');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'aborted.csv'), 'x');
    const controller = new AbortController();
    controller.abort();
    await expect(
      uploadDirectory(dir, { bucket: 'landing', client, signal: controller.signal }),
    ).rejects.toThrow(/aborted/);
    expect((await listKeys('landing')).filter((k) => k.includes('aborted'))).toEqual([]);
  });
});
