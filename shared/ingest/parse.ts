/**
 * Reading and validating one landed file: the row-level contract of docs/ARCHITECTURE.md §4 and §5.
 * Pure functions over bytes, so the rules are unit-tested without S3 or a warehouse. The Snowflake
 * loader applies the same rules in SQL (shared/ingest/snowflake-sql.ts); keep the two in step.
 *
 * A file that cannot be read at all (corrupt gzip, not UTF-8 text) throws UnreadableFileError: its
 * SQS record fails, is retried, and ends in the DLQ. A bad line or row is quarantined; the rest load.
 */
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Dataset } from '../config';
import { UnreadableFileError } from '../errors';
import type { QuarantinedLine } from './types';

export interface TransactionRow {
  transactionId: string;
  customerId: string;
  purchasedAt: string;
  basketSize: number;
  lineNumber: number;
}

export interface ItemRow {
  transactionId: string;
  itemIndex: number;
  customerId: string;
  productId: string;
  price: number;
  purchasedAt: string;
}

export interface CustomerRow {
  customerId: string;
  loyaltyScore: number;
  lineNumber: number;
}

export interface ProductRow {
  productId: string;
  description: string;
  category: string;
  lineNumber: number;
}

export type ParsedFile =
  | { dataset: 'transactions'; transactions: TransactionRow[]; items: ItemRow[]; quarantined: QuarantinedLine[] }
  | { dataset: 'customers'; rows: CustomerRow[]; quarantined: QuarantinedLine[] }
  | { dataset: 'products'; rows: ProductRow[]; quarantined: QuarantinedLine[] };

/** Rows in a parsed file that were loaded (transactions: lines, not items). */
export function loadedCount(file: ParsedFile): number {
  return file.dataset === 'transactions' ? file.transactions.length : file.rows.length;
}

export const CSV_HEADERS = {
  customers: ['customer_id', 'loyalty_score'],
  products: ['product_id', 'product_description', 'product_category'],
} as const;

/** Prices beyond NUMBER(18,2) cannot be stored on either engine. */
const MAX_ABS_PRICE = 1e16;

