/**
 * The ingest rules (docs/ARCHITECTURE.md §5), the one definition both engines run: JSON Lines and CSV
 * quarantine reasons, line numbers, values; CSV records checked against csv-parse, an independent
 * reader, on generated files.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import pureRand from 'pure-rand';
import { DatasetRegistry } from '../../shared/datasets';
import { parseTimestamp } from '../../shared/ingest/rules/judge';
import { judgeText } from '../support/judge';

const line = (o: unknown) => JSON.stringify(o);
const good = { customer_id: 'C1', basket: [{ product_id: 'P01', price: 506 }], date_of_purchase: '2018-09-01 11:09:00' };

describe('transaction line rules', () => {
  it.each([
    ['not JSON', '{"customer_id": "C1",', 'invalid JSON'],
    ['a JSON array, not an object', '[1,2]', 'invalid JSON'],
    ['a JSON string', '"C1"', 'invalid JSON'],
    ['no customer_id', line({ ...good, customer_id: undefined }), 'missing customer_id'],
    ['empty customer_id', line({ ...good, customer_id: '  ' }), 'missing customer_id'],
    ['numeric customer_id', line({ ...good, customer_id: 7 }), 'missing customer_id'],
    ['no basket', line({ ...good, basket: undefined }), 'missing basket'],
    ['basket not an array', line({ ...good, basket: { product_id: 'P1' } }), 'missing basket'],
    ['null basket', line({ ...good, basket: null }), 'missing basket'],
    ['unparseable date', line({ ...good, date_of_purchase: 'yesterday' }), 'invalid date_of_purchase'],
    ['no date', line({ ...good, date_of_purchase: undefined }), 'invalid date_of_purchase'],
    ['impossible date', line({ ...good, date_of_purchase: '2019-02-29 10:00:00' }), 'invalid date_of_purchase'],
    ['hour 24', line({ ...good, date_of_purchase: '2019-02-28 24:00:00' }), 'invalid date_of_purchase'],
    ['item without product_id', line({ ...good, basket: [{ price: 1 }] }), 'basket item 1 without product_id'],
    ['an item that is not an object', line({ ...good, basket: [3] }), 'basket item 1 without product_id'],
    [
      'second item without product_id',
      line({ ...good, basket: [{ product_id: 'P1', price: 1 }, { product_id: '', price: 1 }] }),
      'basket item 2 without product_id',
    ],
    ['string price', line({ ...good, basket: [{ product_id: 'P1', price: '506' }] }), 'basket item 1 has non-numeric price'],
    ['null price', line({ ...good, basket: [{ product_id: 'P1', price: null }] }), 'basket item 1 has non-numeric price'],
    ['huge price', '{"customer_id":"C1","basket":[{"product_id":"P1","price":1e300}],"date_of_purchase":"2018-09-01 11:09:00"}', 'basket item 1 price out of range'],
  ])('quarantines a line with %s', (_what, text, reason) => {
    const judged = judgeText('transactions', text + '\n');
    expect(judged.quarantined).toEqual([[1, text, reason]]);
    expect(judged.rows.transactions).toEqual([]);
    expect(judged.fatal).toBeNull();
  });

  it('judges the record before its items: the first broken rule is the reason', () => {
    const judged = judgeText('transactions', line({ customer_id: 'C1', basket: [{ price: 'x' }], date_of_purchase: 'never' }));
    expect(judged.quarantined.map((q) => q[2])).toEqual(['invalid date_of_purchase']);
  });

  it('accepts an empty basket, a T separator, fractional seconds, negative and decimal prices', () => {
    const judged = judgeText(
      'transactions',
      [line({ customer_id: 'C1', basket: [{ product_id: 'P1', price: -2.5 }], date_of_purchase: '2018-09-01T11:09:00.25' }), line({ ...good, basket: [] })].join('\n'),
    );
    // columns: [line, transaction_id (composed by the writer), customer_id, purchased_at, basket_size]
    expect(judged.rows.transactions).toEqual([
      [1, null, 'C1', '2018-09-01 11:09:00.25', 1],
      [2, null, 'C1', '2018-09-01 11:09:00', 0],
    ]);
    // [line, transaction_id, item_index, customer_id, product_id, price, purchased_at]
    expect(judged.rows.transaction_items).toEqual([[1, null, 1, 'C1', 'P1', -2.5, '2018-09-01 11:09:00.25']]);
  });

  it('numbers physical lines, skips blank lines, strips CR, loads the rest of a file around bad lines', () => {
    const text = ['\ufeff' + line(good), '', '   ', 'oops', line({ ...good, basket: [{ product_id: 'P2', price: 1 }, { product_id: 'P2', price: 2 }] })].join('\r\n') + '\r\n';
    const judged = judgeText('transactions', text);
    expect(judged.rows.transactions!.map((r) => [r[0], r[4]])).toEqual([
      [1, 1],
      [5, 2],
    ]);
    expect(judged.rows.transaction_items!.map((r) => [r[0], r[2], r[4], r[5]])).toEqual([
      [1, 1, 'P01', 506],
      [5, 1, 'P2', 1],
      [5, 2, 'P2', 2],
    ]);
    expect(judged.quarantined).toEqual([[4, 'oops', 'invalid JSON']]);
  });

  it('fails the file on a NUL byte or a line over the ceiling, and emits nothing after', () => {
    expect(judgeText('transactions', `${line(good)}\n{"a":"\u0000"}\n${line(good)}\n`)).toMatchObject({ fatal: 'not a text file (contains NUL bytes)' });
    const small = new DatasetRegistry(undefined, { maxLineBytes: 120, maxFileBytes: 1e9 });
    const judged = judgeText('transactions', `${line(good)}\n${'x'.repeat(121)}\n${line(good)}\n`, small);
    expect(judged.fatal).toBe('line 2 is longer than the ceiling of 120 bytes');
    expect(judged.rows.transactions).toHaveLength(1);
    // multi-byte characters count as their UTF-8 bytes
    expect(judgeText('transactions', `${'é'.repeat(61)}\n`, small).fatal).toMatch(/longer than the ceiling/);
    expect(judgeText('transactions', `${'é'.repeat(60)}\n`, small).fatal).toBeNull();
    const tiny = new DatasetRegistry(undefined, { maxLineBytes: 1000, maxFileBytes: 200 });
    expect(judgeText('transactions', `${line(good)}\n${line(good)}\n${line(good)}\n`, tiny).fatal).toMatch(/larger than the ceiling of 200 bytes/);
  });
});

describe('timestamps', () => {
  it.each([
    ['2018-09-01 11:09:00', '2018-09-01 11:09:00'],
    ['2018-09-01T11:09:00', '2018-09-01 11:09:00'],
    ['2020-02-29 00:00:59.123456789', '2020-02-29 00:00:59.123456'],
    ['2000-02-29 23:59:59', '2000-02-29 23:59:59'],
  ])('normalises %s', (input, expected) => expect(parseTimestamp(input)).toBe(expected));
  it.each(['2018-9-1 11:09:00', '2018-09-01', '2018-13-01 00:00:00', '2018-09-31 00:00:00', '1900-02-29 00:00:00', '2018-09-01 11:60:00', '', 12, '2018-09-01 1a:09:00'])(
    'rejects %p',
    (input) => expect(parseTimestamp(input)).toBeNull(),
  );
});

describe('CSV snapshots', () => {
  it('reads a BOM and CRLF customers file and quarantines bad rows with their line numbers', () => {
    const judged = judgeText('customers', '\ufeffcustomer_id,loyalty_score\r\nC1,7\r\nC2,seven\r\nC3,1,2\r\n\r\nC4,10\r\n , 3\r\n');
    expect(judged.rows.customers).toEqual([
      [2, 'C1', 7],
      [6, 'C4', 10],
    ]);
    expect(judged.quarantined).toEqual([
      [3, 'C2,seven', 'loyalty_score is not an integer'],
      [4, 'C3,1,2', 'expected 2 columns, found 3'],
      // a blank id is quarantined, as a blank customer_id of a transaction is
      [7, ' , 3', 'missing customer_id'],
    ]);
  });

  it.each([['7.5'], [''], ['1e3'], ['12345678901']])('rejects a loyalty score of %p', (score) => {
    expect(judgeText('customers', `customer_id,loyalty_score\nC1,${score}\n`).quarantined.map((q) => q[2])).toEqual(['loyalty_score is not an integer']);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks; a record is numbered by its last line', () => {
    const judged = judgeText('products', 'product_id,product_description,product_category\nP1,"men\'s belt, ""brown""",clothes\nP2,"two\nlines",house\n');
    expect(judged.rows.products).toEqual([
      [2, 'P1', 'men\'s belt, "brown"', 'clothes'],
      [4, 'P2', 'two\nlines', 'house'],
    ]);
  });

  it('loads nothing from empty and header-only files', () => {
    expect(judgeText('customers', '')).toEqual({ rows: { customers: [] }, quarantined: [], fatal: null });
    expect(judgeText('products', 'product_id,product_description,product_category\r\n')).toEqual({ rows: { products: [] }, quarantined: [], fatal: null });
  });

  it('fails the whole file when the header is not the expected one, or a quote is never closed', () => {
    expect(judgeText('customers', 'product_id,product_description,product_category\nP1,x,house\n').fatal).toMatch(/unexpected header/);
    expect(judgeText('products', 'product_id,product_description,product_category\nP1,"open,house\nP2,x,food\n').fatal).toBe('malformed CSV (quote not closed)');
  });

  it('reads generated files as csv-parse does (records, line numbers, raw text)', () => {
    // Prepare: an independent reader with the options the rules follow
    const fields = ['P1', 'plain text', '', ' spaced ', 'a,b', 'say ""hi""', 'two\nlines', 'x"y', '""', 'last'];
    let rng = pureRand.xoroshiro128plus(42);
    const next = (n: number) => {
      const [v, r] = pureRand.uniformIntDistribution(0, n - 1, rng);
      rng = r;
      return v;
    };
    for (let file = 0; file < 300; file++) {
      const records: string[] = [];
      for (let r = 0; r < 1 + next(6); r++) {
        const cells = Array.from({ length: 1 + next(4) }, () => {
          const f = fields[next(fields.length)]!;
          return /[,"\n]/.test(f) && !f.includes('""') && next(4) > 0 ? `"${f.replace(/"/g, '""')}"` : f.replace(/\n/g, ' ');
        });
        records.push(cells.join(','));
      }
      const text = ['product_id,product_description,product_category', ...records].join(next(2) ? '\n' : '\r\n') + '\n';
      const expected = (
        parseCsv(text.replace(/\r\n/g, '\n'), { info: true, raw: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }) as unknown as {
          record: string[];
          raw: string;
          info: { lines: number };
        }[]
      ).slice(1);
      // Act
      const judged = judgeText('products', text);
      // Assess: every record is a row or a quarantined line, on csv-parse's line, with its fields
      const got = [
        ...judged.rows.products!.map((r) => ({ line: r[0], fields: r.slice(1) })),
        ...judged.quarantined.map((q) => ({ line: q[0], raw: q[1], reason: q[2] })),
      ].sort((a, b) => (a.line as number) - (b.line as number));
      expect(got).toEqual(
        expected.map((e) => {
          const raw = e.raw.replace(/^\n+/, '').replace(/\n+$/, '');
          if (e.record.length !== 3) return { line: e.info.lines, raw, reason: `expected 3 columns, found ${e.record.length}` };
          if (e.record[0]!.trim() === '') return { line: e.info.lines, raw, reason: 'missing product_id' };
          return { line: e.info.lines, fields: [e.record[0]!.trim(), e.record[1], e.record[2]!.trim()] };
        }),
      );
    }
  });
});
