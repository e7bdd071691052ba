/**
 * Each data test against a fixture that makes it fail and one that makes it pass. Tests of the
 * model logic (customer 360, view completeness) cannot be broken through the inputs while the
 * models are right, so their failing fixture tampers with the built table, as a bug would.
 */
import { CATEGORIES } from '../../shared/products';
import { setLogSink } from '../../shared/logger';
import { loadDataTests } from '../../shared/datatests/catalog';
import { RESULTS_TABLE, runDataTests, storeResults, type DataTestResult } from '../../shared/datatests/runner';
import { buildModels } from '../../shared/models/runner';
import type { TemplateContext } from '../../shared/models/template';
import type { Warehouse } from '../../shared/warehouse/port';
import { addHours, clearRaw, insertRaw, type RawFixture } from '../support/raw-fixtures';
import { scratchWarehouse } from '../support/factories';

let scratch: ReturnType<typeof scratchWarehouse>;
let wh: Warehouse;

beforeAll(() => {
  setLogSink(() => undefined); // failing data tests log by design; keep the test output readable
  scratch = scratchWarehouse('datatests-');
  wh = scratch.wh;
});

afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + '\n'));
  await scratch.close();
});

const context: TemplateContext = { categories: CATEGORIES, freshness: { maxAgeHours: 24, severity: 'warn' } };

/** A small, clean data set on which every data test passes. */
function good(): RawFixture {
  return {
    customers: [
      { customer_id: 'C1', loyalty_score: 7 },
      { customer_id: 'C2', loyalty_score: 3 },
      { customer_id: 'C3', loyalty_score: 9 },
    ],
    products: [
      { product_id: 'P1', product_category: 'house' },
      { product_id: 'P2', product_category: 'bws' },
      { product_id: 'P3', product_category: 'food' },
    ],
    transactions: [
      {
        customer_id: 'C1',
        date_of_purchase: '2024-05-01 09:00:00',
        basket: [
          { product_id: 'P1', price: 3 },
          { product_id: 'P1', price: 3 },
        ],
      },
      {
        customer_id: 'C2',
        date_of_purchase: '2024-05-02 10:30:00',
        basket: [
          { product_id: 'P2', price: 12.5 },
          { product_id: 'P3', price: 0 },
        ],
      },
      {
        customer_id: 'C1',
        date_of_purchase: '2024-05-03 11:00:00',
        basket: [{ product_id: 'P3', price: 4.25 }],
      },
    ],
  };
}

interface Case {
  test: string;
  /** Change the inputs so the test fails. */
  inputs?: (f: RawFixture) => void;
  /** Or tamper with the built models, as a bug in them would. */
  tamper?: string[];
  status: 'warn' | 'fail';
}

