import type { DatasetDecl } from './types';

/**
 * Daily JSON Lines files `transactions/d=YYYY-MM-DD/<name>.json[l][.gz]`: append-only facts, one
 * file the unit of load; a new version of a key replaces what that key loaded before.
 */
export const transactions: DatasetDecl = {
  name: 'transactions',
  keyPattern: '(^|/)transactions/d=\\d{4}-\\d{2}-\\d{2}/[^/]+\\.(json|jsonl)(\\.gz)?$',
  format: 'jsonl',
  kind: 'append',
  fields: [
    { name: 'customer_id', type: 'text', required: true },
    {
      name: 'basket',
      type: 'list',
      required: true,
      item: [
        { name: 'product_id', type: 'text', required: true },
        { name: 'price', type: 'decimal', required: true, precision: 18, scale: 2 },
      ],
    },
    { name: 'date_of_purchase', type: 'timestamp', required: true },
  ],
  tables: [
    {
      name: 'transactions',
      grain: "one row per transaction (one JSON line); transaction_id = '<key>:<line>'",
      columns: [
        { name: 'transaction_id', from: { recordId: true } },
        { name: 'customer_id', from: 'customer_id' },
        { name: 'purchased_at', from: 'date_of_purchase' },
        { name: 'basket_size', from: { count: 'basket' } },
      ],
    },
    {
      name: 'transaction_items',
      grain: 'one row per basket item; the same product twice in a basket is two rows',
      per: 'basket',
      columns: [
        { name: 'transaction_id', from: { recordId: true } },
        { name: 'item_index', from: { itemIndex: true } },
        { name: 'customer_id', from: 'customer_id' },
        { name: 'product_id', from: 'product_id' },
        { name: 'price', from: 'price' },
        { name: 'purchased_at', from: 'date_of_purchase' },
      ],
    },
  ],
};
