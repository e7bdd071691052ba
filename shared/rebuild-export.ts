/**
 * The weekly export of the purchase data: the view and its monthly table, streamed from the
 * warehouse into the exports bucket through the shared part writer (shared/publish, the same one
 * the transfer uses), under
 *
 *   customer_product_purchases/snapshot_date=YYYY-MM-DD/customer_product_purchases/part-00000.jsonl.gz
 *   customer_product_purchases/snapshot_date=YYYY-MM-DD/customer_product_purchases_monthly/part-00000.jsonl.gz
 *   customer_product_purchases/snapshot_date=YYYY-MM-DD/_manifest.json      (written last: the commit marker)
 *
 * With a key, customer_id is replaced by HMAC-SHA256(key, customer_id) in hex before it leaves.
 * A rerun for the same day first withdraws the old manifest (the writer un-commits on its first
 * write), so no manifest ever points at a half-written snapshot; a failure aborts the uploads.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createPartWriter, hmacHex, type ColumnSpec } from './publish';
import { s3 } from './storage/object-store';
import type { ColumnInfo, Warehouse } from './warehouse/port';

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
  /** Called right before the manifest is written; throwing aborts the export. */
  beforeCommit?: () => Promise<void>;
}

export function snapshotPrefix(snapshotDate: string): string {
  return `${EXPORT_PREFIX}/snapshot_date=${snapshotDate}`;
}

/** The pseudonym of one id, as the export writes it (keyed HMAC-SHA256, hex). */
export function pseudonym(key: string, value: string): string {
  return hmacHex(key, value);
}

export async function exportSnapshot(wh: Warehouse, options: ExportOptions): Promise<SnapshotExport> {
  const prefix = snapshotPrefix(options.snapshotDate);
  const columns: Record<string, ColumnInfo[]> = {};
  for (const dataset of EXPORTED) {
    // named as the rows of `select *` name them (the catalog may spell them upper case)
    columns[dataset.name] = (await wh.describeTable({ schema: 'analytics', table: dataset.table })).map((c) => ({
      ...c,
      name: wh.dialect.resultName(c.name),
    }));
  }
  // one writer, one manifest; the monthly table's columns are a superset of the view's
  const union = new Map<string, ColumnSpec>();
  for (const dataset of EXPORTED)
    for (const c of columns[dataset.name] ?? []) if (!union.has(c.name)) union.set(c.name, { name: c.name, kind: c.kind, type: c.type });
  const writer = createPartWriter({
    bucket: options.bucket,
    runPrefix: prefix,
    format: 'jsonl.gz',
    columns: [...union.values()],
    client: options.client ?? s3(),
    pseudonymise: options.pseudonymiseKey !== undefined ? { columns: ['customer_id'], key: options.pseudonymiseKey } : undefined,
  });
  try {
    for (const dataset of EXPORTED) {
      await writer.writePartition(dataset.name, wh.stream(dataset.sql), {
        columns: (columns[dataset.name] ?? []).map((c) => c.name),
      });
    }
    await options.beforeCommit?.();
    const result = await writer.commit({
      kind: 'customer_product_purchases snapshot',
      snapshot_date: options.snapshotDate,
      run_id: options.runId,
      pseudonymised: options.pseudonymiseKey !== undefined ? { columns: ['customer_id'], method: 'HMAC-SHA256, hex' } : null,
      datasets: EXPORTED.map((d) => ({
        name: d.name,
        source: `analytics.${d.table}`,
        columns: (columns[d.name] ?? []).map((c) => ({ name: c.name, type: c.type })),
        parts: writer.parts
          .filter((p) => p.partition === d.name)
          .map(({ key, rows, bytes, sha256 }) => ({ key, rows, bytes, sha256 })),
      })),
    });
    return { manifestKey: result.manifestKey, keys: [...result.parts.map((p) => p.key), result.manifestKey], rowCount: result.rowCount };
  } catch (err) {
    await writer.abort(err);
    throw err;
  }
}
