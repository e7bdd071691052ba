/**
 * The part writer with a mocked S3 client (aws-sdk-client-mock): what it sends when an upload
 * fails half way, and the encoders and pseudonymisation on their own.
 */
import { createHmac, randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'csv-parse/sync';
import {
  assertKeyPath,
  createEncoder,
  createPartWriter,
  createPseudonymiser,
  parquetFieldType,
  type ColumnSpec,
  type Row,
} from '../../shared/publish';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'eu-west-2' });
const COLUMNS: ColumnSpec[] = [
  { name: 'month', kind: 'date' },
  { name: 'id', kind: 'text' },
  { name: 'n', kind: 'number', type: 'BIGINT' },
];

beforeEach(() => {
  s3.reset();
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
  s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"c"' });
  s3.on(AbortMultipartUploadCommand).resolves({});
});

/** Incompressible rows, so a few batches exceed S3's 5 MiB minimum part and the upload is multipart. */
function bigBatch(): Row[] {
  return Array.from({ length: 200 }, () => ({
    month: '2024-01-01',
    id: randomBytes(4000).toString('base64'),
    n: 1,
  }));
}

const keysPut = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);

describe('part writer failure handling (mocked S3)', () => {
  it('a source that fails mid-upload aborts the multipart upload and writes no manifest', async () => {
    // Prepare
    const writer = createPartWriter({
      bucket: 'b',
      runPrefix: 'p/run',
      columns: COLUMNS,
      client,
      gzipLevel: 1,
    });
    async function* rows(): AsyncIterable<Row[]> {
      for (let i = 0; i < 12; i++) yield bigBatch();
      throw new Error('cursor lost');
    }

    // Act
    const error = await writer.writePartition('month=2024-01', rows()).catch((e: unknown) => e);
    await writer.abort(error);

    // Assess
    expect(error).toEqual(new Error('cursor lost'));
    expect(s3.commandCalls(UploadPartCommand).length).toBeGreaterThan(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'b', Key: 'p/run/month=2024-01/part-00000.jsonl.gz', UploadId: 'upload-1' },
    ]);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(keysPut()).not.toContain('p/run/_manifest.json');
  });

  it('an S3 error on a part fails the run: no manifest, and commit refuses', async () => {
    // Prepare: every UploadPart fails with a non-retryable error
    s3.on(UploadPartCommand).rejects(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    );
    const writer = createPartWriter({
      bucket: 'b',
      runPrefix: 'p/run',
      columns: COLUMNS,
      client,
      gzipLevel: 1,
    });
    async function* rows(): AsyncIterable<Row[]> {
      for (let i = 0; i < 12; i++) yield bigBatch();
    }

    // Act: the error may surface while writing or, for the part's last request, at commit
    const error = await (async () => {
      await writer.writePartition('month=2024-01', rows());
      await writer.commit();
    })().catch((e: unknown) => e);
    await writer.abort(error);

    // Assess
    expect(String((error as Error).message)).toMatch(/Access Denied/);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(keysPut()).not.toContain('p/run/_manifest.json');
    await expect(writer.commit()).rejects.toThrow(/aborted/);
  });

  it('a failed PUT of a small part surfaces at commit, which writes no manifest', async () => {
    // Prepare: part PUTs fail, everything else works
    s3.on(PutObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key.includes('part-')) throw Object.assign(new Error('SlowDown'), { name: 'SlowDown' });
      return { ETag: '"m"' };
    });
    const writer = createPartWriter({ bucket: 'b', runPrefix: 'p/run', columns: COLUMNS, client });

    // Act
    const outcome = await (async () => {
      await writer.writePartition('month=2024-01', [{ month: '2024-01-01', id: 'x', n: 1 }]);
      return writer.commit();
    })().catch((e: unknown) => e);

    // Assess
    expect(String(outcome)).toMatch(/SlowDown/);
    expect(keysPut()).not.toContain('p/run/_manifest.json');
  });

  it('commit deletes the old manifest first and objects of an earlier attempt before writing its own', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'p/run/month=2023-12/part-00000.jsonl.gz' }, { Key: 'p/run/_manifest.json' }],
    });
    const writer = createPartWriter({ bucket: 'b', runPrefix: 'p/run', columns: COLUMNS, client });

    // Act
    await writer.writePartition('month=2024-01', [{ month: '2024-01-01', id: 'x', n: 1 }]);
    const result = await writer.commit({ run_id: 'run' });

    // Assess: order of effects: un-commit, write part, delete stale, write manifest last
    const sent = s3.calls().map((c) => {
      const input = c.args[0].input as { Key?: string };
      return `${c.args[0].constructor.name} ${input.Key ?? ''}`.trim();
    });
    expect(sent).toEqual([
      'DeleteObjectCommand p/run/_manifest.json',
      'PutObjectCommand p/run/month=2024-01/part-00000.jsonl.gz',
      'ListObjectsV2Command',
      'DeleteObjectCommand p/run/month=2023-12/part-00000.jsonl.gz',
      'PutObjectCommand p/run/_manifest.json',
    ]);
    expect(result.manifest).toMatchObject({ run_id: 'run', row_count: 1, format: 'jsonl.gz' });
  });

  it('refuses unsafe key paths and a partition written twice', async () => {
    expect(() => assertKeyPath('a/../b', 'partition path')).toThrow(/invalid partition path/);
    expect(() => assertKeyPath('a//b', 'partition path')).toThrow(/invalid partition path/);
    expect(() => assertKeyPath('month=2024-01\n', 'partition path')).toThrow(/invalid partition path/);
    expect(() => createPartWriter({ bucket: 'b', runPrefix: '/abs', columns: COLUMNS, client })).toThrow(
      /run prefix/,
    );
    const writer = createPartWriter({ bucket: 'b', runPrefix: 'p', columns: COLUMNS, client });
    await writer.writePartition('month=2024-01', []);
    await expect(writer.writePartition('month=2024-01', [])).rejects.toThrow(/already written/);
  });
});

