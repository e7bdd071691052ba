import { loadDataTests, parseDataTest } from '../../shared/datatests/catalog';
import { formatTestReport } from '../../shared/datatests/report';
import { sampleQuery, statusOf, summarise, type DataTestResult } from '../../shared/datatests/runner';
import { CATEGORIES } from '../../shared/products';
import { templateValues } from '../../shared/models/template';

const values = templateValues({ categories: ['house'], freshness: { maxAgeHours: 24, severity: 'warn' } });

describe('parseDataTest', () => {
  it('reads severity and description, renders placeholders, drops a trailing semicolon', () => {
    const t = parseDataTest('t_one.sql', "-- severity: error\n-- description: bad\nselect 1 where 'x' in ({{ accepted_categories }});\n", values);
    expect(t).toEqual({ name: 't_one', severity: 'error', description: 'bad', sql: "-- severity: error\n-- description: bad\nselect 1 where 'x' in ('house')" });
  });

  it('takes the severity from configuration when the header is a placeholder', () => {
    const t = parseDataTest('fresh.sql', '-- severity: {{ freshness_severity }}\nselect 1', values);
    expect(t.severity).toBe('warn');
  });

  it.each([
    ['-- description: no severity\nselect 1', /severity: warn/],
    ['-- severity: fatal\nselect 1', /found "fatal"/],
    ['-- severity: warn\nselect 1; select 2', /one query per file/],
  ])('rejects %j', (text, message) => {
    expect(() => parseDataTest('bad.sql', text, values)).toThrow(message);
  });
});

describe('the project data tests', () => {
  const tests = loadDataTests(undefined, { categories: CATEGORIES, freshness: { maxAgeHours: 24, severity: 'error' } });

  it('cover the checks docs/MODELS.md lists, each with a severity', () => {
    const names = tests.map((t) => t.name);
    for (const expected of [
      'unique_customers_customer_id',
      'accepted_values_product_category',
      'relationships_transactions_customer_id',
      'relationships_transaction_items_product_id',
      'non_negative_price',
      'freshness_transactions',
      'customers_category_amounts_add_up',
      'customers_first_purchase_not_after_last',
    ]) {
      expect(names).toContain(expected);
    }
    expect(tests.find((t) => t.name === 'freshness_transactions')?.severity).toBe('error');
  });
});

describe('sampleQuery', () => {
  it('counts every failing row and keeps five in one pass', () => {
    expect(sampleQuery({ name: 't', severity: 'warn', description: '', sql: 'select 1 as x' })).toBe(
      'select failing.*, count(*) over () as dt_failing_rows__\nfrom (\nselect 1 as x\n) as failing\nlimit 5',
    );
  });
});

describe('statusOf and summarise', () => {
  it('maps severity and failing rows to pass, warn or fail', () => {
    expect(statusOf('error', 0)).toBe('pass');
    expect(statusOf('warn', 3)).toBe('warn');
    expect(statusOf('error', 1)).toBe('fail');
  });
});

describe('formatTestReport', () => {
  const result = (over: Partial<DataTestResult>): DataTestResult => ({
    test: 't',
    severity: 'error',
    description: 'what it means',
    status: 'pass',
    failingRows: 0,
    sample: [],
    ms: 1,
    ...over,
  });

  it('prints a summary, one line per test, and samples of failing rows', () => {
    // Prepare
    const results = [
      result({ test: 'ok_test' }),
      result({
        test: 'bad_prices',
        status: 'fail',
        failingRows: 7,
        sample: [
          { id: 'a b', price: -1 },
          { id: 'c', price: null },
        ],
      }),
      result({ test: 'late', severity: 'warn', status: 'warn', failingRows: 1, sample: [{ at: '2024-01-01 00:00:00' }] }),
      result({ test: 'broken', status: 'fail', error: 'Catalog Error: no table\nLINE 1' }),
    ];
    // Act
    const text = formatTestReport(results, 'r1');
    // Assess
    expect(text).toBe(
      [
        'Data tests (run r1): 1 passed, 1 warned, 2 failed',
        '  PASS  error  ok_test',
        '  FAIL  error  bad_prices  7 failing rows',
        '        what it means',
        '        - id="a b"  price=-1',
        '        - id=c  price=null',
        '        ... and 5 more',
        '  WARN  warn   late        1 failing row',
        '        what it means',
        '        - at="2024-01-01 00:00:00"',
        '  FAIL  error  broken      could not run: Catalog Error: no table',
        '        what it means',
      ].join('\n'),
    );
    expect(summarise(results)).toEqual({ passed: 1, warned: 1, failed: 2 });
  });
});
