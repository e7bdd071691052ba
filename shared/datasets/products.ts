import type { DatasetDecl } from './types';

/** `products.csv` (under any prefix, optionally gzipped): the full product catalogue, newest file wins. */
export const products: DatasetDecl = {
  name: 'products',
  keyPattern: '(^|/)products\\.csv(\\.gz)?$',
  format: 'csv',
  kind: 'snapshot',
  fields: [
    { name: 'product_id', type: 'text', required: true, trim: true },
    { name: 'product_description', type: 'text' },
    { name: 'product_category', type: 'text', trim: true },
  ],
  tables: [
    {
      name: 'products',
      grain: 'one row per product in the live snapshot',
      columns: [
        { name: 'product_id', from: 'product_id' },
        { name: 'product_description', from: 'product_description' },
        { name: 'product_category', from: 'product_category' },
      ],
    },
  ],
};
