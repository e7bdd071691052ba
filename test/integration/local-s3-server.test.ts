/**
 * The local S3 server (local/stack/s3.ts) as a client sees it: the AWS SDK v3 with the project's
 * settings and with the SDK's defaults, and raw HTTP requests, signed (SigV4, as the AWS CLI sends
 * them over HTTP) or unsigned. Expected values come from the test's own computation (node:crypto,
 * a plain sort of the keys in UTF-8 byte order), never from the server.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { startLocalS3, type LocalS3, type StoreEvent } from '../../local/stack/s3';
import { scratchDir } from '../support/factories';

jest.setTimeout(60_000);

const BUCKET = 'landing';
let scratch: ReturnType<typeof scratchDir>;
let dataDir: string;
let server: LocalS3;
let s3: S3Client;
const events: StoreEvent[] = [];

const client = (overrides: Partial<ConstructorParameters<typeof S3Client>[0]> = {}) =>
  new S3Client({
    region: 'eu-west-2',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    ...overrides,
  });

async function start(): Promise<void> {
  server = await startLocalS3({ port: 0, dir: dataDir, buckets: [BUCKET, 'exports'] });
  server.onEvent((e) => events.push(e));
  s3 = client();
}

beforeAll(async () => {
  scratch = scratchDir('sp-s3-');
  // the data directory sits two levels down, so anything written beside it is visible
  dataDir = path.join(scratch.dir, 'root', 's3');
  await start();
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
  scratch?.remove();
});

const md5 = (b: Buffer | string) => crypto.createHash('md5').update(b).digest('hex');
const b64 = (alg: string, b: Buffer | string) => crypto.createHash(alg).update(b).digest('base64');
const utf8Sort = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function getText(key: string, c = s3): Promise<string> {
  const res = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return res.Body!.transformToString();
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as S3ServiceException;
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail');
}

async function allKeys(prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token, MaxKeys: 3 }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request on loopback; `rawPath` goes on the wire exactly as given. */
function raw(method: string, rawPath: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Raw> {
  const url = new URL(server.endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Buffer =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

class NodeSha256 {
  private readonly h: crypto.Hash | crypto.Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? crypto.createHmac('sha256', bytes(secret)) : crypto.createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

/** A request signed as the AWS CLI signs over plain HTTP: SigV4 header, the payload's SHA-256 signed. */
async function signed(method: string, rawPath: string, body: Buffer, headers: Record<string, string> = {}): Promise<Raw> {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: 'eu-west-2',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'whatever-the-user-has' },
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const [p, q] = rawPath.split('?') as [string, string | undefined];
  const query = Object.fromEntries(new URLSearchParams(q ?? ''));
  const req = await signer.sign(
    new HttpRequest({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: p,
      query,
      headers: {
        host: url.host,
        'x-amz-content-sha256': crypto.createHash('sha256').update(body).digest('hex'),
        'content-length': String(body.length),
        ...headers,
      },
      body,
    }),
  );
  return raw(method, rawPath, { headers: req.headers, body });
}

/** aws-chunked framing of `body` with a trailing checksum, as the SDK streams it (unsigned payload, trailer). */
function awsChunked(body: Buffer, chunkSize: number, trailer: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunkSize) {
    const c = body.subarray(i, i + chunkSize);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailer}\r\n\r\n`));
  return Buffer.concat(parts);
}

describe('keys are stored safely whatever their characters', () => {
  const hostile = [
    '../escape.csv',
    '../../escape.csv',
    'a/../../b.csv',
    '.../../customers.csv',
    'customers.csv',
    '..',
    '.',
    'a',
    'a/b',
    'a/',
    'a//b',
    '/leading-slash',
    '%2e%2e/encoded-dots',
    '100%.csv',
    'with space+plus.csv',
    'question?hash#amp&eq=.json',
    'ü/日本語/😀 emoji.json',
    'tab\tand\nnewline',
    'k'.repeat(1001),
    'x'.repeat(1024),
    '日'.repeat(341) + 'x', // 1,024 bytes of UTF-8
  ];

  beforeAll(async () => {
    for (const [i, key] of hostile.entries())
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body ${i}` }));
  });

  it('reads each key back with its own body, and lists exactly the keys put, in UTF-8 byte order', async () => {
    for (const [i, key] of hostile.entries()) expect(await getText(key)).toBe(`body ${i}`);
    expect(await allKeys()).toEqual(utf8Sort(hostile));
  });

  it('writes nothing outside its data directory, and names no file after a key', () => {
    expect(fs.readdirSync(scratch.dir)).toEqual(['root']);
    expect(fs.readdirSync(path.join(scratch.dir, 'root'))).toEqual(['s3']);
    const files = filesUnder(dataDir);
    expect(files.filter((f) => /escape|customers|😀|kkkk/.test(f))).toEqual([]);
    for (const f of files) expect(path.resolve(dataDir, f).startsWith(dataDir + path.sep)).toBe(true);
  });

  it('answers HEAD with the size and MD5 ETag, and deletes a key without touching its neighbours', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a/b' }));
    const expected = `body ${hostile.indexOf('a/b')}`;
    expect(head.ContentLength).toBe(Buffer.byteLength(expected));
    expect(head.ETag).toBe(`"${md5(expected)}"`);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'a' }));
    expect((await errorOf(getText('a'))).name).toBe('NoSuchKey');
    expect(await getText('a/b')).toBe(expected);
    expect(await getText('a/')).toBe(`body ${hostile.indexOf('a/')}`);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a', Body: `body ${hostile.indexOf('a')}` }));
  });

  it('survives a restart: the same keys, bodies and listing from the data directory', async () => {
    s3.destroy();
    await server.close();
    await start();
    for (const [i, key] of hostile.entries()) expect(await getText(key)).toBe(`body ${i}`);
    expect(await allKeys()).toEqual(utf8Sort(hostile));
  });

  it('refuses a key longer than 1,024 bytes of UTF-8 with KeyTooLongError and stays up', async () => {
    expect(await errorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k'.repeat(1025), Body: 'x' })))).toEqual({
      name: 'KeyTooLongError',
      status: 400,
    });
    expect(await errorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: '日'.repeat(342), Body: 'x' })))).toMatchObject({
      name: 'KeyTooLongError',
    });
    expect(await getText('customers.csv')).toBe(`body ${hostile.indexOf('customers.csv')}`);
  });
});

