/**
 * The weekly export of the purchase data: the view and its monthly table, streamed from the
 * warehouse into the exports bucket, under
 *
 *   customer_product_purchases/snapshot_date=YYYY-MM-DD/customer_product_purchases/part-00000.jsonl.gz
 *   customer_product_purchases/snapshot_date=YYYY-MM-DD/customer_product_purchases_monthly/part-00000.jsonl.gz
 *   customer_product_purchases/snapshot_date=YYYY-MM-DD/_manifest.json      (written last: the commit marker)
 *
 * With a key, customer_id is replaced by HMAC-SHA256(key, customer_id) in hex before it leaves.
 *
 * The part writer below has the shape agreed with the transfer issue's shared writer
 * (`createPartWriter({bucket, runPrefix, format, columns})`, `writePartition`, `commit`, `abort`);
 * TODO(issue 5): use shared/publish's writer once it is in the tree, and delete this one.
 */
import crypto from 'node:crypto';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3 } from './storage/object-store';
import type { ColumnInfo, Row, Warehouse } from './warehouse/port';

export const EXPORT_PREFIX = 'customer_product_purchases';
export const MANIFEST_NAME = '_manifest.json';

/** What is exported, in this order; rows are ordered so the same data gives the same bytes. */
export const EXPORTED = [
  {
    name: 'customer_product_purchases',
    table: 'customer_product_purchases',
    sql: 'select * from analytics.customer_product_purchases order by customer_id, product_id',
  },
  {
    name: 'customer_product_purchases_monthly',
    table: 'customer_product_purchases_monthly',
    sql: 'select * from analytics.customer_product_purchases_monthly order by customer_id, product_id, purchase_month',
  },
] as const;

export interface SnapshotExport {
  manifestKey: string;
  /** Every object written, the manifest last. */
  keys: string[];
  rowCount: number;
}

export interface ExportOptions {
  bucket: string;
  snapshotDate: string;
  runId: string;
  /** Pseudonymise customer_id with this HMAC key; undefined exports the ids as they are. */
  pseudonymiseKey?: string;
  client?: S3Client;
}

export function snapshotPrefix(snapshotDate: string): string {
  return `${EXPORT_PREFIX}/snapshot_date=${snapshotDate}`;
}

export function pseudonym(key: string, value: string): string {
  return crypto.createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

interface PartInfo {
  key: string;
  partition: string;
  rows: number;
  bytes: number;
  sha256: string;
}

/** Upload one gzipped JSON Lines part by streaming multipart upload; memory stays bounded. */
async function writePart(client: S3Client, bucket: string, key: string, rows: AsyncIterable<Row[]>): Promise<Omit<PartInfo, 'partition'>> {
  const gzip = zlib.createGzip();
  const body = new PassThrough();
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  gzip.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  gzip.pipe(body);
  // https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-aws-sdk-lib-storage/
  const upload = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-ndjson', ContentEncoding: 'gzip' },
    queueSize: 2,
    partSize: 8 * 1024 * 1024,
    leavePartsOnError: false, // a failed upload is aborted: no incomplete multipart upload is left
  });
  const done = upload.done();
  let count = 0;
  try {
    for await (const batch of rows) {
      const text = batch.map((r) => JSON.stringify(r)).join('\n');
      if (batch.length === 0) continue;
      count += batch.length;
      if (!gzip.write(`${text}\n`)) await new Promise((resolve) => gzip.once('drain', resolve));
    }
    gzip.end();
    await done;
  } catch (err) {
    gzip.destroy();
    await upload.abort().catch(() => undefined);
    await done.catch(() => undefined);
    throw err;
  }
  return { key, rows: count, bytes, sha256: hash.digest('hex') };
}

async function* pseudonymised(batches: AsyncIterable<Row[]>, key: string | undefined): AsyncIterable<Row[]> {
  for await (const rows of batches) {
    yield key === undefined
      ? rows
      : rows.map((r) => (typeof r.customer_id === 'string' ? { ...r, customer_id: pseudonym(key, r.customer_id) } : r));
  }
}

export async function exportSnapshot(wh: Warehouse, options: ExportOptions): Promise<SnapshotExport> {
  const client = options.client ?? s3();
  const prefix = snapshotPrefix(options.snapshotDate);
  const manifestKey = `${prefix}/${MANIFEST_NAME}`;
  // a rerun for the same day first withdraws the old commit marker: while its parts are being
  // rewritten, no manifest points at a half-written snapshot
  await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: manifestKey }));

  const parts: PartInfo[] = [];
  const columns: Record<string, ColumnInfo[]> = {};
  for (const dataset of EXPORTED) {
    columns[dataset.name] = await wh.describeTable({ schema: 'analytics', table: dataset.table });
    const key = `${prefix}/${dataset.name}/part-00000.jsonl.gz`;
    const part = await writePart(client, options.bucket, key, pseudonymised(wh.stream(dataset.sql), options.pseudonymiseKey));
    parts.push({ ...part, partition: dataset.name });
  }
  const rowCount = parts.reduce((n, p) => n + p.rows, 0);
  const manifest = {
    kind: 'customer_product_purchases snapshot',
    snapshot_date: options.snapshotDate,
    run_id: options.runId,
    created_at: new Date().toISOString(),
    format: 'jsonl.gz',
    row_count: rowCount,
    pseudonymised: options.pseudonymiseKey !== undefined ? { columns: ['customer_id'], method: 'HMAC-SHA256, hex' } : null,
    datasets: EXPORTED.map((d) => ({
      name: d.name,
      source: `analytics.${d.table}`,
      columns: (columns[d.name] ?? []).map((c) => ({ name: c.name, type: c.type })),
      parts: parts.filter((p) => p.partition === d.name).map(({ key, rows, bytes, sha256 }) => ({ key, rows, bytes, sha256 })),
    })),
  };
  await client.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: manifestKey,
      Body: JSON.stringify(manifest, null, 2),
      ContentType: 'application/json',
    }),
  );
  return { manifestKey, keys: [...parts.map((p) => p.key), manifestKey], rowCount };
}