const CASES: Case[] = [
  {
    test: 'unique_raw_customers_customer_id',
    inputs: (f) => f.customers?.push({ customer_id: 'C1', loyalty_score: 1 }),
    status: 'warn',
  },
  {
    test: 'unique_raw_products_product_id',
    inputs: (f) => f.products?.push({ product_id: 'P2', product_category: 'bws' }),
    status: 'warn',
  },
  {
    test: 'not_null_raw_customers',
    inputs: (f) => f.customers?.push({ customer_id: ' ', loyalty_score: 4 }),
    status: 'warn',
  },
  {
    test: 'not_null_raw_products',
    inputs: (f) => f.products?.push({ product_id: 'P4', product_category: null }),
    status: 'warn',
  },
  {
    test: 'accepted_values_product_category',
    inputs: (f) => f.products?.push({ product_id: 'P4', product_category: 'garden' }),
    status: 'fail',
  },
  {
    test: 'relationships_transactions_customer_id',
    inputs: (f) =>
      f.transactions?.push({ customer_id: 'X9', date_of_purchase: '2024-05-01 12:00:00', basket: [] }),
    status: 'warn',
  },
  {
    test: 'relationships_transaction_items_product_id',
    inputs: (f) =>
      f.transactions?.push({
        customer_id: 'C3',
        date_of_purchase: '2024-05-01 12:00:00',
        basket: [{ product_id: 'P99', price: 1 }],
      }),
    status: 'warn',
  },
  {
    test: 'non_negative_price',
    inputs: (f) =>
      f.transactions?.push({
        customer_id: 'C3',
        date_of_purchase: '2024-05-01 12:00:00',
        basket: [{ product_id: 'P1', price: -0.01 }],
      }),
    status: 'fail',
  },
  {
    test: 'freshness_transactions',
    inputs: (f) => {
      f.transactionsArrivedAt = addHours('2024-05-03 11:00:00', 24 + 1); // newest purchase 25 h before the newest arrival
    },
    status: 'warn',
  },
  {
    test: 'unique_customers_customer_id',
    tamper: [`insert into analytics.customers select * from analytics.customers where customer_id = 'C1'`],
    status: 'fail',
  },
  {
    test: 'unique_customer_product_purchases_key',
    tamper: [
      `insert into analytics.customer_product_purchases_monthly
         select customer_id, loyalty_score + 1, product_id, product_category, purchase_month, purchase_count
         from analytics.customer_product_purchases_monthly where customer_id = 'C1' and product_id = 'P1'`,
    ],
    status: 'fail',
  },
  {
    test: 'not_null_analytics_keys',
    tamper: [`update analytics.next_best_category set recommended_category = null where customer_id = 'C2'`],
    status: 'fail',
  },
  {
    test: 'customers_category_amounts_add_up',
    tamper: [`update analytics.customers set house_amount = house_amount + 1 where customer_id = 'C1'`],
    status: 'fail',
  },
  {
    test: 'customers_first_purchase_not_after_last',
    tamper: [
      `update analytics.customers set first_purchase_at = last_purchase_at + interval '1 second' where customer_id = 'C1'`,
    ],
    status: 'fail',
  },
  {
    test: 'customer_product_purchases_every_customer',
    tamper: [`delete from analytics.customer_product_purchases_monthly where customer_id = 'C3'`],
    status: 'fail',
  },
  {
    test: 'customer_product_purchases_reconcile_items',
    tamper: [
      `update analytics.customer_product_purchases_monthly set purchase_count = purchase_count + 1 where customer_id = 'C2' and product_id = 'P2'`,
    ],
    status: 'fail',
  },
];

async function runOne(
  name: string,
  fixture: RawFixture,
  tamper: string[] = [],
  ctx = context,
): Promise<DataTestResult> {
  await clearRaw(wh);
  await insertRaw(wh, fixture);
  await buildModels(wh, { context: ctx });
  for (const statement of tamper) await wh.execute(statement);
  const tests = loadDataTests(undefined, ctx).filter((t) => t.name === name);
  expect(tests).toHaveLength(1);
  const [result] = await runDataTests(wh, { runId: 'test', tests, store: false });
  return result as DataTestResult;
}

it('every data test in sql/tests has a failing case below', () => {
  expect(CASES.map((c) => c.test).sort()).toEqual(
    loadDataTests(undefined, context)
      .map((t) => t.name)
      .sort(),
  );
});

describe.each(CASES)('$test', ({ test, inputs, tamper, status }) => {
  it('passes on clean data', async () => {
    // Act
    const result = await runOne(test, good());
    // Assess
    expect(result).toMatchObject({ status: 'pass', failingRows: 0, sample: [] });
    expect(result.error).toBeUndefined();
  });

  it(`reports ${status} with sample rows on its failing fixture`, async () => {
    // Prepare
    const fixture = good();
    inputs?.(fixture);
    // Act
    const result = await runOne(test, fixture, tamper);
    // Assess
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(status);
    expect(result.failingRows).toBeGreaterThan(0);
    expect(result.sample.length).toBe(Math.min(result.failingRows, 5));
  });
});

