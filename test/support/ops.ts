/**
 * Helpers for the ops tests: an oracle computed straight from the landing files (plain string
 * splitting and JSON.parse, not the product's parser), and polling helpers for queue states.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { listFiles } from './landing';

export interface FileOracle {
  /** transactions file key -> its non-empty lines (each one loads as one row). */
  linesPerKey: Map<string, number>;
  customers: number;
  products: number;
  transactions: number;
  items: number;
  /** 'YYYY-MM' -> basket items */
  itemsPerMonth: Map<string, number>;
  /** category (or '(unknown product)') -> basket items */
  itemsPerCategory: Map<string, number>;
  /** product_id -> category, from products.csv */
  categoryOf: Map<string, string>;
}

export function oracleFromFiles(root: string): FileOracle {
  const csv = (file: string) =>
    fs
      .readFileSync(path.join(root, file), 'utf8')
      .split(/\r?\n/)
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(','));
  const products = new Map(csv('products.csv').map(([id, , category]) => [id!, category!]));
  const o: FileOracle = {
    linesPerKey: new Map(),
    customers: csv('customers.csv').length,
    products: products.size,
    transactions: 0,
    items: 0,
    itemsPerMonth: new Map(),
    itemsPerCategory: new Map(),
    categoryOf: products,
  };
  for (const file of listFiles(root).filter((f) => f.startsWith('transactions/'))) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n').filter(Boolean);
    o.linesPerKey.set(file, lines.length);
    for (const line of lines) {
      const t = JSON.parse(line) as { date_of_purchase: string; basket: { product_id: string }[] };
      o.transactions++;
      const month = t.date_of_purchase.slice(0, 7);
      for (const item of t.basket) {
        o.items++;
        o.itemsPerMonth.set(month, (o.itemsPerMonth.get(month) ?? 0) + 1);
        const category = products.get(item.product_id) ?? '(unknown product)';
        o.itemsPerCategory.set(category, (o.itemsPerCategory.get(category) ?? 0) + 1);
      }
    }
  }
  return o;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Messages in a queue of the local SQS server, visible or in flight (it counts both in ApproximateNumberOfMessages). */
export async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
}
