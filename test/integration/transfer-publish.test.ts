/**
 * The part writer against a real S3 API (s3rver on loopback): parts, manifest, checksums, reruns
 * with the same prefix, and a failure in the middle of a multipart upload.
 */
import { createHash, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPartWriter, type ColumnSpec, type Manifest, type Row } from '../../shared/publish';
import { startLocalS3, type LocalS3Server } from '../support/local-s3';

const BUCKET = 'exports';
const COLUMNS: ColumnSpec[] = [
  { name: 'month', kind: 'date', role: 'month_key' },
  { name: 'name', kind: 'text', role: 'group' },
  { name: 'amount', kind: 'number', type: 'DOUBLE', role: 'sum' },
];

let server: LocalS3Server;
let client: S3Client;

beforeAll(async () => {
  server = await startLocalS3({ buckets: [BUCKET] });
  client = server.client();
});

afterAll(async () => {
  client.destroy();
  await server.stop();
});

async function getBytes(key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function listKeys(prefix: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

function rowsFor(month: string, n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({ month, name: `n${i % 7}`, amount: i * 1.5 }));
}

describe('part writer on the local S3 server', () => {
  it('writes one part per partition and a manifest whose counts and checksums match the objects', async () => {
    // Prepare
    const prefix = 'publish/basic/run-1';
    const jan = rowsFor('2024-01-01', 3000);
    const feb = rowsFor('2024-02-01', 10);
    const writer = createPartWriter({ bucket: BUCKET, runPrefix: prefix, columns: COLUMNS, client });

    // Act
    await writer.writePartition('month=2024-01', jan);
    await writer.writePartition(
      'month=2024-02',
      (async function* () {
        yield feb.slice(0, 4);
        yield [];
        yield feb.slice(4);
      })(),
    );
    const result = await writer.commit({ run_id: 'run-1' });

    // Assess
    expect(result.manifestKey).toBe(`${prefix}/_manifest.json`);
    expect(await listKeys(`${prefix}/`)).toEqual([
      `${prefix}/_manifest.json`,
      `${prefix}/month=2024-01/part-00000.jsonl.gz`,
      `${prefix}/month=2024-02/part-00000.jsonl.gz`,
    ]);
    const manifest = JSON.parse((await getBytes(result.manifestKey)).toString('utf8')) as Manifest;
    expect(manifest.run_id).toBe('run-1');
    expect(manifest.row_count).toBe(3010);
    expect(manifest.partitions).toEqual([
      { partition: 'month=2024-01', rows: 3000, parts: 1 },
      { partition: 'month=2024-02', rows: 10, parts: 1 },
    ]);
    for (const part of manifest.parts) {
      const bytes = await getBytes(part.key);
      expect(part.bytes).toBe(bytes.length);
      expect(part.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      const lines = zlib.gunzipSync(bytes).toString('utf8').trimEnd().split('\n');
      const expected = part.partition === 'month=2024-01' ? jan : feb;
      expect(lines.map((l) => JSON.parse(l))).toEqual(expected);
    }
  });

  it('rolls over to a new part when a part reaches maxPartBytes', async () => {
    // Prepare: incompressible text so the encoded size grows with the rows
    const prefix = 'publish/rollover/run-1';
    const rows = Array.from({ length: 600 }, (_, i) => ({
      month: '2024-03-01',
      name: randomBytes(600).toString('base64'),
      amount: i,
    }));
    const batches = Array.from({ length: 6 }, (_, i) => rows.slice(i * 100, (i + 1) * 100));
    const writer = createPartWriter({
      bucket: BUCKET,
      runPrefix: prefix,
      columns: COLUMNS,
      client,
      maxPartBytes: 100_000,
    });

    // Act
    const parts = await writer.writePartition('month=2024-03', batches);
    await writer.commit();

    // Assess: every part but the last reached the limit; together they hold every row in order
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => p.key)).toEqual(
      parts.map((_, i) => `${prefix}/month=2024-03/part-${String(i).padStart(5, '0')}.jsonl.gz`),
    );
    const decoded: unknown[] = [];
    for (const part of parts) {
      const text = zlib.gunzipSync(await getBytes(part.key)).toString('utf8');
      decoded.push(
        ...text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l)),
      );
    }
    expect(decoded).toEqual(rows);
  });

  it('a rerun with the same prefix removes the manifest first and leaves only its own parts', async () => {
    // Prepare: an earlier attempt committed two months, and a failed one left a stray object
    const prefix = 'publish/rerun/run-7';
    const first = createPartWriter({ bucket: BUCKET, runPrefix: prefix, columns: COLUMNS, client });
    await first.writePartition('month=2024-01', rowsFor('2024-01-01', 5));
    await first.writePartition('month=2024-02', rowsFor('2024-02-01', 5));
    await first.commit();
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${prefix}/month=2024-09/part-00003.jsonl.gz`,
        Body: 'stale',
      }),
    );

    // Act: the rerun sees only January
    const second = createPartWriter({ bucket: BUCKET, runPrefix: prefix, columns: COLUMNS, client });
    await second.writePartition('month=2024-01', rowsFor('2024-01-01', 2));
    const manifestDuringRun = await listKeys(`${prefix}/_manifest.json`);
    const result = await second.commit();

    // Assess
    expect(manifestDuringRun).toEqual([]);
    expect(await listKeys(`${prefix}/`)).toEqual([
      `${prefix}/_manifest.json`,
      `${prefix}/month=2024-01/part-00000.jsonl.gz`,
    ]);
    expect(result.rowCount).toBe(2);
  });

  it('a failure in the middle of a multipart upload leaves no manifest, no part and no open upload', async () => {
    // Prepare: > 5 MiB of incompressible rows so the upload is multipart, then the source fails
    const prefix = 'publish/failure/run-1';
    const spied = server.client();
    const commands: string[] = [];
    spied.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const writer = createPartWriter({
      bucket: BUCKET,
      runPrefix: prefix,
      columns: COLUMNS,
      client: spied,
      gzipLevel: 1,
      partSize: 5 * 1024 * 1024,
    });
    await writer.writePartition('month=2024-01', rowsFor('2024-01-01', 3));
    async function* failing(): AsyncIterable<Row[]> {
      for (let i = 0; i < 20; i++) {
        yield Array.from({ length: 100 }, () => ({
          month: '2024-02-01',
          name: randomBytes(3000).toString('base64'),
          amount: 1,
        }));
      }
      throw new Error('warehouse connection lost');
    }

    // Act
    const error = await writer.writePartition('month=2024-02', failing()).catch((e: unknown) => e);
    await writer.abort(error);

    // Assess
    expect(error).toEqual(new Error('warehouse connection lost'));
    expect(await listKeys(`${prefix}/`)).toEqual([]);
    expect(commands).toEqual(expect.arrayContaining(['CreateMultipartUploadCommand', 'UploadPartCommand']));
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(server.openUploads(BUCKET)).toEqual([]);
    await expect(writer.commit()).rejects.toThrow(/aborted/);
    spied.destroy();
  });
});