describe('freshness', () => {
  it('uses the configured threshold and severity (error in production)', async () => {
    // Prepare: 25 h between newest purchase and newest arrival
    const fixture = { ...good(), transactionsArrivedAt: addHours('2024-05-03 11:00:00', 25) };
    const strict: TemplateContext = {
      categories: CATEGORIES,
      freshness: { maxAgeHours: 24, severity: 'error' },
    };
    const lenient: TemplateContext = {
      categories: CATEGORIES,
      freshness: { maxAgeHours: 48, severity: 'error' },
    };
    // Act
    const failing = await runOne('freshness_transactions', fixture, [], strict);
    const passing = await runOne('freshness_transactions', fixture, [], lenient);
    // Assess
    expect(failing).toMatchObject({ severity: 'error', status: 'fail', failingRows: 1 });
    expect(failing.sample[0]).toMatchObject({
      newest_arrival_at: '2024-05-04 12:00:00',
      newest_purchase_at: '2024-05-03 11:00:00',
    });
    expect(passing.status).toBe('pass');
  });

  it('fails when no transactions file was ever loaded', async () => {
    const result = await runOne('freshness_transactions', { ...good(), transactions: [] });
    expect(result).toMatchObject({ status: 'warn', failingRows: 1 });
  });
});

describe('runDataTests', () => {
  it('stores one row per test with status, counts and sample JSON', async () => {
    // Prepare
    const fixture = good();
    fixture.transactions?.push({
      customer_id: 'C3',
      date_of_purchase: '2024-05-01 12:00:00',
      basket: [{ product_id: 'P1', price: -2 }],
    });
    await clearRaw(wh);
    await insertRaw(wh, fixture);
    await buildModels(wh, { context });
    // Act
    const results = await runDataTests(wh, {
      runId: 'run-store',
      context,
      now: new Date('2024-06-01T06:00:00Z'),
    });
    // Assess
    const stored = await wh.query(`select * from ${RESULTS_TABLE} where run_id = 'run-store' order by test`);
    expect(stored).toHaveLength(results.length);
    const price = stored.find((r) => r.test === 'non_negative_price');
    expect(price).toMatchObject({
      severity: 'error',
      status: 'fail',
      failing_rows: 1,
      ran_at: '2024-06-01 06:00:00',
    });
    expect(JSON.parse(price?.sample_rows as string)).toEqual([
      {
        transaction_id: 'transactions/d=2024-05-01/transactions.json:2',
        item_index: 1,
        product_id: 'P1',
        price: -2,
      },
    ]);
  });

  it('renames the sample column of a results table made before it was renamed, keeping its rows', async () => {
    // Prepare: the table as an earlier version created it (column `sample`, a Snowflake reserved keyword)
    const legacy = scratchWarehouse('datatests-legacy-');
    try {
      await legacy.wh.execute(`create table if not exists ${RESULTS_TABLE} (
        run_id varchar not null, test varchar not null, severity varchar not null, status varchar not null,
        failing_rows bigint not null, sample varchar, error varchar, ran_at timestamp not null)`);
      await legacy.wh.execute(`insert into ${RESULTS_TABLE} values ('old-run', 't', 'warn', 'warn', 1, '[{"a":1}]', null, '2024-01-01 00:00:00')`);
      // Act
      await storeResults(legacy.wh, 'new-run', [{ test: 't', severity: 'error', description: '', status: 'fail', failingRows: 2, sample: [{ b: 2 }], ms: 1 }], new Date('2024-06-01T06:00:00Z'));
      // Assess
      const rows = await legacy.wh.query(`select run_id, sample_rows from ${RESULTS_TABLE} order by run_id`);
      expect(rows).toEqual([
        { run_id: 'new-run', sample_rows: '[{"b":2}]' },
        { run_id: 'old-run', sample_rows: '[{"a":1}]' },
      ]);
    } finally {
      await legacy.close();
    }
  });

  it('turns a test that cannot run into a failure, whatever its severity', async () => {
    const [result] = await runDataTests(wh, {
      runId: 'broken',
      tests: [
        { name: 'broken', severity: 'warn', description: '', sql: 'select * from analytics.no_such_table' },
      ],
      store: false,
    });
    expect(result).toMatchObject({ status: 'fail', failingRows: 0 });
    expect(result?.error).toMatch(/no_such_table/);
  });
});
