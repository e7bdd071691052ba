import type { DatasetDecl } from './types';

/** `customers.csv` (under any prefix, optionally gzipped): the full customer list, newest file wins. */
export const customers: DatasetDecl = {
  name: 'customers',
  keyPattern: '(^|/)customers\\.csv(\\.gz)?$',
  format: 'csv',
  kind: 'snapshot',
  fields: [
    { name: 'customer_id', type: 'text', required: true, trim: true },
    { name: 'loyalty_score', type: 'integer', required: true },
  ],
  tables: [
    {
      name: 'customers',
      grain: 'one row per customer in the live snapshot',
      columns: [
        { name: 'customer_id', from: 'customer_id' },
        { name: 'loyalty_score', from: 'loyalty_score' },
      ],
    },
  ],
};