describe('encoders', () => {
  async function encode(
    format: 'jsonl.gz' | 'csv.gz',
    columns: ColumnSpec[],
    batches: Row[][],
  ): Promise<string> {
    const encoder = createEncoder(format, columns);
    const chunks: Buffer[] = [];
    encoder.output.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((resolve) => encoder.output.once('end', resolve));
    for (const b of batches) await encoder.write(b);
    await encoder.end();
    await ended;
    return zlib.gunzipSync(Buffer.concat(chunks)).toString('utf8');
  }

  it('jsonl.gz: one object per line, keys in column order, missing values as null', async () => {
    const text = await encode('jsonl.gz', COLUMNS, [
      [{ n: 2, id: 'a', month: '2024-01-01' }],
      [{ month: '2024-02-01' }],
    ]);
    expect(text).toBe('{"month":"2024-01-01","id":"a","n":2}\n{"month":"2024-02-01","id":null,"n":null}\n');
  });

  it('csv.gz: one header, NULL as an empty field, empty string as "", quoting, booleans as true/false', async () => {
    const columns: ColumnSpec[] = [...COLUMNS, { name: 'ok', kind: 'boolean' }];
    const text = await encode('csv.gz', columns, [
      [{ month: '2024-01-01', id: 'a,"b"', n: 1, ok: true }],
      [{ month: '2024-01-01', id: '', n: null, ok: false }],
    ]);
    expect(text).toBe('month,id,n,ok\n2024-01-01,"a,""b""",1,true\n2024-01-01,"",,false\n');
    expect(parse(text, { columns: true })).toEqual([
      { month: '2024-01-01', id: 'a,"b"', n: '1', ok: 'true' },
      { month: '2024-01-01', id: '', n: '', ok: 'false' },
    ]);
  });

  it('csv.gz: awkward values read back unchanged with csv-parse', async () => {
    // Prepare: quotes, separators, line breaks, spaces, unicode, a formula-looking value, JSON
    const awkward = [
      'a"b',
      'x,y',
      'line\nbreak',
      'cr\rlf\r\n',
      '  padded  ',
      'ünïcødé ✓',
      '=1+1',
      '"',
      ',',
      ' ',
    ];
    const columns: ColumnSpec[] = [
      { name: 'v', kind: 'text' },
      { name: 'o', kind: 'other' },
    ];
    const rows = awkward.map((v) => ({ v, o: v === '"' ? '{"k":[1,"x"]}' : null }));

    // Act
    const text = await encode('csv.gz', columns, [rows]);

    // Assess
    expect(parse(text, { columns: true })).toEqual(rows.map((r) => ({ v: r.v, o: r.o ?? '' })));
  });

  it('csv.gz of no rows still has its header', async () => {
    expect(await encode('csv.gz', COLUMNS, [])).toBe('month,id,n\n');
  });

  it('parquet types follow the output type, else the column kinds and engine types', () => {
    const type = (c: Parameters<typeof parquetFieldType>[0]) => parquetFieldType(c);
    expect(type({ name: 'a', kind: 'number', type: 'BIGINT' })).toEqual({ type: 'INT64' });
    // a wide integer or a decimal is a DECIMAL, never a double or an INT64 that could overflow
    expect(type({ name: 'a', kind: 'number', type: 'NUMBER(38,0)' })).toEqual({ type: 'DECIMAL', precision: 38, scale: 0, typeLength: 16 });
    expect(type({ name: 'a', kind: 'number', type: 'DECIMAL(12,2)' })).toEqual({ type: 'DECIMAL', precision: 12, scale: 2, typeLength: 16 });
    expect(type({ name: 'a', kind: 'number', type: 'DECIMAL(12,2)', output_type: 'DECIMAL(38,2)' })).toMatchObject({ precision: 38, scale: 2 });
    expect(type({ name: 'a', kind: 'number', type: 'DOUBLE' })).toEqual({ type: 'DOUBLE' });
    expect(type({ name: 'a', kind: 'date' })).toEqual({ type: 'DATE' });
    expect(type({ name: 'a', kind: 'timestamp' })).toEqual({ type: 'TIMESTAMP_MILLIS' });
    expect(type({ name: 'a', kind: 'boolean' })).toEqual({ type: 'BOOLEAN' });
    expect(type({ name: 'a', kind: 'other' })).toEqual({ type: 'UTF8' });
    expect(type({ name: 'a', kind: 'number', type: 'BIGINT', pseudonymised: true })).toEqual({ type: 'UTF8' });
  });

  it('jsonl.gz writes a number column as JSON numbers, whether a value came as a number or as exact text', async () => {
    // Prepare: the port's default mode gives a BIGINT beyond 2^53 as text and a small one as a number
    const columns = [
      { name: 'n', kind: 'number' as const, type: 'BIGINT' },
      { name: 'x', kind: 'number' as const, type: 'DECIMAL(38,2)' },
    ];
    const rows = [
      { n: '9007199254740993', x: '99999999999999999.90' },
      { n: 5, x: 1.5 },
      { n: null, x: null },
    ];

    // Act
    const text = await encode('jsonl.gz', columns, [rows]);

    // Assess: the digits as given, unquoted
    expect(text).toBe('{"n":9007199254740993,"x":99999999999999999.90}\n{"n":5,"x":1.5}\n{"n":null,"x":null}\n');
  });

  it('refuses a number column value that is not a number instead of writing it', async () => {
    const columns = [{ name: 'n', kind: 'number' as const, type: 'BIGINT' }];
    await expect(encode('jsonl.gz', columns, [[{ n: '1,5"}' }]])).rejects.toThrow(/column n: .* is not a number/);
  });
});

describe('pseudonymisation', () => {
  const key = 'a-secret-key-of-32-characters!!!';

  it('replaces the chosen columns by HMAC-SHA256(key, value) in hex, keeps NULL and other columns', () => {
    const map = createPseudonymiser(COLUMNS, { columns: ['ID'], key });
    const out = map([
      { month: '2024-01-01', id: 'C42', n: 3 },
      { month: '2024-01-01', id: null, n: 4 },
    ]);
    expect(out).toEqual([
      { month: '2024-01-01', id: createHmac('sha256', key).update('C42').digest('hex'), n: 3 },
      { month: '2024-01-01', id: null, n: 4 },
    ]);
  });

  it('refuses short keys and unknown columns', () => {
    expect(() => createPseudonymiser(COLUMNS, { columns: ['id'], key: 'short' })).toThrow(
      /at least 16 bytes/,
    );
    expect(() => createPseudonymiser(COLUMNS, { columns: ['nope'], key })).toThrow(
      /cannot pseudonymise "nope"/,
    );
  });
});
