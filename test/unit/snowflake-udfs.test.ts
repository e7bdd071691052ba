/**
 * The ingest row rules of the Snowflake path (JavaScript UDFs in sql/snowflake/50_functions.sql) must
 * decide exactly what shared/ingest/parse.ts decides on DuckDB. The UDF bodies are read from the SQL
 * file and run here in Node the way Snowflake runs them (one call per line; a table function fed the
 * lines of one file in order), and compared with parse.ts on hand-picked and generated files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UnreadableFileError } from '../../shared/errors';
import { parseCustomers, parseProducts, parseTransactions } from '../../shared/ingest/parse';

const SQL = fs.readFileSync(path.join(__dirname, '..', '..', 'sql', 'snowflake', '50_functions.sql'), 'utf8');

function udfBody(name: string): string {
  const at = SQL.indexOf(`function {{DATABASE}}.raw.${name}(`);
  const open = SQL.indexOf('$$', at);
  const close = SQL.indexOf('$$', open + 2);
  if (at < 0 || open < 0 || close < 0) throw new Error(`no body for ${name} in 50_functions.sql`);
  return SQL.slice(open + 2, close);
}

const checkLine = new Function('LINE', udfBody('check_transaction_line')) as (line: string | null) => unknown;

interface UdtfRow {
  LINE_NUMBER: number;
  STATUS: string;
  REASON: string | null;
  RAW_TEXT: string | null;
  FIELDS: unknown[] | null;
}

/** What the lines_format COPY puts in the landing table: one row per '\n'-separated line, BOM skipped. */
function landedLines(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body === '') return [];
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the last record delimiter ends the last line
  return lines;
}

function runCsvUdtf(dataset: string, text: string): UdtfRow[] {
  const handler = new Function(`return (${udfBody('parse_snapshot_csv')});`)() as {
    initialize(info: unknown, ctx: unknown): void;
    processRow(row: Record<string, unknown>, writer: { writeRow(r: UdtfRow): void }, ctx: unknown): void;
    finalize(writer: { writeRow(r: UdtfRow): void }, ctx: unknown): void;
  };
  const out: UdtfRow[] = [];
  const writer = { writeRow: (r: UdtfRow) => out.push(r) };
  handler.initialize({}, {});
  landedLines(text).forEach((line, i) => handler.processRow({ DATASET: dataset, LINE: line, LINE_NUMBER: i + 1 }, writer, {}));
  handler.finalize(writer, {});
  return out;
}

type Outcome = { unreadable: true } | { rows: unknown[]; quarantined: unknown[] };

/** parse.ts's decision for a CSV file (its text already decoded, BOM removed as decodeObject does). */
function csvByParse(dataset: 'customers' | 'products', text: string): Outcome {
  const decoded = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    if (dataset === 'customers') {
      const r = parseCustomers(decoded, 'k');
      return { rows: r.rows.map((x) => [x.customerId, x.loyaltyScore, x.lineNumber]), quarantined: r.quarantined };
    }
    const r = parseProducts(decoded, 'k');
    return { rows: r.rows.map((x) => [x.productId, x.description, x.category, x.lineNumber]), quarantined: r.quarantined };
  } catch (err) {
    if (err instanceof UnreadableFileError) return { unreadable: true };
    throw err;
  }
}

/** The same decision read from the table function's rows. */
function csvByUdtf(dataset: 'customers' | 'products', text: string): Outcome {
  const rows = runCsvUdtf(dataset, text);
  if (rows.some((r) => r.STATUS === 'unreadable')) return { unreadable: true };
  return {
    rows: rows.filter((r) => r.STATUS === 'ok').map((r) => [...(r.FIELDS as unknown[]), r.LINE_NUMBER]),
    quarantined: rows
      .filter((r) => r.STATUS === 'quarantined')
      .map((r) => ({ lineNumber: r.LINE_NUMBER, rawText: r.RAW_TEXT, reason: r.REASON })),
  };
}

/** parse.ts's decision for a transactions file. */
function transactionsByParse(text: string) {
  const decoded = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const r = parseTransactions(decoded, 'k');
  return {
    loaded: r.transactions.map((t) => ({
      line: t.lineNumber,
      customerId: t.customerId,
      purchasedAt: t.purchasedAt,
      basket: r.items.filter((i) => i.transactionId === t.transactionId).map((i) => [i.productId, i.price]),
    })),
    quarantined: r.quarantined,
  };
}

