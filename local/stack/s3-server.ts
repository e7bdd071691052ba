/**
 * The local S3 server: the S3 REST API (path-style, and `<bucket>.localhost` virtual-hosted style)
 * on loopback, for the operations the pipeline, the AWS SDK v3, the AWS CLI and boto3 use:
 * ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning,
 * ListObjects (V1 and V2: prefix, delimiter, max-keys, continuation, start-after, encoding-type=url),
 * PutObject, CopyObject, GetObject and HeadObject (Range, If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since, response-* overrides), DeleteObject, DeleteObjects, and multipart uploads
 * (Create, UploadPart, Complete, Abort). Anything else is answered `501 NotImplemented`, by name.
 * API reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 *
 * Why our own server and not s3rver (which this replaces) or another npm package: s3rver turned
 * keys into paths (a `../` key wrote outside its directory, a 1,001-byte key crashed the process on
 * ENAMETOOLONG), accepted only the credentials S3RVER/S3RVER, stored aws-chunked bodies with their
 * framing (silent corruption with the SDK's default checksums), gave multipart objects a plain MD5
 * ETag and lacked AbortMultipartUpload; its maintained fork (@20minutes/s3rver) keeps the same
 * key-to-path store and needs Node 24; fauxqs keeps bodies in memory and maps keys to paths too.
 * Guarding s3rver would have meant replacing its store, its authentication and its body handling,
 * which is most of it. This server is small, keeps keys out of paths (./s3-store.ts), streams
 * bodies to disk, and is tested with the SDK and with raw signed and unsigned HTTP
 * (test/integration/local-s3-server.test.ts).
 *
 * As a stand-in it is as strict as S3 where it answers: keys up to 1,024 bytes of UTF-8
 * (KeyTooLongError), bodies checked against Content-MD5, x-amz-content-sha256 and x-amz-checksum-*
 * (BadDigest), a length required (MissingContentLength), parts of at least 5 MiB but the last
 * (EntityTooSmall), parts listed in order with their ETags (InvalidPartOrder, InvalidPart).
 * Like LocalStack it accepts any credentials and does not verify signatures: it has no secrets to
 * verify them with. It never answers a CORS preflight positively.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CHECKSUM_ALGORITHMS, createDigest, type ChecksumAlgorithm } from './s3-checksums';
import { ObjectStore, validBucketName, type ObjectMeta, type PartMeta } from './s3-store';

const MiB = 1024 * 1024;
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html (PutObject up to 5 GB) */
const MAX_PUT_BYTES = 5 * 1024 * MiB;
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html */
const MAX_PART_BYTES = 5 * 1024 * MiB;
const MIN_PART_BYTES = 5 * MiB;
const MAX_PART_NUMBER = 10_000;
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html: up to 1,024 bytes of UTF-8 */
const MAX_KEY_BYTES = 1024;
/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html: user metadata up to 2 KB */
const MAX_USER_METADATA_BYTES = 2048;
const MAX_XML_BODY = 4 * MiB;
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OWNER = { ID: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', DisplayName: 'local' };

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const noSuchBucket = () => new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
const noSuchKey = () => new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
const noSuchUpload = () =>
  new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
const notImplemented = (what: string) =>
  new S3Error(501, 'NotImplemented', `the local S3 server does not implement ${what}`);
const preconditionFailed = () =>
  new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');

export interface S3ServerOptions {
  region: string;
  /** Called for a request that failed inside the server (500); the server answers and goes on. */
  onInternalError?: (err: Error, req: { method?: string; url?: string }) => void;
}

export function createS3Server(store: ObjectStore, opts: S3ServerOptions): http.Server {
  const server = http.createServer((req, res) => {
    // a client that goes away mid-request is not the server's failure
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const requestId = crypto.randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', requestId);
    handle(store, opts, req, res).catch((err: unknown) => {
      const e =
        err instanceof S3Error
          ? err
          : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (!(err instanceof S3Error)) opts.onInternalError?.(err as Error, { method: req.method, url: req.url });
      sendError(req, res, e, requestId);
    });
  });
  return server;
}

function sendError(req: http.IncomingMessage, res: http.ServerResponse, e: S3Error, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // an unread request body must not be parsed as the next request
  if (!req.complete) res.setHeader('connection', 'close');
  res.statusCode = e.status;
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/xml');
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
      toXml('Error', { Code: e.code, Message: e.message, Resource: safeResource(req.url), RequestId: requestId }),
  );
}

function safeResource(url: string | undefined): string {
  return (url ?? '').split('?')[0]!.slice(0, 4096);
}

// --- request parsing ---

interface Request {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  header(name: string): string | undefined;
}

