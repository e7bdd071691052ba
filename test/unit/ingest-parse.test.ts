import { gzipSync } from 'node:zlib';
import { UnreadableFileError } from '../../shared/errors';
import {
  decodeObject,
  parseCustomers,
  parseProducts,
  parseTimestamp,
  parseTransactions,
  validateTransactionLine,
} from '../../shared/ingest/parse';

const line = (o: unknown) => JSON.stringify(o);
const good = { customer_id: 'C1', basket: [{ product_id: 'P01', price: 506 }], date_of_purchase: '2018-09-01 11:09:00' };

describe('transaction line rules (docs/ARCHITECTURE.md §5)', () => {
  it.each([
    ['not JSON', '{"customer_id": "C1",', 'invalid JSON'],
    ['a JSON array, not an object', '[1,2]', 'invalid JSON'],
    ['no customer_id', line({ ...good, customer_id: undefined }), 'missing customer_id'],
    ['empty customer_id', line({ ...good, customer_id: '  ' }), 'missing customer_id'],
    ['numeric customer_id', line({ ...good, customer_id: 7 }), 'missing customer_id'],
    ['no basket', line({ ...good, basket: undefined }), 'missing basket'],
    ['basket not an array', line({ ...good, basket: { product_id: 'P1' } }), 'missing basket'],
    ['unparseable date', line({ ...good, date_of_purchase: 'yesterday' }), 'invalid date_of_purchase'],
    ['impossible date', line({ ...good, date_of_purchase: '2019-02-29 10:00:00' }), 'invalid date_of_purchase'],
    ['hour 24', line({ ...good, date_of_purchase: '2019-02-28 24:00:00' }), 'invalid date_of_purchase'],
    ['item without product_id', line({ ...good, basket: [{ price: 1 }] }), 'basket item 1 without product_id'],
    [
      'second item without product_id',
      line({ ...good, basket: [{ product_id: 'P1', price: 1 }, { product_id: '', price: 1 }] }),
      'basket item 2 without product_id',
    ],
    ['string price', line({ ...good, basket: [{ product_id: 'P1', price: '506' }] }), 'basket item 1 has non-numeric price'],
    ['null price', line({ ...good, basket: [{ product_id: 'P1', price: null }] }), 'basket item 1 has non-numeric price'],
    ['huge price', '{"customer_id":"C1","basket":[{"product_id":"P1","price":1e300}],"date_of_purchase":"2018-09-01 11:09:00"}', 'basket item 1 price out of range'],
  ])('quarantines a line with %s', (_what, text, reason) => {
    // Act
    const result = validateTransactionLine(text);
    // Assess
    expect(result).toEqual({ ok: false, reason });
  });

  it('accepts an empty basket, a T separator, fractional seconds, negative and decimal prices', () => {
    const result = validateTransactionLine(
      line({ customer_id: 'C1', basket: [{ product_id: 'P1', price: -2.5 }], date_of_purchase: '2018-09-01T11:09:00.25' }),
    );
    expect(result).toEqual({
      ok: true,
      customerId: 'C1',
      purchasedAt: '2018-09-01 11:09:00.25',
      basket: [{ productId: 'P1', price: -2.5 }],
    });
    expect(validateTransactionLine(line({ ...good, basket: [] }))).toMatchObject({ ok: true, basket: [] });
  });

  it('numbers physical lines, skips blank lines, loads the rest of a file around bad lines', () => {
    // Prepare: line 2 blank, line 3 bad, CRLF endings
    const text = [line(good), '', 'oops', line({ ...good, basket: [{ product_id: 'P2', price: 1 }, { product_id: 'P2', price: 2 }] })].join('\r\n') + '\r\n';
    // Act
    const parsed = parseTransactions(text, 'transactions/d=2018-09-01/a.json');
    // Assess
    expect(parsed.transactions.map((t) => [t.transactionId, t.lineNumber, t.basketSize])).toEqual([
      ['transactions/d=2018-09-01/a.json:1', 1, 1],
      ['transactions/d=2018-09-01/a.json:4', 4, 2],
    ]);
    expect(parsed.items.map((i) => [i.itemIndex, i.productId, i.price])).toEqual([
      [1, 'P01', 506],
      [1, 'P2', 1],
      [2, 'P2', 2],
    ]);
    expect(parsed.quarantined).toEqual([{ lineNumber: 3, rawText: 'oops', reason: 'invalid JSON' }]);
  });
});

