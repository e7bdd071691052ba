/**
 * Byte formats of the original Python generator, so our files are indistinguishable from its output
 * (test/fixtures/original-generator-3m/):
 * - CSVs from Python's `csv.writer` defaults: `\r\n` line ends, fields quoted only when they must be
 *   (QUOTE_MINIMAL), quotes doubled. https://docs.python.org/3/library/csv.html#csv.Dialect
 * - JSON Lines from `json.dumps(obj) + "\n"` with default settings: `", "` and `": "` separators, keys
 *   in insertion order, non-ASCII escaped as `\uXXXX` (ensure_ascii). https://docs.python.org/3/library/json.html#json.dumps
 */

export interface BasketItem {
  product_id: string;
  price: number;
}

/** One line of a transactions file, in the original's key order. */
export interface Transaction {
  customer_id: string;
  basket: BasketItem[];
  date_of_purchase: string;
}

export const CSV_EOL = '\r\n';

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string | number): string {
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(fields: ReadonlyArray<string | number>): string {
  return fields.map(csvField).join(',') + CSV_EOL;
}

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
const NON_ASCII = /[\u007f-\uffff]/g;

/** A JSON string literal exactly as Python's json.dumps writes it (ensure_ascii=True). */
export function pyJsonString(value: string): string {
  const json = JSON.stringify(value);
  if (!NOT_PRINTABLE_ASCII.test(json)) return json;
  return json.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `json.dumps(transaction)` without the trailing newline. */
export function formatTransaction(t: Transaction): string {
  let basket = '';
  for (const item of t.basket) {
    if (basket) basket += ', ';
    basket += `{"product_id": ${pyJsonString(item.product_id)}, "price": ${item.price}}`;
  }
  return (
    `{"customer_id": ${pyJsonString(t.customer_id)}, "basket": [${basket}], ` +
    `"date_of_purchase": ${pyJsonString(t.date_of_purchase)}}`
  );
}