describe('ListObjectsV2: prefix, delimiter, continuation, start-after', () => {
  const keys = ['p/a', 'p/b/1', 'p/b/2', 'p/c', 'p/d/1', 'p/d/2/x', 'p/e', 'p/f/', 'p/g', 'q/z'];

  /** The reference: what S3's documentation says the listing is, computed here. */
  function reference(prefix: string, delimiter: string, startAfter = '') {
    const contents: string[] = [];
    const prefixes: string[] = [];
    for (const k of utf8Sort(keys)) {
      if (!k.startsWith(prefix) || (startAfter && Buffer.compare(Buffer.from(k), Buffer.from(startAfter)) <= 0)) continue;
      const rest = k.slice(prefix.length);
      const i = delimiter ? rest.indexOf(delimiter) : -1;
      if (i === -1) contents.push(k);
      else if (!prefixes.includes(prefix + rest.slice(0, i + 1))) prefixes.push(prefix + rest.slice(0, i + 1));
    }
    return { contents, prefixes };
  }

  beforeAll(async () => {
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: 'exports', Key: k, Body: k }));
  });

  it.each([
    ['p/', '/', 1],
    ['p/', '/', 2],
    ['p/', '', 3],
    ['', '/', 1],
    ['p/b', '/', 1],
  ])('prefix %j delimiter %j in pages of %i equals the reference', async (prefix, delimiter, maxKeys) => {
    const contents: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'exports', Prefix: prefix, Delimiter: delimiter || undefined, MaxKeys: maxKeys, ContinuationToken: token }),
      );
      expect((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0)).toBeLessThanOrEqual(maxKeys);
      expect(page.KeyCount).toBe((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
      contents.push(...(page.Contents ?? []).map((o) => o.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
      pages++;
    } while (token && pages < 50);
    expect({ contents, prefixes }).toEqual(reference(prefix, delimiter));
  });

  it('starts after StartAfter', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'exports', Prefix: 'p/', StartAfter: 'p/c' }));
    expect((page.Contents ?? []).map((o) => o.Key)).toEqual(reference('p/', '', 'p/c').contents);
  });

  it('URL-encodes keys for encoding-type=url as botocore decodes them (unquote_plus)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'exports', Key: 'enc/a b+c%d.json', Body: 'x' }));
    const res = await raw('GET', '/exports?list-type=2&prefix=enc%2F&encoding-type=url');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<Key>enc/a+b%2Bc%25d.json</Key>');
    expect(res.body).toContain('<EncodingType>url</EncodingType>');
  });

  it('refuses a forged continuation token', async () => {
    expect(await errorOf(s3.send(new ListObjectsV2Command({ Bucket: 'exports', ContinuationToken: 'garbage!' })))).toEqual({
      name: 'InvalidArgument',
      status: 400,
    });
  });
});