describe('timestamps', () => {
  it.each([
    ['2018-09-01 11:09:00', '2018-09-01 11:09:00'],
    ['2018-09-01T11:09:00', '2018-09-01 11:09:00'],
    ['2020-02-29 00:00:59.123456789', '2020-02-29 00:00:59.123456'],
  ])('normalises %s', (input, expected) => expect(parseTimestamp(input)).toBe(expected));
  it.each(['2018-9-1 11:09:00', '2018-09-01', '2018-13-01 00:00:00', '2018-09-31 00:00:00', '', 12])(
    'rejects %p',
    (input) => expect(parseTimestamp(input)).toBeNull(),
  );
});

describe('CSV snapshots', () => {
  it('reads a BOM and CRLF customers file and quarantines bad rows with their line numbers', () => {
    const bytes = Buffer.from('\ufeffcustomer_id,loyalty_score\r\nC1,7\r\nC2,seven\r\nC3,1,2\r\n\r\nC4,10\r\n');
    const parsed = parseCustomers(decodeObject(bytes, 'customers.csv'), 'customers.csv');
    expect(parsed.rows).toEqual([
      { customerId: 'C1', loyaltyScore: 7, lineNumber: 2 },
      { customerId: 'C4', loyaltyScore: 10, lineNumber: 6 },
    ]);
    expect(parsed.quarantined).toEqual([
      { lineNumber: 3, rawText: 'C2,seven', reason: 'loyalty_score is not an integer' },
      { lineNumber: 4, rawText: 'C3,1,2', reason: 'expected 2 columns, found 3' },
    ]);
  });

  it('rejects a non-integer loyalty score such as 7.5', () => {
    const parsed = parseCustomers('customer_id,loyalty_score\nC1,7.5\n', 'customers.csv');
    expect(parsed.quarantined.map((q) => q.reason)).toEqual(['loyalty_score is not an integer']);
  });

  it('reads quoted product descriptions with commas', () => {
    const parsed = parseProducts('product_id,product_description,product_category\nP1,"men\'s belt, brown",clothes\n', 'p.csv');
    expect(parsed.rows).toEqual([{ productId: 'P1', description: "men's belt, brown", category: 'clothes', lineNumber: 2 }]);
  });

  it('loads nothing from empty and header-only files', () => {
    expect(parseCustomers('', 'customers.csv')).toEqual({ rows: [], quarantined: [] });
    expect(parseProducts('product_id,product_description,product_category\r\n', 'p.csv')).toEqual({ rows: [], quarantined: [] });
  });

  it('fails the whole file when the header is not the expected one (a wrong file)', () => {
    expect(() => parseCustomers('product_id,product_description,product_category\nP1,x,house\n', 'customers.csv')).toThrow(
      /unexpected header/,
    );
  });
});

describe('unreadable files', () => {
  it('gunzips by magic number', () => {
    expect(decodeObject(gzipSync('hello\n'), 'a.json.gz')).toBe('hello\n');
  });
  it.each([
    ['corrupt gzip', Buffer.concat([gzipSync('hello world').subarray(0, 12), Buffer.from('garbage')]), 'a.json.gz', /corrupt gzip/],
    ['a .gz name without gzip data', Buffer.from('plain'), 'a.json.gz', /not gzip/],
    ['binary data', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]), 'a.json', /not a text file/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'a.json', /not valid UTF-8/],
  ])('rejects %s as unreadable', (_what, bytes, key, message) => {
    expect(() => decodeObject(bytes, key)).toThrow(UnreadableFileError);
    expect(() => decodeObject(bytes, key)).toThrow(message);
  });
});