/** The UDF applied to every landed line, as the loader's SQL does. */
function transactionsByUdf(text: string) {
  const loaded: unknown[] = [];
  const quarantined: unknown[] = [];
  landedLines(text).forEach((line, i) => {
    const v = checkLine(line) as null | { ok: boolean; reason?: string; raw?: string; customer_id?: string; purchased_at?: string; basket?: { product_id: string; price: number }[] };
    if (v === null) return;
    if (v.ok) {
      loaded.push({ line: i + 1, customerId: v.customer_id, purchasedAt: v.purchased_at, basket: v.basket!.map((b) => [b.product_id, b.price]) });
    } else {
      quarantined.push({ lineNumber: i + 1, rawText: v.raw, reason: v.reason });
    }
  });
  return { loaded, quarantined };
}

/** Small seeded PRNG (mulberry32): generated cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('check_transaction_line (UDF) decides like parse.ts', () => {
  const lines = [
    '{"customer_id": "C1", "basket": [{"product_id": "P03", "price": 506}], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C2", "basket": [], "date_of_purchase": "2018-09-01T11:09:00.123456789"}',
    '{"customer_id": "C3", "basket": [{"product_id": "P1", "price": 1.5}, {"product_id": "P1", "price": 2}], "date_of_purchase": "2020-02-29 23:59:59"}',
    '   ',
    '',
    '\t\u00a0',
    'not json',
    '[1, 2]',
    'null',
    '"a string"',
    '{"basket": [], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "", "basket": [], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "  ", "basket": [], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": 7, "basket": [], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C1", "basket": {}, "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C1", "basket": [], "date_of_purchase": "2019-02-29 10:00:00"}',
    '{"customer_id": "C1", "basket": [], "date_of_purchase": "2018-09-01 24:00:00"}',
    '{"customer_id": "C1", "basket": [], "date_of_purchase": "2018-09-01"}',
    '{"customer_id": "C1", "basket": [], "date_of_purchase": 1535800140}',
    '{"customer_id": "C1", "basket": [{"price": 1}], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C1", "basket": [{"product_id": "P1", "price": 1}, "P2"], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C1", "basket": [{"product_id": "P1", "price": "506"}], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C1", "basket": [{"product_id": "P1", "price": 1e17}], "date_of_purchase": "2018-09-01 11:09:00"}',
    '{"customer_id": "C1", "basket": [{"product_id": "P1", "price": 1}], "date_of_purchase": "2018-09-01 11:09:00", "customer_id": ""}',
    '{"customer_id": "C1", "basket": [{"product_id": "P1", "price": 1}], "date_of_purchase": "2018-09-01 11:09:00"}\r',
    '\ufeff{"customer_id": "C1", "basket": [], "date_of_purchase": "2018-09-01 11:09:00"}',
  ];

  it.each(lines.map((l) => [JSON.stringify(l), l]))('line %s', (_label, line) => {
    // Prepare: the line in the middle of a file, after a good line
    const text = `${lines[0]}\n${line}\n`;

    // Act / Assess
    expect(transactionsByUdf(text)).toEqual(transactionsByParse(text));
  });

  it('agrees on generated lines', () => {
    // Prepare: lines assembled from fragments that hit every rule and many near misses
    const random = rng(20240601);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const ids = ['"C1"', '""', '" "', '7', 'null', '"C\\u00e9"', '["C1"]'];
    const dates = ['"2018-09-01 11:09:00"', '"2018-09-01T11:09:00.5"', '"2018-13-01 11:09:00"', '"2018-09-31 11:09:00"', '"x"', '"2018-09-01 11:09:60"', '"2018-09-01 11:09:00.1234567891"'];
    const prices = ['506', '1.25', '-3', '"506"', 'null', '1e16', '9.99e15', 'true'];
    const products = ['"P1"', '""', '" "', '3', 'null'];
    const item = () => (random() < 0.1 ? pick(['1', '"P"', 'null', '[]']) : `{${random() < 0.9 ? `"product_id": ${pick(products)}, ` : ''}${random() < 0.9 ? `"price": ${pick(prices)}` : '"x": 1'}}`);
    const line = () => {
      const r = random();
      if (r < 0.05) return pick(['', ' ', '\t', 'garbage', '{', '[]', '{"a":1', '{}']);
      const parts: string[] = [];
      if (random() < 0.9) parts.push(`"customer_id": ${pick(ids)}`);
      if (random() < 0.9) parts.push(`"basket": ${random() < 0.1 ? pick(['{}', '"x"', 'null']) : `[${Array.from({ length: Math.floor(random() * 4) }, item).join(', ')}]`}`);
      if (random() < 0.9) parts.push(`"date_of_purchase": ${pick(dates)}`);
      return `{${parts.join(', ')}}${random() < 0.1 ? '\r' : ''}`;
    };
    const files = Array.from({ length: 1000 }, () => Array.from({ length: 1 + Math.floor(random() * 8) }, line).join('\n'));

    // Act / Assess
    for (const text of files) expect(transactionsByUdf(text)).toEqual(transactionsByParse(text));
  });
});

describe('parse_snapshot_csv (table function) decides like parse.ts', () => {
  const customerFiles: [string, string][] = [
    ['plain', 'customer_id,loyalty_score\nC1,7\nC2,3\n'],
    ['BOM and CRLF', '\ufeffcustomer_id,loyalty_score\r\nC1,7\r\nC2,3\r\n'],
    ['no final newline', 'customer_id,loyalty_score\nC1,7'],
    ['header only', 'customer_id,loyalty_score\n'],
    ['empty file', ''],
    ['blank lines', '\ncustomer_id,loyalty_score\n\nC1,7\n\n\nC2,3\n'],
    ['whitespace line', 'customer_id,loyalty_score\n  \nC1,7\n'],
    ['quoted fields', 'customer_id,loyalty_score\n"C1","7"\n"C,2",8\n"C""3",9\n'],
    ['wrong column counts', 'customer_id,loyalty_score\nC1\nC2,3,4\nC3,5\n,\n'],
    ['bad scores', 'customer_id,loyalty_score\nC1,seven\nC2,7.5\nC3, 8 \nC4,+9\nC5,-1\nC6,1234567890\nC7,\n'],
    ['header with spaces and case', ' Customer_ID , LOYALTY_SCORE \nC1,7\n'],
    ['wrong header', 'id,score\nC1,7\n'],
    ['header with a third column', 'customer_id,loyalty_score,x\nC1,7,1\n'],
    ['multi-line quoted field', 'customer_id,loyalty_score\n"C\n1",7\nC2,3\n'],
    ['relaxed quotes', 'customer_id,loyalty_score\n"C1"x,7\nC"2,3\n"C3" ,4\n'],
    ['unclosed quote', 'customer_id,loyalty_score\n"C1,7\nC2,3\n'],
    ['ids trimmed', 'customer_id,loyalty_score\n  C1  ,7\n'],
  ];
  const productFiles: [string, string][] = [
    ['plain', 'product_id,product_description,product_category\nP1,Apples,fruit_veg\nP2,"Soap, lavender",house\n'],
    ['trims ids and categories, keeps descriptions', 'product_id,product_description,product_category\n P1 ,  Big apples ,  fruit_veg \n'],
    ['wrong counts', 'product_id,product_description,product_category\nP1,Apples\nP2,a,b,c\n'],
    ['quotes in description', 'product_id,product_description,product_category\nP1,"12"" pizza",food\nP2,say "hi",bws\n'],
  ];

  it.each(customerFiles)('customers: %s', (_name, text) => {
    expect(csvByUdtf('customers', text)).toEqual(csvByParse('customers', text));
  });

  it.each(productFiles)('products: %s', (_name, text) => {
    expect(csvByUdtf('products', text)).toEqual(csvByParse('products', text));
  });

  it('reports the wrong header and line the way the loader words it', () => {
    // Act
    const rows = runCsvUdtf('customers', 'id,score\nC1,7\n');

    // Assess
    expect(rows).toEqual([
      { LINE_NUMBER: 1, STATUS: 'unreadable', REASON: 'unexpected header "id,score", expected "customer_id,loyalty_score"', RAW_TEXT: 'id,score', FIELDS: null },
    ]);
  });

  it('agrees on generated files', () => {
    // Prepare: files from an alphabet rich in delimiters, quotes and line ends
    const random = rng(424242);
    const alphabet = ['C1', 'P', '7', ' ', ',', ',', '"', '"', '""', '\n', '\n', '\r\n', '-3', 'x y'];
    const file = (header: string) => {
      const body = Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      return `${random() < 0.9 ? header : header.replace(',', ';')}\n${body}`;
    };
    const customers = Array.from({ length: 1500 }, () => file('customer_id,loyalty_score'));
    const products = Array.from({ length: 1500 }, () => file('product_id,product_description,product_category'));

    // Act / Assess
    for (const text of customers) expect(csvByUdtf('customers', text)).toEqual(csvByParse('customers', text));
    for (const text of products) expect(csvByUdtf('products', text)).toEqual(csvByParse('products', text));
  });
});