describe('GET: Range and conditional requests', () => {
  const body = '0123456789';
  let etag: string;
  beforeAll(async () => {
    etag = (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'range.txt', Body: body }))).ETag!;
  });

  it.each([
    ['bytes=2-5', '2345', 'bytes 2-5/10'],
    ['bytes=7-', '789', 'bytes 7-9/10'],
    ['bytes=-3', '789', 'bytes 7-9/10'],
    ['bytes=8-100', '89', 'bytes 8-9/10'],
  ])('%s', async (range, expected, contentRange) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', Range: range }));
    expect(await res.Body!.transformToString()).toBe(expected);
    expect(res.ContentRange).toBe(contentRange);
    expect(res.$metadata.httpStatusCode).toBe(206);
  });

  it('answers an unsatisfiable range with 416 InvalidRange', async () => {
    expect(await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', Range: 'bytes=10-' })))).toEqual({
      name: 'InvalidRange',
      status: 416,
    });
  });

  it('honours If-Match and If-None-Match', async () => {
    const ok = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', IfMatch: etag }));
    expect(await ok.Body!.transformToString()).toBe(body);
    expect(await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'range.txt', IfMatch: '"0000"' })))).toMatchObject({
      status: 412,
    });
    expect((await raw('GET', '/landing/range.txt', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('conditional writes: If-None-Match * refuses to overwrite, If-Match needs the current ETag', async () => {
    expect(
      await errorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'range.txt', Body: 'new', IfNoneMatch: '*' }))),
    ).toMatchObject({ status: 412 });
    expect(
      await errorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'range.txt', Body: 'new', IfMatch: '"0000"' }))),
    ).toMatchObject({ status: 412 });
    expect(await getText('range.txt')).toBe(body);
  });
});

describe('multipart uploads', () => {
  const MiB = 1024 * 1024;
  const part1 = crypto.randomBytes(5 * MiB);
  const part2 = crypto.randomBytes(1234);

  it('create, upload parts, complete: the bytes and S3 multipart ETag (MD5 of part MD5s, -N)', async () => {
    const key = 'multi/../part ü.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'application/x-test' }));
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part1 }))).ETag!;
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2 }))).ETag!;
    expect([e1, e2]).toEqual([`"${md5(part1)}"`, `"${md5(part2)}"`]);
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] },
      }),
    );
    const expectedEtag = `"${crypto.createHash('md5').update(Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')])).digest('hex')}-2"`;
    expect(done.ETag).toBe(expectedEtag);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([part1, part2]))).toBe(true);
    expect(got.ContentType).toBe('application/x-test');
    expect(server.openUploads(BUCKET)).toEqual([]);
    expect(events.at(-1)).toMatchObject({ eventName: 'ObjectCreated:CompleteMultipartUpload', key, size: part1.length + part2.length });
  });

  it('refuses a small non-final part, a wrong ETag, parts out of order; abort leaves nothing', async () => {
    const key = 'multi/refused.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part2 }))).ETag!;
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2 }))).ETag!;
    const complete = (parts: { PartNumber: number; ETag: string }[]) =>
      errorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } })));
    expect((await complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }])).name).toBe('EntityTooSmall');
    expect((await complete([{ PartNumber: 1, ETag: '"ffff"' }])).name).toBe('InvalidPart');
    expect((await complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }])).name).toBe('InvalidPartOrder');
    expect(server.openUploads(BUCKET)).toEqual([UploadId]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
    expect(server.openUploads(BUCKET)).toEqual([]);
    expect((await errorOf(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId })))).name).toBe('NoSuchUpload');
    expect((await errorOf(getText(key))).name).toBe('NoSuchKey');
  });

  it('treats an upload id that is a path as no upload', async () => {
    const before = filesUnder(dataDir).length;
    const res = await raw('PUT', '/landing/x?partNumber=1&uploadId=..%2F..%2F..%2Fpwned', { body: 'x' });
    expect(res.status).toBe(404);
    expect(res.body).toContain('<Code>NoSuchUpload</Code>');
    expect(filesUnder(dataDir).length).toBe(before);
    expect(fs.readdirSync(scratch.dir)).toEqual(['root']);
  });
});

