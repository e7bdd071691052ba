/**
 * Fills the raw layer directly from plain objects shaped like the input files, so model and data
 * tests do not depend on the ingest path. Mirrors what ingest writes (shared/ingest/schema.ts): one
 * raw.transactions row per JSON line with transaction_id '<key>:<line>', one raw.transaction_items
 * row per basket item (item_index 1-based), one load (and ledger event) per file.
 *
 * Also reads the input files themselves (customers.csv, products.csv, transactions JSON Lines) into
 * the same plain objects, for tests that compute the expected results independently in TypeScript.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fixCut } from '../../shared/ingest/compact';
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
  /** Arrival (Last-Modified) of every transactions file. Defaults to one hour after the newest purchase. */
  transactionsArrivedAt?: string;
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

/** Deletes everything in the raw layer, the ledger and the cut. */
export async function clearRaw(wh: Warehouse): Promise<void> {
  for (const table of ['customers', 'products', 'transactions', 'transaction_items']) await wh.execute(`delete from raw.${table}_appended`);
  for (const table of ['raw.file_events', 'raw.quarantine_appended', 'raw.cut_loads']) await wh.execute(`delete from ${table}`);
}

const META = ['_load_id', '_line_number'];
let loads = 0;

/** A load of one file as ingest records it: its ledger event (loaded), and the load id its rows carry. */
async function recordLoad(wh: Warehouse, dataset: string, key: string, rows: number, at: string, replaces: 'dataset' | 'key'): Promise<string> {
  const loadId = `fixture-${++loads}`;
  await insertRows(
    wh,
    'raw.file_events',
    ['bucket', 'key', 'version', 'sequencer', 'dataset', 'replaces', 'event_time', 'last_modified', 'load_id', 'status', 'rows_loaded', 'rows_quarantined', 'recorded_at'],
    [['landing', key, `v${loads}`, String(loads).padStart(12, '0'), dataset, replaces, at, at, loadId, 'loaded', rows, 0, at]],
  );
  return loadId;
}

/**
 * Writes the fixture as ingest would: appended rows under one load per file, the loads' ledger
 * events, and a fixed cut (raw.cut_loads), so models and data tests read exactly this.
 */
export async function insertRaw(wh: Warehouse, fixture: RawFixture): Promise<void> {
  const loadedAt = fixture.loadedAt ?? '2024-01-01 00:00:00';
  if (fixture.customers?.length) {
    const id = await recordLoad(wh, 'customers', 'customers.csv', fixture.customers.length, loadedAt, 'dataset');
    await insertRows(
      wh,
      'raw.customers_appended',
      ['customer_id', 'loyalty_score', ...META],
      fixture.customers.map((c, i) => [c.customer_id, c.loyalty_score, id, i + 2]),
    );
  }
  if (fixture.products?.length) {
    const id = await recordLoad(wh, 'products', 'products.csv', fixture.products.length, loadedAt, 'dataset');
    await insertRows(
      wh,
      'raw.products_appended',
      ['product_id', 'product_description', 'product_category', ...META],
      fixture.products.map((p, i) => [p.product_id, p.product_description ?? null, p.product_category, id, i + 2]),
    );
  }
  const transactions = fixture.transactions ?? [];
  if (transactions.length > 0) {
    const newest = transactions.map((t) => t.date_of_purchase).sort().at(-1) as string;
    // the arrival the freshness test reads (the files' Last-Modified)
    const arrivedAt = fixture.transactionsArrivedAt ?? addHours(newest, 1);
    const byKey = new Map<string, TransactionLine[]>();
    for (const t of transactions) byKey.set(transactionFileKey(t), [...(byKey.get(transactionFileKey(t)) ?? []), t]);
    const txRows: Param[][] = [];
    const itemRows: Param[][] = [];
    for (const [key, lines] of byKey) {
      const id = await recordLoad(wh, 'transactions', key, lines.length, arrivedAt, 'key');
      lines.forEach((t, i) => {
        const line = i + 1;
        // transaction_id ('<key>:<line>') is computed by the views from the load's key and the line
        txRows.push([t.customer_id, t.date_of_purchase, t.basket.length, id, line]);
        t.basket.forEach((item, j) => {
          itemRows.push([j + 1, t.customer_id, item.product_id, item.price, t.date_of_purchase, id, line]);
        });
      });
    }
    await insertRows(wh, 'raw.transactions_appended', ['customer_id', 'purchased_at', 'basket_size', ...META], txRows);
    await insertRows(wh, 'raw.transaction_items_appended', ['item_index', 'customer_id', 'product_id', 'price', 'purchased_at', ...META], itemRows);
  }
  await fixCut(wh);
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
