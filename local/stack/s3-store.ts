/**
 * Where the local S3 server keeps buckets, objects and multipart uploads on disk.
 *
 * A key never becomes a path: an object's metadata lives in `<bucket>/objects/<sha256(key)>.json`
 * (the key itself inside it) and its bytes in `<bucket>/data/<random id>`. So no key, whatever its
 * characters (`../`, `%`, 1,024 bytes, `a` beside `a/b`, a trailing slash), can name a file outside
 * the data directory, collide with another key, or exceed the file system's name limit.
 *
 * Writes are atomic as a reader sees them: the bytes go to a fresh data file, then the metadata is
 * renamed into place and the in-memory index updated in the same tick, so a GET sees the old object
 * or the new one, never a mix; a request that dies half way leaves the old object. The index (every
 * key's metadata, per bucket) is rebuilt from the metadata files at start, and data files no
 * metadata names (left by a crash) are removed then.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LOCAL_ACCOUNT_ID } from '../../shared/config';
import { nextSequencer } from './notifications';

export interface ObjectMeta {
  key: string;
  size: number;
  /** unquoted: hex MD5, or `<hex>-<parts>` for a multipart upload */
  etag: string;
  /** ISO 8601 with milliseconds */
  lastModified: string;
  /** Content-Type, Content-Encoding, Cache-Control, ... and x-amz-meta-*, as sent (lower-case names) */
  headers: Record<string, string>;
  /** checksums the client sent and the server verified, `x-amz-checksum-<alg>` -> base64 */
  checksums: Record<string, string>;
  /** the data file's name under `<bucket>/data/` */
  data: string;
}

export interface UploadMeta {
  bucket: string;
  key: string;
  initiated: string;
  headers: Record<string, string>;
}

export interface PartMeta {
  partNumber: number;
  size: number;
  /** unquoted hex MD5 of the part */
  etag: string;
  data: string;
}

export interface StoreEvent {
  eventName: 'ObjectCreated:Put' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectRemoved:Delete';
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  /** when the store committed the change (the object's LastModified for a creation) */
  eventTime: string;
  /** orders the events of one key as S3's sequencer does: later commit, greater value */
  sequencer: string;
}

