/**
 * What is in the landing bucket now, for the ops commands (replay, reconcile).
 *
 * The identity ingest keys a load by is the object version: the S3 versionId when the bucket is
 * versioned (every AWS bucket of this stack is, see serverless.yml), else the ETag
 * (shared/events/s3-notification.ts). ListObjectsV2 carries no versionId, so a versioned bucket is
 * listed with ListObjectVersions, keeping only the current version of each key (and skipping keys
 * whose current version is a delete marker).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
import {
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Route } from '../config';
import { InvalidInputError } from '../errors';
import { routeKey } from '../events/routing';
import { listObjects, stripEtag } from '../storage/object-store';

export interface LandingObject {
  key: string;
  size: number;
  /** Without quotes. */
  etag: string;
  /** Present only for a versioned bucket. */
  versionId: string | undefined;
  lastModified: Date;
}

export interface RoutedObject extends LandingObject {
  dataset: string;
}

/**
 * The object's version as reports show it: its versionId, or on an unversioned bucket its ETag (the
 * ledger's version there is `<etag>@<sequencer>`, which a listing cannot know; reconcile matches by ETag).
 */
export function versionOf(o: Pick<LandingObject, 'versionId' | 'etag'>): string {
  return o.versionId ?? o.etag;
}

/**
 * Whether to list versions. 'Suspended' counts: objects written before the suspension keep their
 * version ids. A server without versioning (the local S3 server) answers without a Status.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
 */
export async function bucketIsVersioned(s3: S3Client, bucket: string): Promise<boolean> {
  const res = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  return res.Status === 'Enabled' || res.Status === 'Suspended';
}

export interface ListOptions {
  prefix?: string;
  versioned?: boolean;
}

/** Every current object under the prefix, in key order. */
export async function* listLanding(
  s3: S3Client,
  bucket: string,
  opts: ListOptions = {},
): AsyncIterable<LandingObject> {
  const prefix = opts.prefix || undefined;
  if (!opts.versioned) {
    for await (const o of listObjects(bucket, prefix, s3)) {
      yield { key: o.key, size: o.size, etag: o.etag, versionId: undefined, lastModified: o.lastModified ?? new Date(0) };
    }
    return;
  }
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const res = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    // A delete marker that is the latest version hides the key: it is not in the bucket any more.
    for (const v of res.Versions ?? []) {
      if (!v.Key || !v.IsLatest) continue;
      yield {
        key: v.Key,
        size: v.Size ?? 0,
        etag: stripEtag(v.ETag ?? ''),
        // objects written while versioning was never enabled have the version id "null"
        versionId: v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined,
        lastModified: v.LastModified ?? new Date(0),
      };
    }
    keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
    versionMarker = res.IsTruncated ? res.NextVersionIdMarker : undefined;
  } while (keyMarker);
}

export interface Selection {
  routed: RoutedObject[];
  /** Keys that match no dataset route: ingest would acknowledge and ignore them. */
  unrouted: string[];
  /** Routed objects left out by `since`. */
  older: number;
}

/** Route each object to its dataset and keep those modified at or after `since`. */
export function selectObjects(
  objects: Iterable<LandingObject>,
  routes: readonly Route[],
  since?: Date,
): Selection {
  const out: Selection = { routed: [], unrouted: [], older: 0 };
  for (const o of objects) {
    const dataset = routeKey(o.key, routes);
    if (!dataset) {
      out.unrouted.push(o.key);
      continue;
    }
    if (since && o.lastModified.getTime() < since.getTime()) {
      out.older++;
      continue;
    }
    out.routed.push({ ...o, dataset });
  }
  return out;
}

/** `YYYY-MM-DD` (midnight UTC) or a full ISO 8601 timestamp, for --since. */
export function parseSince(text: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms))
    throw new InvalidInputError(
      `--since must be YYYY-MM-DD or an ISO 8601 timestamp, got ${JSON.stringify(text)}`,
    );
  return new Date(ms);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
