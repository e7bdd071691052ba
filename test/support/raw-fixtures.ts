/**
 * Fills the raw layer directly from plain objects shaped like the input files, so model and data
 * tests do not depend on the ingest path. Mirrors what ingest writes (sql/duckdb/schema.sql): one
 * raw.transactions row per JSON line with transaction_id '<key>:<line>', one raw.transaction_items
 * row per basket item (item_index 1-based), and a file_ledger row per file.
 *
 * Also reads the input files themselves (customers.csv, products.csv, transactions JSON Lines) into
 * the same plain objects, for tests that compute the expected results independently in TypeScript.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Param, Warehouse } from '../../shared/warehouse/port';

export interface CustomerRow {
  customer_id: string | null;
  loyalty_score: number | null;
}

export interface ProductRow {
  product_id: string | null;
  product_description?: string | null;
  product_category: string | null;
}

export interface BasketItem {
  product_id: string;
  price: number;
}

export interface TransactionLine {
  customer_id: string;
  basket: BasketItem[];
  /** 'YYYY-MM-DD HH:MM:SS', naive UTC. */
  date_of_purchase: string;
  /** Defaults to `transactions/d=<date>/transactions.json`. */
  file_key?: string;
}

export interface RawFixture {
  customers?: CustomerRow[];
  products?: ProductRow[];
  transactions?: TransactionLine[];
  /**
   * Arrival (S3 event time) of every transactions file in the ledger. Defaults to one hour after
   * the newest purchase; `null` writes no ledger rows.
   */
  transactionsArrivedAt?: string | null;
  loadedAt?: string;
}

const BATCH = 250;

async function insertRows(wh: Warehouse, table: string, columns: string[], rows: Param[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const placeholders = batch.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
    await wh.execute(`insert into ${table} (${columns.join(', ')}) values ${placeholders}`, batch.flat());
  }
}

export function transactionFileKey(t: TransactionLine): string {
  return t.file_key ?? `transactions/d=${t.date_of_purchase.slice(0, 10)}/transactions.json`;
}

/** Deletes everything in the raw layer and the ledger. */
export async function clearRaw(wh: Warehouse): Promise<void> {
  for (const table of ['raw.customers', 'raw.products', 'raw.transactions', 'raw.transaction_items', 'raw.file_ledger', 'raw.quarantine']) {
    await wh.execute(`delete from ${table}`);
  }
}

export async function insertRaw(wh: Warehouse, fixture: RawFixture): Promise<void> {
  const loadedAt = fixture.loadedAt ?? '2024-01-01 00:00:00';
  if (fixture.customers?.length) {
    await insertRows(
      wh,
      'raw.customers',
      ['customer_id', 'loyalty_score', '_file_key', '_file_version', '_line_number', '_loaded_at'],
      fixture.customers.map((c, i) => [c.customer_id, c.loyalty_score, 'customers.csv', 'v1', i + 2, loadedAt]),
    );
  }
  if (fixture.products?.length) {
    await insertRows(
      wh,
      'raw.products',
      ['product_id', 'product_description', 'product_category', '_file_key', '_file_version', '_line_number', '_loaded_at'],
      fixture.products.map((p, i) => [p.product_id, p.product_description ?? null, p.product_category, 'products.csv', 'v1', i + 2, loadedAt]),
    );
  }
  const transactions = fixture.transactions ?? [];
  if (transactions.length === 0) return;
  const lineOfKey = new Map<string, number>();
  const txRows: Param[][] = [];
  const itemRows: Param[][] = [];
  for (const t of transactions) {
    const key = transactionFileKey(t);
    const line = (lineOfKey.get(key) ?? 0) + 1;
    lineOfKey.set(key, line);
    const id = `${key}:${line}`;
    txRows.push([id, t.customer_id, t.date_of_purchase, t.basket.length, key, 'v1', line, loadedAt]);
    t.basket.forEach((item, i) => {
      itemRows.push([id, i + 1, t.customer_id, item.product_id, item.price, t.date_of_purchase, key, 'v1']);
    });
  }
  await insertRows(
    wh,
    'raw.transactions',
    ['transaction_id', 'customer_id', 'purchased_at', 'basket_size', '_file_key', '_file_version', '_line_number', '_loaded_at'],
    txRows,
  );
  await insertRows(
    wh,
    'raw.transaction_items',
    ['transaction_id', 'item_index', 'customer_id', 'product_id', 'price', 'purchased_at', '_file_key', '_file_version'],
    itemRows,
  );
  if (fixture.transactionsArrivedAt === null) return;
  const newest = transactions.map((t) => t.date_of_purchase).sort().at(-1) as string;
  const arrivedAt = fixture.transactionsArrivedAt ?? addHours(newest, 1);
  await insertRows(
    wh,
    'raw.file_ledger',
    ['bucket', 'key', 'version', 'dataset', 'event_time', 'status', 'rows_loaded', 'loaded_at', 'updated_at'],
    [...lineOfKey].map(([key, lines]) => ['landing', key, 'v1', 'transactions', arrivedAt, 'loaded', lines, arrivedAt, arrivedAt]),
  );
}

/** 'YYYY-MM-DD HH:MM:SS' plus hours, as the same naive-UTC string. */
export function addHours(timestamp: string, hours: number): string {
  const t = new Date(`${timestamp.replace(' ', 'T')}Z`).getTime() + hours * 3_600_000;
  return new Date(t).toISOString().slice(0, 19).replace('T', ' ');
}

/** Reads a folder in the input layout: customers.csv, products.csv, transactions/d=.../*.json(l). */
export function readInputFolder(dir: string): Required<Pick<RawFixture, 'customers' | 'products' | 'transactions'>> {
  const csv = (file: string) =>
    fs
      .readFileSync(path.join(dir, file), 'utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .slice(1)
      .map((l) => l.split(','));
  const customers = csv('customers.csv').map(([id, score]) => ({ customer_id: id as string, loyalty_score: Number(score) }));
  const products = csv('products.csv').map(([id, description, category]) => ({
    product_id: id as string,
    product_description: description as string,
    product_category: category as string,
  }));
  const transactions: TransactionLine[] = [];
  const txDir = path.join(dir, 'transactions');
  for (const day of fs.readdirSync(txDir).sort()) {
    for (const file of fs.readdirSync(path.join(txDir, day)).sort()) {
      const key = `transactions/${day}/${file}`;
      for (const line of fs.readFileSync(path.join(txDir, day, file), 'utf8').split(/\r?\n/)) {
        if (line.trim() === '') continue;
        const parsed = JSON.parse(line) as TransactionLine;
        transactions.push({ ...parsed, file_key: key });
      }
    }
  }
  return { customers, products, transactions };
}