/** Bytes of an object -> UTF-8 text. Gunzips by magic number (or a .gz key); rejects binary. */
export function decodeObject(bytes: Buffer, key: string): string {
  let data = bytes;
  const gzipMagic = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipMagic) {
    try {
      data = gunzipSync(bytes);
    } catch (err) {
      throw new UnreadableFileError(`${key}: corrupt gzip (${(err as Error).message})`);
    }
  } else if (/\.gz$/i.test(key) && bytes.length > 0) {
    throw new UnreadableFileError(`${key}: named .gz but is not gzip data`);
  }
  if (data.includes(0)) throw new UnreadableFileError(`${key}: not a text file (contains NUL bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new UnreadableFileError(`${key}: not valid UTF-8 text`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseFile(dataset: Dataset, text: string, key: string): ParsedFile {
  switch (dataset) {
    case 'transactions':
      return { dataset, ...parseTransactions(text, key) };
    case 'customers':
      return { dataset, ...parseCustomers(text, key) };
    case 'products':
      return { dataset, ...parseProducts(text, key) };
  }
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;

/** 'YYYY-MM-DD HH:MM:SS[.fff]' (or with 'T') that is a real calendar date and time, normalised; else null. */
export function parseTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = TIMESTAMP.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCDate() !== d || date.getUTCMonth() !== mo - 1) return null; // 2019-02-30
  const fraction = m[7] ? m[7].slice(0, 7) : ''; // microseconds is the finest both engines keep
  return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}${fraction}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validate one JSON line; returns the reason it is quarantined, or the parsed transaction. */
export function validateTransactionLine(
  line: string,
):
  | { ok: true; customerId: string; purchasedAt: string; basket: { productId: string; price: number }[] }
  | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'invalid JSON' };
  }
  if (!isObject(value)) return { ok: false, reason: 'invalid JSON' };
  const customerId = value.customer_id;
  if (typeof customerId !== 'string' || customerId.trim() === '') return { ok: false, reason: 'missing customer_id' };
  if (!Array.isArray(value.basket)) return { ok: false, reason: 'missing basket' };
  const purchasedAt = parseTimestamp(value.date_of_purchase);
  if (purchasedAt === null) return { ok: false, reason: 'invalid date_of_purchase' };
  const basket: { productId: string; price: number }[] = [];
  for (const [i, item] of value.basket.entries()) {
    const n = i + 1;
    if (!isObject(item) || typeof item.product_id !== 'string' || item.product_id.trim() === '')
      return { ok: false, reason: `basket item ${n} without product_id` };
    if (typeof item.price !== 'number' || !Number.isFinite(item.price))
      return { ok: false, reason: `basket item ${n} has non-numeric price` };
    if (Math.abs(item.price) >= MAX_ABS_PRICE) return { ok: false, reason: `basket item ${n} price out of range` };
    basket.push({ productId: item.product_id, price: item.price });
  }
  return { ok: true, customerId, purchasedAt, basket };
}

export function parseTransactions(text: string, key: string) {
  const transactions: TransactionRow[] = [];
  const items: ItemRow[] = [];
  const quarantined: QuarantinedLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    if (raw.trim() === '') continue; // blank lines carry no data: neither loaded nor quarantined
    const lineNumber = i + 1;
    const result = validateTransactionLine(raw);
    if (!result.ok) {
      quarantined.push({ lineNumber, rawText: raw, reason: result.reason });
      continue;
    }
    const transactionId = `${key}:${lineNumber}`;
    transactions.push({
      transactionId,
      customerId: result.customerId,
      purchasedAt: result.purchasedAt,
      basketSize: result.basket.length,
      lineNumber,
    });
    result.basket.forEach((item, index) =>
      items.push({
        transactionId,
        itemIndex: index + 1,
        customerId: result.customerId,
        productId: item.productId,
        price: item.price,
        purchasedAt: result.purchasedAt,
      }),
    );
  }
  return { transactions, items, quarantined };
}

interface CsvRecord {
  record: string[];
  raw: string;
  info: { lines: number };
}

/**
 * CSV rows with their physical line numbers (header is line 1). A header that is not the expected one
 * means a wrong file: the whole file fails rather than loading columns into the wrong places.
 */
function readCsv(text: string, key: string, expected: readonly string[]): { rows: CsvRecord[]; quarantined: QuarantinedLine[] } {
  let records: CsvRecord[];
  try {
    // CRLF -> LF first: line numbers are unchanged and raw text carries no stray '\r'
    records = parseCsv(text.replace(/\r\n/g, '\n'), {
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    }) as unknown as CsvRecord[];
  } catch (err) {
    throw new UnreadableFileError(`${key}: malformed CSV (${(err as Error).message})`);
  }
  const [header, ...rows] = records;
  if (header === undefined) return { rows: [], quarantined: [] }; // empty file: valid, loads nothing
  const names = header.record.map((h) => h.trim().toLowerCase());
  if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
    throw new UnreadableFileError(
      `${key}: unexpected header ${JSON.stringify(header.record.join(','))}, expected ${JSON.stringify(expected.join(','))}`,
    );
  }
  const quarantined: QuarantinedLine[] = [];
  const good: CsvRecord[] = [];
  for (const r of rows) {
    if (r.record.length !== expected.length) {
      quarantined.push({
        lineNumber: r.info.lines,
        rawText: r.raw.replace(/\n+$/, '').replace(/^\n+/, ''),
        reason: `expected ${expected.length} columns, found ${r.record.length}`,
      });
    } else good.push(r);
  }
  return { rows: good, quarantined };
}

export function parseCustomers(text: string, key: string) {
  const { rows: records, quarantined } = readCsv(text, key, CSV_HEADERS.customers);
  const rows: CustomerRow[] = [];
  for (const r of records) {
    const [customerId, score] = r.record as [string, string];
    if (!/^\s*[+-]?\d{1,9}\s*$/.test(score)) {
      quarantined.push({ lineNumber: r.info.lines, rawText: r.raw.replace(/\n+$/, '').replace(/^\n+/, ''), reason: 'loyalty_score is not an integer' });
      continue;
    }
    rows.push({ customerId: customerId.trim(), loyaltyScore: Number(score), lineNumber: r.info.lines });
  }
  quarantined.sort((a, b) => a.lineNumber - b.lineNumber);
  return { rows, quarantined };
}

export function parseProducts(text: string, key: string) {
  const { rows: records, quarantined } = readCsv(text, key, CSV_HEADERS.products);
  const rows = records.map((r) => {
    const [productId, description, category] = r.record as [string, string, string];
    return { productId: productId.trim(), description, category: category.trim(), lineNumber: r.info.lines };
  });
  return { rows, quarantined };
}