/** S3's bucket naming rules, which also keep a bucket name a single safe path component. https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
export function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;

export class ObjectStore {
  private readonly buckets = new Map<
    string,
    { created: string; owner: string; objects: Map<string, ObjectMeta>; sorted?: string[] }
  >();
  private readonly listeners: ((e: StoreEvent) => void)[] = [];

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    for (const name of fs.readdirSync(dir)) {
      if (validBucketName(name) && fs.existsSync(path.join(dir, name, 'bucket.json'))) this.load(name);
    }
  }

  onEvent(listener: (e: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: Omit<StoreEvent, 'sequencer'>): void {
    const event = { ...e, sequencer: nextSequencer(Date.parse(e.eventTime)) };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a listener's failure is its own; the write has happened
      }
    }
  }

  private load(bucket: string): void {
    const saved = JSON.parse(fs.readFileSync(path.join(this.dir, bucket, 'bucket.json'), 'utf8')) as { created: string; owner?: string };
    const created = saved.created;
    // a bucket written before owners were recorded belongs to the local account
    const owner = saved.owner ?? LOCAL_ACCOUNT_ID;
    const objects = new Map<string, ObjectMeta>();
    const objectsDir = path.join(this.dir, bucket, 'objects');
    const dataDir = path.join(this.dir, bucket, 'data');
    fs.mkdirSync(objectsDir, { recursive: true });
    fs.mkdirSync(dataDir, { recursive: true });
    fs.mkdirSync(path.join(this.dir, bucket, 'uploads'), { recursive: true });
    for (const f of fs.readdirSync(objectsDir)) {
      const file = path.join(objectsDir, f);
      if (!f.endsWith('.json')) {
        fs.rmSync(file, { force: true }); // a metadata write that never committed
        continue;
      }
      try {
        const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as ObjectMeta;
        if (f === `${keyHash(meta.key)}.json` && fs.existsSync(path.join(dataDir, meta.data))) objects.set(meta.key, meta);
      } catch {
        // unreadable metadata: the object is not there (never for a committed write: it is renamed whole)
      }
    }
    const referenced = new Set([...objects.values()].map((m) => m.data));
    for (const f of fs.readdirSync(dataDir)) if (!referenced.has(f)) fs.rmSync(path.join(dataDir, f), { force: true });
    this.buckets.set(bucket, { created, owner, objects });
  }

  // --- buckets ---

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  listBuckets(): { name: string; created: string }[] {
    return [...this.buckets.entries()].map(([name, b]) => ({ name, created: b.created })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * false when it already exists. `owner` is the AWS account that owns it (the local account unless
   * a stakeholder's bucket is simulated); an existing bucket of another owner is refused.
   */
  createBucket(bucket: string, owner: string = LOCAL_ACCOUNT_ID): boolean {
    if (!validBucketName(bucket)) throw new Error(`invalid bucket name ${bucket}`);
    const existing = this.buckets.get(bucket);
    if (existing) {
      if (existing.owner !== owner) throw new Error(`bucket ${bucket} exists and belongs to account ${existing.owner}, not ${owner}`);
      return false;
    }
    const root = path.join(this.dir, bucket);
    for (const sub of ['objects', 'data', 'uploads']) fs.mkdirSync(path.join(root, sub), { recursive: true });
    const created = new Date().toISOString();
    fs.writeFileSync(path.join(root, 'bucket.json'), JSON.stringify({ created, owner }));
    this.buckets.set(bucket, { created, owner, objects: new Map() });
    return true;
  }

  /** The account that owns the bucket (ExpectedBucketOwner is checked against it). */
  bucketOwner(bucket: string): string {
    return this.bucket(bucket).owner;
  }

  /** 'not-empty' when it holds objects or open uploads */
  deleteBucket(bucket: string): 'deleted' | 'not-empty' {
    const b = this.bucket(bucket);
    if (b.objects.size > 0 || this.openUploads(bucket).length > 0) return 'not-empty';
    this.buckets.delete(bucket);
    fs.rmSync(path.join(this.dir, bucket), { recursive: true, force: true });
    return 'deleted';
  }

  private bucket(bucket: string) {
    const b = this.buckets.get(bucket);
    if (!b) throw new Error(`no bucket ${bucket}`);
    return b;
  }

  // --- objects ---

  get(bucket: string, key: string): ObjectMeta | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  /**
   * The object's metadata and an open file descriptor on its bytes, taken in one tick so a
   * concurrent overwrite or delete cannot remove the file in between (the descriptor keeps it readable).
   */
  open(bucket: string, key: string): { meta: ObjectMeta; fd: number } | undefined {
    const meta = this.get(bucket, key);
    if (!meta) return undefined;
    return { meta, fd: fs.openSync(this.dataPath(bucket, meta.data), 'r') };
  }

  /** Every key of the bucket in S3's order (UTF-8 binary). */
  sortedKeys(bucket: string): readonly string[] {
    const b = this.bucket(bucket);
    b.sorted ??= [...b.objects.keys()]
      .map((k) => ({ k, bytes: Buffer.from(k, 'utf8') }))
      .sort((x, y) => Buffer.compare(x.bytes, y.bytes))
      .map((e) => e.k);
    return b.sorted;
  }

  /** A fresh data file to write an object's or a part's bytes into; nothing refers to it yet. */
  newDataFile(bucket: string): { name: string; file: string } {
    const name = crypto.randomBytes(16).toString('hex');
    return { name, file: this.dataPath(bucket, name) };
  }

  dataPath(bucket: string, name: string): string {
    return path.join(this.dir, bucket, 'data', name);
  }

  /** Make `meta` the object under its key (atomically as a reader sees it) and announce it. */
  async commit(
    bucket: string,
    meta: ObjectMeta,
    eventName: StoreEvent['eventName'],
    precondition: (previous: ObjectMeta | undefined) => void = () => undefined,
  ): Promise<void> {
    const b = this.bucket(bucket);
    const file = path.join(this.dir, bucket, 'objects', `${keyHash(meta.key)}.json`);
    const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(meta));
    // check, rename and index in one tick: concurrent commits of one key end as the last rename
    // says, and a conditional write (If-Match, If-None-Match) sees the object it replaces
    const previous = b.objects.get(meta.key);
    try {
      precondition(previous);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.renameSync(tmp, file);
    b.objects.set(meta.key, meta);
    if (!previous) b.sorted = undefined;
    if (previous && previous.data !== meta.data) void fs.promises.rm(this.dataPath(bucket, previous.data), { force: true });
    this.emit({ eventName, bucket, key: meta.key, size: meta.size, eTag: meta.etag, eventTime: meta.lastModified });
  }

  /** true when there was an object */
  delete(bucket: string, key: string): boolean {
    const b = this.bucket(bucket);
    const previous = b.objects.get(key);
    if (!previous) return false;
    fs.rmSync(path.join(this.dir, bucket, 'objects', `${keyHash(key)}.json`), { force: true });
    b.objects.delete(key);
    b.sorted = undefined;
    void fs.promises.rm(this.dataPath(bucket, previous.data), { force: true });
    this.emit({ eventName: 'ObjectRemoved:Delete', bucket, key, size: 0, eTag: '', eventTime: new Date().toISOString() });
    return true;
  }

  // --- multipart uploads ---

  private uploadDir(bucket: string, uploadId: string): string {
    return path.join(this.dir, bucket, 'uploads', uploadId);
  }

  createUpload(bucket: string, key: string, headers: Record<string, string>): string {
    this.bucket(bucket);
    const uploadId = crypto.randomBytes(16).toString('hex');
    const dir = this.uploadDir(bucket, uploadId);
    fs.mkdirSync(dir, { recursive: true });
    const meta: UploadMeta = { bucket, key, initiated: new Date().toISOString(), headers };
    fs.writeFileSync(path.join(dir, 'upload.json'), JSON.stringify(meta));
    return uploadId;
  }

  /** The upload, if `uploadId` is one of this bucket's open uploads (anything else is not, `../x` included). */
  upload(bucket: string, uploadId: string): UploadMeta | undefined {
    if (!UPLOAD_ID.test(uploadId) || !this.buckets.has(bucket)) return undefined;
    try {
      return JSON.parse(fs.readFileSync(path.join(this.uploadDir(bucket, uploadId), 'upload.json'), 'utf8')) as UploadMeta;
    } catch {
      return undefined;
    }
  }

  /** A fresh file for a part's bytes, inside the upload's directory. */
  newPartFile(bucket: string, uploadId: string): { name: string; file: string } {
    const name = `data-${crypto.randomBytes(8).toString('hex')}`;
    return { name, file: path.join(this.uploadDir(bucket, uploadId), name) };
  }

  partPath(bucket: string, uploadId: string, part: PartMeta): string {
    return path.join(this.uploadDir(bucket, uploadId), part.data);
  }

  commitPart(bucket: string, uploadId: string, part: PartMeta): boolean {
    const dir = this.uploadDir(bucket, uploadId);
    const file = path.join(dir, `part-${part.partNumber}.json`);
    let previous: PartMeta | undefined;
    try {
      previous = JSON.parse(fs.readFileSync(file, 'utf8')) as PartMeta;
    } catch {
      previous = undefined;
    }
    try {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(part));
      fs.renameSync(`${file}.tmp`, file);
    } catch {
      return false; // the upload was completed or aborted meanwhile
    }
    if (previous && previous.data !== part.data) fs.rmSync(path.join(dir, previous.data), { force: true });
    return true;
  }

  parts(bucket: string, uploadId: string): Map<number, PartMeta> {
    const dir = this.uploadDir(bucket, uploadId);
    const parts = new Map<number, PartMeta>();
    for (const f of fs.readdirSync(dir)) {
      if (!/^part-\d+\.json$/.test(f)) continue;
      const p = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as PartMeta;
      parts.set(p.partNumber, p);
    }
    return parts;
  }

  /** false when there was no such upload */
  removeUpload(bucket: string, uploadId: string): boolean {
    if (!this.upload(bucket, uploadId)) return false;
    fs.rmSync(this.uploadDir(bucket, uploadId), { recursive: true, force: true });
    return true;
  }

  openUploads(bucket: string): string[] {
    try {
      return fs.readdirSync(path.join(this.dir, bucket, 'uploads')).filter((id) => UPLOAD_ID.test(id));
    } catch {
      return [];
    }
  }
}

function keyHash(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}