/** A path segment to text: raw non-ASCII bytes are taken as UTF-8, percent escapes decoded, invalid UTF-8 refused. */
function decodePath(raw: string): string {
  const escaped = raw.replace(/[\x80-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  try {
    return decodeURIComponent(escaped);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

function parseRequest(req: http.IncomingMessage, res: http.ServerResponse): Request {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  if (!rawPath.startsWith('/')) throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  let bucket: string;
  let key: string;
  if (host.endsWith('.localhost') && host !== 's3.localhost') {
    bucket = host.slice(0, -'.localhost'.length).replace(/\.s3$/, '');
    key = decodePath(rawPath.slice(1));
  } else {
    const slash = rawPath.indexOf('/', 1);
    bucket = decodePath(slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash));
    key = slash === -1 ? '' : decodePath(rawPath.slice(slash + 1));
  }
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  return { req, res, method: req.method ?? 'GET', bucket, key, query, header };
}

/** Query parameters no operation needs to understand: signing, SDK hints, response overrides. */
function ignoredParam(name: string): boolean {
  return /^(x-id|x-amz-.*|awsaccesskeyid|signature|expires|response-.*)$/i.test(name);
}

function onlyParams(r: Request, allowed: string[], what: string): void {
  for (const name of r.query.keys()) {
    if (!ignoredParam(name) && !allowed.includes(name)) throw notImplemented(`${what} with ?${name}`);
  }
}

// --- dispatch ---

async function handle(store: ObjectStore, opts: S3ServerOptions, req: http.IncomingMessage, res: http.ServerResponse) {
  const r = parseRequest(req, res);
  if (r.method === 'OPTIONS') {
    // what S3 answers a preflight for a bucket without a CORS configuration
    throw new S3Error(403, 'CORSResponse', 'CORS is not enabled for this bucket.');
  }
  if (!r.bucket) {
    if (r.method !== 'GET') throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    onlyParams(r, [], 'ListBuckets');
    return sendXml(res, 200, 'ListAllMyBucketsResult', {
      Owner: OWNER,
      Buckets: { Bucket: store.listBuckets().map((b) => ({ Name: b.name, CreationDate: b.created })) },
    });
  }
  checkExpectedOwner(store, r);
  if (r.key === '') return bucketOperation(store, opts, r);
  if (!store.hasBucket(r.bucket)) throw noSuchBucket();
  if (Buffer.byteLength(r.key, 'utf8') > MAX_KEY_BYTES) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
  const q = r.query;
  switch (r.method) {
    case 'GET':
    case 'HEAD':
      if (q.has('uploadId')) throw notImplemented('ListParts');
      onlyParams(r, ['versionId'], 'GetObject');
      return getObject(store, r);
    case 'PUT':
      if (q.has('partNumber') || q.has('uploadId')) {
        if (r.header('x-amz-copy-source')) throw notImplemented('UploadPartCopy');
        onlyParams(r, ['partNumber', 'uploadId'], 'UploadPart');
        return uploadPart(store, r);
      }
      onlyParams(r, [], 'PutObject');
      return r.header('x-amz-copy-source') ? copyObject(store, r) : putObject(store, r);
    case 'DELETE':
      if (q.has('uploadId')) {
        onlyParams(r, ['uploadId'], 'AbortMultipartUpload');
        if (!store.removeUpload(r.bucket, q.get('uploadId') ?? '')) throw noSuchUpload();
        res.statusCode = 204;
        return res.end();
      }
      onlyParams(r, ['versionId'], 'DeleteObject');
      checkVersionId(r);
      store.delete(r.bucket, r.key);
      res.statusCode = 204;
      return res.end();
    case 'POST':
      if (q.has('uploads')) {
        onlyParams(r, ['uploads'], 'CreateMultipartUpload');
        const headers = storedHeaders(r);
        const uploadId = store.createUpload(r.bucket, r.key, headers);
        echoEncryption(res, headers);
        return sendXml(res, 200, 'InitiateMultipartUploadResult', { Bucket: r.bucket, Key: r.key, UploadId: uploadId });
      }
      if (q.has('uploadId')) {
        onlyParams(r, ['uploadId'], 'CompleteMultipartUpload');
        return completeUpload(store, r);
      }
      throw notImplemented(`POST on an object with ?${[...q.keys()].join('&')}`);
    default:
      throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
}

async function bucketOperation(store: ObjectStore, opts: S3ServerOptions, r: Request) {
  const { res, query: q, bucket } = r;
  if (r.method === 'PUT') {
    onlyParams(r, [], 'CreateBucket');
    if (!validBucketName(bucket)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.');
    await readXmlBody(r, false); // an optional CreateBucketConfiguration
    if (!store.createBucket(bucket))
      throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
    res.setHeader('location', `/${bucket}`);
    return res.end();
  }
  if (!store.hasBucket(bucket)) throw noSuchBucket();
  switch (r.method) {
    case 'HEAD':
      onlyParams(r, [], 'HeadBucket');
      res.setHeader('x-amz-bucket-region', opts.region);
      return res.end();
    case 'DELETE':
      onlyParams(r, [], 'DeleteBucket');
      if (store.deleteBucket(bucket) === 'not-empty')
        throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty');
      res.statusCode = 204;
      return res.end();
    case 'POST':
      if (!q.has('delete')) throw notImplemented(`POST on a bucket with ?${[...q.keys()].join('&')}`);
      onlyParams(r, ['delete'], 'DeleteObjects');
      return deleteObjects(store, r);
    case 'GET':
      if (q.has('location')) {
        onlyParams(r, ['location'], 'GetBucketLocation');
        return sendXml(res, 200, 'LocationConstraint', undefined, opts.region);
      }
      if (q.has('versioning')) {
        // never versioned: no Status, as S3 answers for a bucket that never had versioning enabled
        onlyParams(r, ['versioning'], 'GetBucketVersioning');
        return sendXml(res, 200, 'VersioningConfiguration', {});
      }
      if (q.get('list-type') === '2') {
        onlyParams(r, ['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'fetch-owner'], 'ListObjectsV2');
        return listObjectsV2(store, r);
      }
      onlyParams(r, ['prefix', 'delimiter', 'max-keys', 'marker', 'encoding-type'], 'ListObjects');
      return listObjectsV1(store, r);
    default:
      throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
}

/**
 * `x-amz-expected-bucket-owner`: a request naming an owner other than the bucket's is refused with
 * 403 Access Denied, before anything is read or written, so a bucket that changed hands is never
 * written. https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
 */
function checkExpectedOwner(store: ObjectStore, r: Request): void {
  const expected = r.header('x-amz-expected-bucket-owner');
  if (expected === undefined || r.method === 'PUT' && r.key === '') return;
  if (!store.hasBucket(r.bucket)) return; // NoSuchBucket, as S3 answers first
  if (store.bucketOwner(r.bucket) !== expected) throw new S3Error(403, 'AccessDenied', 'Access Denied');
}

/**
 * Every local bucket has Object Ownership "bucket owner enforced" (as new S3 buckets do): ACLs are
 * disabled, and a write may carry no ACL or only the bucket-owner-full-control canned ACL; any other
 * ACL is refused with 400 AccessControlListNotSupported.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html
 */
function checkAcl(r: Request): void {
  const acl = r.header('x-amz-acl');
  const grants = Object.keys(r.req.headers).filter((h) => h.startsWith('x-amz-grant-'));
  if ((acl === undefined || acl === 'bucket-owner-full-control') && grants.length === 0) return;
  throw new S3Error(400, 'AccessControlListNotSupported', 'The bucket does not allow ACLs');
}

const SSE_HEADER = 'x-amz-server-side-encryption';
const SSE_KMS_KEY_HEADER = 'x-amz-server-side-encryption-aws-kms-key-id';

/**
 * Server-side encryption asked for on a write: kept with the object and echoed as S3 does (the
 * local server stores the bytes as they are). A KMS key id without aws:kms is refused, as S3 does.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
 */
function encryptionHeaders(r: Request): Record<string, string> {
  const sse = r.header(SSE_HEADER);
  const key = r.header(SSE_KMS_KEY_HEADER);
  if (sse !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse))
    throw new S3Error(400, 'InvalidArgument', 'The encryption method specified is not supported');
  if (key !== undefined && !sse?.startsWith('aws:kms'))
    throw new S3Error(400, 'InvalidArgument', 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms');
  return { ...(sse ? { [SSE_HEADER]: sse } : {}), ...(key ? { [SSE_KMS_KEY_HEADER]: key } : {}) };
}

function echoEncryption(res: http.ServerResponse, headers: Record<string, string>): void {
  for (const h of [SSE_HEADER, SSE_KMS_KEY_HEADER]) if (headers[h] !== undefined) res.setHeader(h, headers[h]!);
}

// --- objects ---

function checkVersionId(r: Request): void {
  const v = r.query.get('versionId');
  // an unversioned bucket has one version of each object, "null"
  if (v !== null && v !== 'null') throw new S3Error(400, 'InvalidArgument', 'Invalid version id specified');
}

/** The headers S3 stores with an object and returns on GET/HEAD. */
function storedHeaders(r: Request): Record<string, string> {
  checkAcl(r);
  const out: Record<string, string> = {
    'content-type': r.header('content-type') || 'binary/octet-stream',
    ...encryptionHeaders(r),
  };
  for (const name of ['cache-control', 'content-disposition', 'content-language', 'expires']) {
    const v = r.header(name);
    if (v !== undefined) out[name] = v;
  }
  const encoding = (r.header('content-encoding') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'aws-chunked');
  if (encoding.length) out['content-encoding'] = encoding.join(',');
  let metaBytes = 0;
  for (const [name, value] of Object.entries(r.req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    metaBytes += Buffer.byteLength(name.slice('x-amz-meta-'.length)) + Buffer.byteLength(v);
    out[name] = v;
  }
  if (metaBytes > MAX_USER_METADATA_BYTES)
    throw new S3Error(400, 'MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size.');
  return out;
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v.replace(/^"|"$/g, '') === etag;
  });
}

/** PutObject's and CompleteMultipartUpload's conditional writes. https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html */
function writePrecondition(r: Request): (previous: ObjectMeta | undefined) => void {
  const ifMatch = r.header('if-match');
  const ifNoneMatch = r.header('if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*')
    throw notImplemented('If-None-Match on a write with a value other than *');
  return (previous) => {
    if (ifNoneMatch !== undefined && previous) throw preconditionFailed();
    if (ifMatch !== undefined) {
      if (!previous) throw noSuchKey();
      if (!etagMatches(ifMatch, previous.etag)) throw preconditionFailed();
    }
  };
}

async function putObject(store: ObjectStore, r: Request) {
  const headers = storedHeaders(r);
  const precondition = writePrecondition(r);
  precondition(store.get(r.bucket, r.key));
  const { name, file } = store.newDataFile(r.bucket);
  const got = await receiveBody(r, file, MAX_PUT_BYTES);
  const meta: ObjectMeta = {
    key: r.key,
    size: got.size,
    etag: got.md5,
    lastModified: new Date().toISOString(),
    headers,
    checksums: got.checksums,
    data: name,
  };
  await commitOrDiscard(store, r.bucket, meta, 'ObjectCreated:Put', precondition, file);
  r.res.setHeader('etag', `"${meta.etag}"`);
  echoEncryption(r.res, headers);
  for (const [h, v] of Object.entries(got.checksums)) r.res.setHeader(h, v);
  r.res.end();
}

async function commitOrDiscard(
  store: ObjectStore,
  bucket: string,
  meta: ObjectMeta,
  eventName: Parameters<ObjectStore['commit']>[2],
  precondition: (previous: ObjectMeta | undefined) => void,
  file: string,
) {
  try {
    await store.commit(bucket, meta, eventName, precondition);
  } catch (err) {
    await fs.promises.rm(file, { force: true });
    throw err;
  }
}

async function copyObject(store: ObjectStore, r: Request) {
  for (const name of Object.keys(r.req.headers))
    if (name.startsWith('x-amz-copy-source-if-')) throw notImplemented(`CopyObject with ${name}`);
  const raw = r.header('x-amz-copy-source') ?? '';
  const [sourcePath, sourceQuery] = raw.split('?', 2) as [string, string | undefined];
  const source = decodePath(sourcePath.replace(/^\//, ''));
  const slash = source.indexOf('/');
  if (slash <= 0 || slash === source.length - 1)
    throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  const srcBucket = source.slice(0, slash);
  const srcKey = source.slice(slash + 1);
  const version = new URLSearchParams(sourceQuery ?? '').get('versionId');
  if (version !== null && version !== 'null') throw new S3Error(400, 'InvalidArgument', 'Invalid version id specified');
  if (!store.hasBucket(srcBucket)) throw noSuchBucket();
  const directive = (r.header('x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new S3Error(400, 'InvalidArgument', 'Unknown metadata directive.');
  if (srcBucket === r.bucket && srcKey === r.key && directive === 'COPY')
    throw new S3Error(
      400,
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  const opened = store.open(srcBucket, srcKey);
  if (!opened) throw noSuchKey();
  const { name, file } = store.newDataFile(r.bucket);
  try {
    await pipeline(fs.createReadStream('', { fd: opened.fd }), fs.createWriteStream(file, { flags: 'wx' }));
  } catch (err) {
    await fs.promises.rm(file, { force: true });
    throw err;
  }
  const meta: ObjectMeta = {
    ...opened.meta,
    key: r.key,
    lastModified: new Date().toISOString(),
    headers: directive === 'REPLACE' ? storedHeaders(r) : opened.meta.headers,
    data: name,
  };
  await commitOrDiscard(store, r.bucket, meta, 'ObjectCreated:Copy', () => undefined, file);
  return sendXml(r.res, 200, 'CopyObjectResult', { LastModified: meta.lastModified, ETag: `"${meta.etag}"` });
}

function parseHttpDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** RFC 9110 single byte range; anything S3 would not honour is ignored (the whole object is sent). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

async function getObject(store: ObjectStore, r: Request) {
  checkVersionId(r);
  const opened = store.open(r.bucket, r.key);
  if (!opened) throw noSuchKey();
  const { meta, fd } = opened;
  let streaming = false;
  try {
    const res = r.res;
    const modified = Math.floor(Date.parse(meta.lastModified) / 1000) * 1000;
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (conditional requests, RFC 7232)
    const ifMatch = r.header('if-match');
    const ifNoneMatch = r.header('if-none-match');
    const ifUnmodified = parseHttpDate(r.header('if-unmodified-since'));
    const ifModified = parseHttpDate(r.header('if-modified-since'));
    if (ifMatch !== undefined && !etagMatches(ifMatch, meta.etag)) throw preconditionFailed();
    if (ifMatch === undefined && ifUnmodified !== undefined && modified > ifUnmodified) throw preconditionFailed();
    const notModified =
      ifNoneMatch !== undefined
        ? etagMatches(ifNoneMatch, meta.etag)
        : ifModified !== undefined && modified <= ifModified;
    res.setHeader('etag', `"${meta.etag}"`);
    res.setHeader('last-modified', new Date(modified).toUTCString());
    if (notModified) {
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader('accept-ranges', 'bytes');
    for (const [h, v] of Object.entries(meta.headers)) res.setHeader(h, v);
    for (const [param, h] of Object.entries(RESPONSE_OVERRIDES)) {
      const v = r.query.get(param);
      if (v !== null) res.setHeader(h, v);
    }
    const range = parseRange(r.header('range'), meta.size);
    if (range === 'unsatisfiable') {
      res.setHeader('content-range', `bytes */${meta.size}`);
      throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable');
    }
    if (range) {
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${range.start}-${range.end}/${meta.size}`);
      res.setHeader('content-length', range.end - range.start + 1);
    } else {
      res.setHeader('content-length', meta.size);
      if (r.header('x-amz-checksum-mode')?.toUpperCase() === 'ENABLED')
        for (const [h, v] of Object.entries(meta.checksums)) res.setHeader(h, v);
    }
    if (r.method === 'HEAD' || meta.size === 0) return res.end();
    streaming = true;
    const body = fs.createReadStream('', { fd, start: range?.start ?? 0, end: range?.end ?? meta.size - 1 });
    await pipeline(body, res).catch(() => res.destroy());
  } finally {
    if (!streaming) fs.close(fd, () => undefined);
  }
}

// --- bodies ---

interface Received {
  size: number;
  /** hex MD5 of the decoded bytes */
  md5: string;
  /** verified `x-amz-checksum-<alg>` values */
  checksums: Record<string, string>;
}

/**
 * The body of a PUT, decoded (aws-chunked framing removed) and streamed to `file`, then verified:
 * length, Content-MD5, x-amz-content-sha256, x-amz-checksum-* in a header or an aws-chunked trailer.
 * On any failure the file is removed.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
async function receiveBody(r: Request, file: string, maxBytes: number): Promise<Received> {
  const sha = r.header('x-amz-content-sha256');
  const chunked =
    (sha !== undefined && sha.startsWith('STREAMING-')) ||
    (r.header('content-encoding') ?? '').split(',').some((s) => s.trim() === 'aws-chunked');
  const lengthHeader = chunked ? r.header('x-amz-decoded-content-length') : r.header('content-length');
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader))
    throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  const expected = Number(lengthHeader);
  if (expected > maxBytes)
    throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');

  const md5 = createDigest('md5');
  const contentSha = sha !== undefined && /^[0-9a-f]{64}$/i.test(sha) ? crypto.createHash('sha256') : undefined;
  const wanted = new Map<ChecksumAlgorithm, string | undefined>();
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = r.header(`x-amz-checksum-${alg}`);
    if (v !== undefined) wanted.set(alg, v);
  }
  const trailerNames = (r.header('x-amz-trailer') ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const t of trailerNames) {
    const alg = t.replace(/^x-amz-checksum-/, '') as ChecksumAlgorithm;
    if (!t.startsWith('x-amz-checksum-') || !CHECKSUM_ALGORITHMS.includes(alg))
      throw new S3Error(400, 'InvalidRequest', `unsupported trailer ${t}`);
    if (!chunked) throw new S3Error(400, 'InvalidRequest', 'x-amz-trailer needs an aws-chunked body');
    wanted.set(alg, undefined);
  }
  const digests = new Map([...wanted.keys()].map((alg) => [alg, createDigest(alg)]));
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      size += chunk.length;
      if (size > expected) return cb(new S3Error(400, 'IncompleteBody', 'The request body is longer than its declared length.'));
      md5.update(chunk);
      contentSha?.update(chunk);
      for (const d of digests.values()) d.update(chunk);
      cb(null, chunk);
    },
  });
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  try {
    const out = fs.createWriteStream(file, { flags: 'wx' });
    await (decoder ? pipeline(r.req, decoder, tap, out) : pipeline(r.req, tap, out));
    if (size !== expected)
      throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    const contentMd5 = r.header('content-md5');
    if (contentMd5 !== undefined && md5.base64() !== contentMd5) {
      if (Buffer.from(contentMd5, 'base64').length !== 16)
        throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.');
      throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    if (contentSha && contentSha.digest('hex') !== sha!.toLowerCase())
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    const checksums: Record<string, string> = {};
    for (const [alg, digest] of digests) {
      const claimed = wanted.get(alg) ?? decoder?.trailers.get(`x-amz-checksum-${alg}`);
      if (claimed === undefined) throw new S3Error(400, 'InvalidRequest', `the trailer x-amz-checksum-${alg} was announced but not sent`);
      if (digest.base64() !== claimed)
        throw new S3Error(400, 'BadDigest', `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`);
      checksums[`x-amz-checksum-${alg}`] = claimed;
    }
    return { size, md5: Buffer.from(md5.base64(), 'base64').toString('hex'), checksums };
  } catch (err) {
    await fs.promises.rm(file, { force: true });
    if (err instanceof S3Error) throw err;
    if (r.req.destroyed || !r.req.complete)
      throw new S3Error(400, 'IncompleteBody', 'The request body ended before its declared length.');
    throw err;
  }
}

/**
 * Removes aws-chunked framing: `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` ... `0[;...]\r\n`
 * then trailer lines `name:value\r\n` and an empty line. Chunk signatures are not verified (any
 * credentials are accepted); the trailers are kept for the checksum check.
 */
class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line = '';
  private remaining = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let i = 0;
    try {
      while (i < chunk.length) {
        if (this.state === 'data') {
          const n = Math.min(this.remaining, chunk.length - i);
          this.push(chunk.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'data-end';
          continue;
        }
        if (this.state === 'done') throw this.bad('bytes after the final aws-chunked chunk');
        const nl = chunk.indexOf(0x0a, i);
        const end = nl === -1 ? chunk.length : nl + 1;
        this.line += chunk.toString('latin1', i, end);
        i = end;
        if (this.line.length > 8192) throw this.bad('an aws-chunked header line is too long');
        if (nl === -1) continue;
        if (!this.line.endsWith('\r\n')) throw this.bad('aws-chunked lines end with CRLF');
        const line = this.line.slice(0, -2);
        this.line = '';
        this.onLine(line);
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'size': {
        const m = /^([0-9a-fA-F]{1,16})(;.*)?$/.exec(line);
        if (!m) throw this.bad('invalid aws-chunked chunk size');
        this.remaining = parseInt(m[1]!, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-end':
        if (line !== '') throw this.bad('an aws-chunked chunk is longer than its size');
        this.state = 'size';
        return;
      case 'trailer': {
        if (line === '') {
          this.state = 'done';
          return;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) throw this.bad('invalid aws-chunked trailer');
        this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        return;
      }
      default:
        throw this.bad('invalid aws-chunked body');
    }
  }

  override _flush(cb: TransformCallback): void {
    // the final empty line may be missing when there are no trailers
    if (this.state === 'done' || (this.state === 'trailer' && this.line === '')) cb();
    else cb(this.bad('the aws-chunked body ended early'));
  }

  private bad(message: string): S3Error {
    return new S3Error(400, 'IncompleteBody', message);
  }
}

/** A small XML request body (CompleteMultipartUpload, DeleteObjects, CreateBucket), parsed. */
async function readXmlBody(r: Request, required: boolean): Promise<{ doc: Record<string, unknown>; raw: Buffer }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of r.req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_XML_BODY) throw new S3Error(400, 'MalformedXML', 'The XML you provided was too large.');
    chunks.push(c);
  }
  const raw = Buffer.concat(chunks);
  const text = raw.toString('utf8').trim();
  if (!text) {
    if (required) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    return { doc: {}, raw };
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(text) || XMLValidator.validate(text) !== true)
    throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  const parser = new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => name === 'Part' || name === 'Object',
  });
  return { doc: parser.parse(text) as Record<string, unknown>, raw };
}

function malformed(): S3Error {
  return new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
}

// --- multipart ---

async function uploadPart(store: ObjectStore, r: Request) {
  const pn = r.query.get('partNumber') ?? '';
  const partNumber = /^\d{1,5}$/.test(pn) ? Number(pn) : NaN;
  if (!(partNumber >= 1 && partNumber <= MAX_PART_NUMBER))
    throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  const uploadId = r.query.get('uploadId') ?? '';
  const upload = store.upload(r.bucket, uploadId);
  if (!upload || upload.key !== r.key) throw noSuchUpload();
  const { name, file } = store.newPartFile(r.bucket, uploadId);
  let got: Received;
  try {
    got = await receiveBody(r, file, MAX_PART_BYTES);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(); // aborted meanwhile
    throw err;
  }
  const part: PartMeta = { partNumber, size: got.size, etag: got.md5, data: name };
  if (!store.commitPart(r.bucket, uploadId, part)) {
    await fs.promises.rm(file, { force: true });
    throw noSuchUpload();
  }
  r.res.setHeader('etag', `"${part.etag}"`);
  for (const [h, v] of Object.entries(got.checksums)) r.res.setHeader(h, v);
  echoEncryption(r.res, upload.headers);
  r.res.end();
}

const completing = new Set<string>();

async function completeUpload(store: ObjectStore, r: Request) {
  const uploadId = r.query.get('uploadId') ?? '';
  const upload = store.upload(r.bucket, uploadId);
  if (!upload || upload.key !== r.key) throw noSuchUpload();
  const precondition = writePrecondition(r);
  const { doc } = await readXmlBody(r, true);
  const root = doc.CompleteMultipartUpload as { Part?: { PartNumber?: string; ETag?: string }[] } | undefined;
  if (!root || typeof root !== 'object' || !Array.isArray(root.Part) || root.Part.length === 0) throw malformed();
  const listed = root.Part.map((p) => {
    if (typeof p?.PartNumber !== 'string' || typeof p?.ETag !== 'string' || !/^\d+$/.test(p.PartNumber.trim())) throw malformed();
    return { partNumber: Number(p.PartNumber.trim()), etag: p.ETag.trim().replace(/^"|"$/g, '').replace(/&quot;/g, '') };
  });
  for (let i = 1; i < listed.length; i++)
    if (listed[i]!.partNumber <= listed[i - 1]!.partNumber)
      throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  if (completing.has(uploadId))
    throw new S3Error(409, 'OperationAborted', 'A conflicting conditional operation is currently in progress against this resource. Please try again.');
  completing.add(uploadId);
  try {
    const stored = store.parts(r.bucket, uploadId);
    const parts = listed.map((l) => {
      const p = stored.get(l.partNumber);
      if (!p || p.etag !== l.etag)
        throw new S3Error(400, 'InvalidPart', "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.");
      return p;
    });
    parts.slice(0, -1).forEach((p) => {
      if (p.size < MIN_PART_BYTES)
        throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    });
    const { name, file } = store.newDataFile(r.bucket);
    try {
      const out = fs.createWriteStream(file, { flags: 'wx' });
      for (const p of parts) await pipeline(fs.createReadStream(store.partPath(r.bucket, uploadId, p)), out, { end: false });
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      await fs.promises.rm(file, { force: true });
      throw err;
    }
    // S3's multipart ETag: MD5 of the concatenated binary part MD5s, then -<number of parts>
    const etag = `${crypto
      .createHash('md5')
      .update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex'))))
      .digest('hex')}-${parts.length}`;
    const meta: ObjectMeta = {
      key: r.key,
      size: parts.reduce((s, p) => s + p.size, 0),
      etag,
      lastModified: new Date().toISOString(),
      headers: upload.headers,
      checksums: {},
      data: name,
    };
    await commitOrDiscard(store, r.bucket, meta, 'ObjectCreated:CompleteMultipartUpload', precondition, file);
    store.removeUpload(r.bucket, uploadId);
    echoEncryption(r.res, upload.headers);
    return sendXml(r.res, 200, 'CompleteMultipartUploadResult', {
      Location: `/${r.bucket}/${encodeURIComponent(r.key).replace(/%2F/g, '/')}`,
      Bucket: r.bucket,
      Key: r.key,
      ETag: `"${etag}"`,
    });
  } finally {
    completing.delete(uploadId);
  }
}

async function deleteObjects(store: ObjectStore, r: Request) {
  const { doc, raw } = await readXmlBody(r, true);
  // S3 requires an integrity header on DeleteObjects and checks it
  const md5 = r.header('content-md5');
  const checksums = CHECKSUM_ALGORITHMS.filter((a) => r.header(`x-amz-checksum-${a}`) !== undefined);
  if (md5 === undefined && checksums.length === 0)
    throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5');
  const digestOf = (alg: ChecksumAlgorithm | 'md5') => {
    const d = createDigest(alg);
    d.update(raw);
    return d.base64();
  };
  if (md5 !== undefined && digestOf('md5') !== md5)
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  for (const a of checksums)
    if (digestOf(a) !== r.header(`x-amz-checksum-${a}`))
      throw new S3Error(400, 'BadDigest', `The ${a.toUpperCase()} you specified did not match the calculated checksum.`);
  const root = doc.Delete as { Quiet?: string; Object?: { Key?: string; VersionId?: string }[] } | undefined;
  if (!root || typeof root !== 'object' || !Array.isArray(root.Object) || root.Object.length === 0 || root.Object.length > 1000)
    throw malformed();
  const quiet = root.Quiet?.trim() === 'true';
  const deleted: { Key: string }[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  for (const o of root.Object) {
    if (typeof o?.Key !== 'string' || o.Key === '') throw malformed();
    if (o.VersionId !== undefined && o.VersionId !== 'null') {
      errors.push({ Key: o.Key, Code: 'NoSuchVersion', Message: 'The specified version does not exist.' });
      continue;
    }
    store.delete(r.bucket, o.Key);
    if (!quiet) deleted.push({ Key: o.Key });
  }
  return sendXml(r.res, 200, 'DeleteResult', { Deleted: deleted, Error: errors });
}

// --- listing ---

interface Listing {
  contents: ObjectMeta[];
  prefixes: string[];
  truncated: boolean;
  /** the last key or common prefix returned */
  last: string | undefined;
}

function parseMaxKeys(r: Request): number {
  const v = r.query.get('max-keys');
  if (v === null) return 1000;
  if (!/^\d+$/.test(v)) throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
  return Math.min(Number(v), 1000);
}

/**
 * Keys in UTF-8 binary order after `after`, under `prefix`, rolled up at `delimiter`; common
 * prefixes count toward `maxKeys` as in S3. `skipPrefix`: the common prefix a continuation ended on.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
function list(
  store: ObjectStore,
  bucket: string,
  o: { prefix: string; delimiter: string; after: string; skipPrefix: boolean; maxKeys: number },
): Listing {
  const out: Listing = { contents: [], prefixes: [], truncated: false, last: undefined };
  const after = Buffer.from(o.after, 'utf8');
  for (const key of store.sortedKeys(bucket)) {
    if (!key.startsWith(o.prefix)) continue;
    if (o.after && Buffer.compare(Buffer.from(key, 'utf8'), after) <= 0) continue;
    let rolled: string | undefined;
    if (o.delimiter) {
      const i = key.indexOf(o.delimiter, o.prefix.length);
      if (i !== -1) rolled = key.slice(0, i + o.delimiter.length);
    }
    if (rolled !== undefined && (rolled === out.prefixes.at(-1) || (o.skipPrefix && rolled === o.after))) continue;
    if (out.contents.length + out.prefixes.length >= o.maxKeys) {
      out.truncated = true;
      break;
    }
    if (rolled !== undefined) out.prefixes.push(rolled);
    else out.contents.push(store.get(bucket, key)!);
    out.last = rolled ?? key;
  }
  return out;
}

/** encoding-type=url, as botocore decodes it (unquote_plus): spaces as +, slashes kept. */
function urlEncoder(r: Request): (s: string) => string {
  const type = r.query.get('encoding-type');
  if (type === null) return (s) => s;
  if (type !== 'url') throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request');
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/%20/g, '+');
}

function contentsXml(items: ObjectMeta[], enc: (s: string) => string, owner: boolean) {
  return items.map((m) => ({
    Key: enc(m.key),
    LastModified: m.lastModified,
    ETag: `"${m.etag}"`,
    Size: m.size,
    ...(owner ? { Owner: OWNER } : {}),
    StorageClass: 'STANDARD',
  }));
}

function listObjectsV2(store: ObjectStore, r: Request) {
  const q = r.query;
  const enc = urlEncoder(r);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(r);
  const token = q.get('continuation-token');
  let after = q.get('start-after') ?? '';
  let skipPrefix = false;
  if (token !== null) {
    try {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown; prefix?: unknown };
      if (typeof t.after !== 'string') throw new Error('no after');
      after = t.after;
      skipPrefix = t.prefix === true;
    } catch {
      throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
    }
  }
  const l = list(store, r.bucket, { prefix, delimiter, after, skipPrefix, maxKeys });
  const next =
    l.truncated && l.last !== undefined
      ? Buffer.from(JSON.stringify({ after: l.last, prefix: l.prefixes.at(-1) === l.last })).toString('base64url')
      : undefined;
  return sendXml(r.res, 200, 'ListBucketResult', {
    Name: r.bucket,
    Prefix: enc(prefix),
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    MaxKeys: maxKeys,
    KeyCount: l.contents.length + l.prefixes.length,
    IsTruncated: l.truncated,
    ...(q.get('encoding-type') ? { EncodingType: 'url' } : {}),
    ...(token !== null ? { ContinuationToken: token } : {}),
    ...(next ? { NextContinuationToken: next } : {}),
    ...(q.get('start-after') !== null ? { StartAfter: enc(q.get('start-after')!) } : {}),
    Contents: contentsXml(l.contents, enc, q.get('fetch-owner') === 'true'),
    CommonPrefixes: l.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

function listObjectsV1(store: ObjectStore, r: Request) {
  const q = r.query;
  const enc = urlEncoder(r);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const marker = q.get('marker') ?? '';
  const maxKeys = parseMaxKeys(r);
  const l = list(store, r.bucket, { prefix, delimiter, after: marker, skipPrefix: true, maxKeys });
  return sendXml(r.res, 200, 'ListBucketResult', {
    Name: r.bucket,
    Prefix: enc(prefix),
    Marker: enc(marker),
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    MaxKeys: maxKeys,
    ...(q.get('encoding-type') ? { EncodingType: 'url' } : {}),
    IsTruncated: l.truncated,
    // S3 returns NextMarker only with a delimiter; without one the client uses the last key
    ...(l.truncated && delimiter && l.last !== undefined ? { NextMarker: enc(l.last) } : {}),
    Contents: contentsXml(l.contents, enc, true),
    CommonPrefixes: l.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

// --- XML ---

type XmlValue = string | number | boolean | undefined | XmlValue[] | { [tag: string]: XmlValue };

function escapeXml(s: string): string {
  // XML 1.0 has no literal form for most control characters (and a literal CR reads back as LF)
  // eslint-disable-next-line no-control-regex
  return s.replace(/[&<>"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

function toXml(tag: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => toXml(tag, v)).join('');
  if (typeof value === 'object')
    return `<${tag}>${Object.entries(value)
      .map(([k, v]) => toXml(k, v))
      .join('')}</${tag}>`;
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

function sendXml(res: http.ServerResponse, status: number, root: string, body: Record<string, XmlValue> | undefined, text?: string) {
  const inner = body ? Object.entries(body).map(([k, v]) => toXml(k, v)).join('') : escapeXml(text ?? '');
  res.statusCode = status;
  res.setHeader('content-type', 'application/xml');
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${inner}</${root}>`);
}
