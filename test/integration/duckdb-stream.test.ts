/**
 * The DuckDB adapter's streamed rows carry exactly the values of its query path for every type:
 * the stream reads columns with per-type readers (shared/warehouse/duckdb.ts `columnReader`), the
 * query path converts each value through the library's JSON converter. Both are compared here on
 * edge values of every type, including ones the stream hands to the library converter.
 */
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Row } from '../../shared/warehouse/port';

let wh: DuckDbWarehouse;

beforeAll(() => {
  wh = new DuckDbWarehouse(':memory:');
});

afterAll(async () => {
  await wh.close();
});

async function streamed(sql: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const batch of wh.stream(sql)) out.push(...batch);
  return out;
}

const CASES: Array<[string, string[]]> = [
  ['varchar', [`'plain'`, `''`, `'  '`, `'ünïcødé ✓ 𝄞'`, `'a,"b"\nc'`, `repeat('x', 40)`]],
  ['boolean', ['true', 'false']],
  ['tinyint', ['-128', '127']],
  ['smallint', ['-32768', '32767']],
  ['integer', ['-2147483648', '2147483647', '0']],
  ['utinyint', ['255']],
  ['usmallint', ['65535']],
  ['uinteger', ['4294967295']],
  [
    'bigint',
    [
      '0',
      '9007199254740991',
      '-9007199254740991',
      '9007199254740992',
      '-9223372036854775808',
      '9223372036854775807',
    ],
  ],
  ['ubigint', ['18446744073709551615', '42']],
  [
    'hugeint',
    ['170141183460469231731687303715884105727', '-170141183460469231731687303715884105727', '12345'],
  ],
  ['uhugeint', ['340282366920938463463374607431768211455', '7']],
  ['float', ['1.5', `'nan'`, `'inf'`, `'-inf'`, '3.4e38']],
  ['double', ['0.1', '-0.0', '1e308', `'nan'`, `'-inf'`, '5e-324']],
  ['decimal(4,1)', ['0.1', '-999.9', '0.0']],
  ['decimal(9,2)', ['1234567.89', '-0.01', '0.07']],
  ['decimal(18,3)', ['999999999999999.999', '-123456789012.345', '0.001']],
  [
    'decimal(38,1)',
    ['9999999999999999999999999999999999999.9', '900719925474099.1', '900719925474099.3', '-0.5'],
  ],
  ['decimal(38,10)', ['1234567890123456789012345678.1234567891', '0.0000000001']],
  [
    'date',
    [
      `'2024-02-29'`,
      `'1970-01-01'`,
      `'0001-01-01'`,
      `'1969-12-31'`,
      `'infinity'`,
      `'-infinity'`,
      `'2024-02-29'`,
    ],
  ],
  [
    'timestamp',
    [
      `'2024-02-29 23:59:59.999999'`,
      `'2024-02-29 00:00:00'`,
      `'1969-12-31 23:59:59.5'`,
      `'infinity'`,
      `'2024-02-29 00:00:00'`,
    ],
  ],
  ['time', [`'12:34:56.789'`]],
  ['interval', [`interval 3 day`]],
  ['uuid', [`'6f1d5b0e-1c4b-4d7a-9a3e-2b1f0c9d8e7a'`]],
  ['blob', [`'\\xAA\\x00'::blob`]],
  ['integer[]', ['[1, 2, null]']],
  ['struct(a integer, b varchar)', [`{'a': 1, 'b': 'x'}`]],
];

describe('DuckDB adapter: streamed values equal the query path', () => {
  it.each(CASES)('%s, NULL included', async (type, literals) => {
    // Prepare
    const values = [...literals, 'null'].map((l, i) => `(${i}, cast(${l} as ${type}))`).join(', ');
    const sql = `select i, v from (values ${values}) t(i, v) order by i`;

    // Act
    const fromStream = await streamed(sql);
    const fromQuery = await wh.query(sql);

    // Assess
    expect(fromStream).toHaveLength(literals.length + 1);
    expect(fromStream).toEqual(fromQuery);
    expect(fromStream[literals.length]).toEqual({ i: literals.length, v: null });
  });

  it('a result of many chunks keeps every row, in order, with names as the query path gives them', async () => {
    // Prepare: 5,000 rows span three of DuckDB's 2,048-row chunks; repeated dates exercise the text cache
    const sql = `select range as n, date '2024-01-01' + (range % 40)::integer as d, range::decimal(12,2) / 8 as x,
                        'k' || range as "Mixed Case" from range(5000) order by n`;

    // Act
    const fromStream = await streamed(sql);

    // Assess
    expect(fromStream).toEqual(await wh.query(sql));
    expect(fromStream[4999]).toEqual({ n: 4999, d: '2024-02-09', x: 624.875, 'Mixed Case': 'k4999' });
  });
});
