/**
 * The object store: S3 in AWS, the loopback S3 server locally. One client per process.
 *
 * Checksums `WHEN_REQUIRED`: the SDK's default flexible checksums frame streamed bodies as
 * aws-chunked, which some local S3 servers store as is (the local stack's decodes and verifies it).
 * `WHEN_REQUIRED` is also fine for AWS.
 * https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/migrate-client-constructors.html
 */
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { config, type Config } from '../config';

export function createS3Client(cfg: Config = config(), overrides: Partial<S3ClientConfig> = {}): S3Client {
  const local = cfg.s3Endpoint !== undefined;
  return new S3Client({
    region: cfg.region,
    ...(local
      ? {
          endpoint: cfg.s3Endpoint,
          forcePathStyle: true,
          // the local S3 server accepts any key pair, as LocalStack does
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 4,
    ...overrides,
  });
}

let client: S3Client | undefined;

/** The process-wide S3 client. */
export function s3(): S3Client {
  client ??= createS3Client();
  return client;
}

export function setS3Client(next: S3Client | undefined): void {
  client = next;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date | undefined;
}

export async function getObjectStream(
  bucket: string,
  key: string,
  opts: { ifMatch?: string; versionId?: string } = {},
): Promise<{ body: Readable; etag: string; size: number; lastModified: Date | undefined }> {
  const res = await s3().send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ...(opts.versionId ? { VersionId: opts.versionId } : opts.ifMatch ? { IfMatch: quoteEtag(opts.ifMatch) } : {}),
    }),
  );
  return {
    body: res.Body as Readable,
    etag: stripEtag(res.ETag ?? ''),
    size: res.ContentLength ?? 0,
    lastModified: res.LastModified,
  };
}

export async function getObjectBytes(bucket: string, key: string, opts: { ifMatch?: string; versionId?: string } = {}) {
  const { body, ...rest } = await getObjectStream(bucket, key, opts);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return { bytes: Buffer.concat(chunks), ...rest };
}

export async function putObject(bucket: string, key: string, body: Buffer | string, contentType?: string) {
  const res = await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  return { etag: stripEtag(res.ETag ?? '') };
}

export async function headObject(bucket: string, key: string): Promise<ObjectInfo> {
  const res = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { key, size: res.ContentLength ?? 0, etag: stripEtag(res.ETag ?? ''), lastModified: res.LastModified };
}

/**
 * Every object under a prefix, in key order, through the SDK's own paginator (it follows
 * NextContinuationToken). `client` defaults to the process's client.
 * https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-aws-sdk-client-s3/Function/paginateListObjectsV2/
 */
export async function* listObjects(bucket: string, prefix = '', client: S3Client = s3()): AsyncIterable<ObjectInfo> {
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix || undefined })) {
    for (const o of page.Contents ?? []) {
      if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: stripEtag(o.ETag ?? ''), lastModified: o.LastModified };
    }
  }
}

export function stripEtag(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