describe('clients: any credentials, the SDK defaults, what the AWS CLI sends', () => {
  it('accepts any credentials, and no credentials at all', async () => {
    const other = client({ credentials: { accessKeyId: 'AKIA-anything', secretAccessKey: 'wrong' } });
    await other.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'creds.txt', Body: 'ok' }));
    expect(await getText('creds.txt', other)).toBe('ok');
    const put = await raw('PUT', '/landing/unsigned.txt', { body: 'plain', headers: { 'content-length': '5' } });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(`"${md5('plain')}"`);
    expect((await raw('GET', '/landing/unsigned.txt')).body).toBe('plain');
  });

  it('decodes and verifies the SDK default checksums, including an aws-chunked stream with a trailer', async () => {
    const defaults = new S3Client({
      region: 'eu-west-2',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const body = crypto.randomBytes(300_000);
    await defaults.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk/buffer.bin', Body: body }));
    await defaults.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk/stream.bin', Body: Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]), ContentLength: body.length }),
    );
    for (const key of ['sdk/buffer.bin', 'sdk/stream.bin']) {
      const got = await defaults.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
      expect(got.ETag).toBe(`"${md5(body)}"`);
    }
    defaults.destroy();
  });

  it('refuses a body whose checksum does not match (header, trailer, Content-MD5, x-amz-content-sha256) and stores nothing', async () => {
    const body = Buffer.from('the real bytes');
    const wrongCrc = Buffer.from('00000000', 'hex').toString('base64');
    const cases: { name: string; headers: Record<string, string>; body: Buffer }[] = [
      { name: 'header', headers: { 'x-amz-checksum-crc32': wrongCrc, 'content-length': String(body.length) }, body },
      { name: 'sha256 header', headers: { 'x-amz-checksum-sha256': b64('sha256', 'other'), 'content-length': String(body.length) }, body },
      { name: 'content-md5', headers: { 'content-md5': b64('md5', 'other'), 'content-length': String(body.length) }, body },
      {
        name: 'trailer',
        headers: {
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(body.length),
          'x-amz-trailer': 'x-amz-checksum-crc64nvme',
        },
        body: awsChunked(body, 4, `x-amz-checksum-crc64nvme:${Buffer.alloc(8).toString('base64')}`),
      },
    ];
    for (const c of cases) {
      const res = await raw('PUT', `/landing/bad-digest-${c.name.replace(/ /g, '-')}`, { headers: c.headers, body: c.body });
      expect([c.name, res.status, /<Code>BadDigest<\/Code>/.test(res.body)]).toEqual([c.name, 400, true]);
    }
    const sha = await raw('PUT', '/landing/bad-digest-sha', {
      headers: { 'x-amz-content-sha256': crypto.createHash('sha256').update('other').digest('hex'), 'content-length': String(body.length) },
      body,
    });
    expect(sha.body).toContain('XAmzContentSHA256Mismatch');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'bad-digest' }));
    expect(listed.KeyCount).toBe(0);
  });

  it('stores an aws-chunked body with a correct CRC64NVME, CRC32C and SHA-1 trailer (the AWS CLI v2 default is CRC64NVME)', async () => {
    const body = crypto.randomBytes(100_000);
    // independent values: Node's sha1, and the CRCs' published check values below
    const trailers: Record<string, string> = { sha1: b64('sha1', body) };
    for (const [alg, value] of Object.entries(trailers)) {
      const res = await raw('PUT', `/landing/chunked-${alg}`, {
        headers: {
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(body.length),
          'x-amz-trailer': `x-amz-checksum-${alg}`,
        },
        body: awsChunked(body, 65536, `x-amz-checksum-${alg}:${value}`),
      });
      expect(res.status).toBe(200);
      expect(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `chunked-${alg}` }))).Body!.transformToByteArray()).equals(body)).toBe(true);
    }
    // "123456789": CRC-64/NVME ae8b14860a799888, CRC-32C e3069283 (the catalogue's check values)
    for (const [alg, hex] of [['crc64nvme', 'ae8b14860a799888'], ['crc32c', 'e3069283']]) {
      const res = await raw('PUT', `/landing/check-${alg}`, {
        headers: { 'content-length': '9', [`x-amz-checksum-${alg}`]: Buffer.from(hex!, 'hex').toString('base64') },
        body: '123456789',
      });
      expect([alg, res.status]).toEqual([alg, 200]);
    }
  });

  it('takes a SigV4-signed PutObject, ListObjectsV2 and GET as the AWS CLI sends them over HTTP', async () => {
    const body = Buffer.from('from the cli\n');
    const put = await signed('PUT', '/landing/cli/day%20one%2Bx.csv', body, { 'x-amz-checksum-sha256': b64('sha256', body) });
    expect(put.status).toBe(200);
    expect(await getText('cli/day one+x.csv')).toBe(body.toString());
    const list = await signed('GET', '/landing?list-type=2&prefix=cli%2F&encoding-type=url', Buffer.alloc(0));
    expect(list.body).toContain('<Key>cli/day+one%2Bx.csv</Key>');
    const get = await signed('GET', '/landing/cli/day%20one%2Bx.csv', Buffer.alloc(0));
    expect(get.body).toBe(body.toString());
  });

  it('copies and batch-deletes as aws s3 mv / rm --recursive do', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mv/from ü.txt', Body: 'moving' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'exports', Key: 'mv/to.txt', CopySource: `${BUCKET}/${encodeURIComponent('mv/from ü.txt')}` }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'exports', Key: 'mv/to.txt' }))).Body!.transformToString()).toBe('moving');
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'mv/from ü.txt' }, { Key: 'never-there' }] } }));
    expect((res.Deleted ?? []).map((d) => d.Key).sort()).toEqual(['mv/from ü.txt', 'never-there']);
    expect((await errorOf(getText('mv/from ü.txt'))).name).toBe('NoSuchKey');
  });
});

describe('no request takes the server down', () => {
  const garbage: [string, string, { headers?: Record<string, string>; body?: string }?][] = [
    ['GET', '/landing/%ZZ'],
    ['GET', '/landing/%FF%FE'],
    ['PUT', '/landing/' + 'k'.repeat(5000), { body: 'x' }],
    ['PUT', '/landing/x', { headers: { 'transfer-encoding': 'chunked' }, body: 'no length' }],
    ['PUT', '/landing/x', { headers: { 'content-length': '3', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length': '3' }, body: 'zzz' }],
    ['PUT', '/landing/x', { headers: { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length': '99999999999999999999' }, body: 'x' }],
    ['PUT', '/landing/x?partNumber=0&uploadId=abc', { body: 'x' }],
    ['PUT', '/landing/x?partNumber=99999999999&uploadId=' + 'a'.repeat(32), { body: 'x' }],
    ['POST', '/landing/x?uploadId=' + 'a'.repeat(32), { body: '<CompleteMultipartUpload>' }],
    ['POST', '/landing?delete', { body: '<!DOCTYPE x [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>', headers: { 'content-md5': 'x' } }],
    ['POST', '/landing?delete', { body: 'not xml at all' }],
    ['GET', '/landing?list-type=2&max-keys=-1'],
    ['GET', '/landing?list-type=2&continuation-token=%00%01'],
    ['GET', '/landing?acl'],
    ['PUT', '/landing/x?tagging', { body: '<Tagging/>' }],
    ['PUT', '/landing/x', { headers: { 'x-amz-copy-source': '/landing/%ZZ' } }],
    ['PUT', '/landing/x', { headers: { 'x-amz-copy-source': 'no-slash' } }],
    ['PUT', '/nosuchbucket/x', { body: 'x' }],
    ['PUT', '/..', { body: '' }],
    ['PUT', '/../../etc', { body: '' }],
    ['DELETE', '/landing/x?versionId=123'],
    ['GET', '/landing/range.txt', { headers: { range: 'bytes=5-2,garbage' } }],
    ['OPTIONS', '/landing/x', { headers: { origin: 'http://evil.example', 'access-control-request-method': 'PUT' } }],
    ['PATCH', '/landing/x'],
    ['GET', '/'],
  ];

  // every row has all four values: jest takes a callback with more parameters than the row for a done-style test
  it.each(garbage.map(([m, p, o], i) => [i, m, p, o ?? {}] as const))('#%i %s %s is answered, and the server still serves', async (_i, method, p, opts) => {
    const res = await raw(method, p, { headers: { 'content-length': String(Buffer.byteLength(opts?.body ?? '')), ...opts?.headers }, body: opts?.body }).catch(
      (err: Error): Raw => ({ status: -1, headers: {}, body: err.message }),
    );
    expect(res.status).not.toBe(500);
    if (method === 'OPTIONS') expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(await getText('customers.csv')).toMatch(/^body /);
    expect(fs.readdirSync(scratch.dir)).toEqual(['root']);
  });

  it('a client that disconnects half way through a body leaves the previous object and no partial file', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'half.bin', Body: 'old' }));
    const filesBefore = filesUnder(dataDir).length;
    await new Promise<void>((resolve) => {
      const url = new URL(server.endpoint);
      const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path: '/landing/half.bin', headers: { 'content-length': '1000000' }, agent: false });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(300_000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(await getText('half.bin')).toBe('old');
    expect(filesUnder(dataDir).length).toBe(filesBefore);
  });
});
