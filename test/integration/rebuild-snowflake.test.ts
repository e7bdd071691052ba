/**
 * The Snowflake statement sequence of a rebuild, through the real snowflake-sdk and
 * SnowflakeWarehouse against the loopback fake of Snowflake's REST API: every table built aside
 * under __next, masked, then swapped in with SWAP WITH; views replaced with COPY GRANTS; the data
 * tests after the last model; their results stored.
 */
import { CATEGORIES } from '../../shared/products';
import { runDataTests } from '../../shared/datatests/runner';
import { setLogSink } from '../../shared/logger';
import { loadModels } from '../../shared/models/catalog';
import { buildModels } from '../../shared/models/runner';
import { rebuild } from '../../shared/rebuild';
import type { TemplateContext } from '../../shared/models/template';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { FakeSnowflake, col } from '../support/fake-snowflake';
import { generateKeyPair } from '../support/fake-snowflake/keys';
import { fakeSnowflakeConfig, keyPairCredentials } from '../support/fake-snowflake/config';
import { scriptRunClaims } from '../support/run-claims';

const key = generateKeyPair();
const context: TemplateContext = { categories: CATEGORIES, freshness: { maxAgeHours: 24, severity: 'error' } };

function snowflakeConfig(fake: FakeSnowflake): SnowflakeConfig {
  return fakeSnowflakeConfig(fake, { user: 'transformer', role: 'SP_TRANSFORMER' });
}

const credentials = keyPairCredentials(key);

let fake: FakeSnowflake;
let wh: SnowflakeWarehouse;

beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));

beforeEach(async () => {
  fake = await FakeSnowflake.start({ account: 'TESTACCOUNT', user: 'TRANSFORMER', publicKeys: [key.publicKey] });
  wh = new SnowflakeWarehouse(snowflakeConfig(fake), { credentials, statementTimeoutMs: 20_000 });
  scriptRunClaims(fake);
  // what exists before the rebuild: the tables and the view of an earlier run
  fake.reply(/from information_schema\.tables/i, {
    columns: [col.text('TABLE_SCHEMA'), col.text('TABLE_NAME'), col.text('TABLE_TYPE')],
    rows: [
      ['ANALYTICS', 'CUSTOMERS', 'BASE TABLE'],
      ['ANALYTICS', 'CUSTOMER_PRODUCT_PURCHASES', 'VIEW'],
      // a model that used to be a view and is a table now: the view must go first
      ['ANALYTICS', 'NEXT_BEST_CATEGORY', 'VIEW'],
    ],
  });
  fake.reply(/^show masking policies like 'CUSTOMER_ID_MASK' in schema analytics/i, {
    columns: [col.text('name'), col.text('database_name'), col.text('schema_name')],
    rows: [['CUSTOMER_ID_MASK', 'SHOPPING_PATTERNS', 'ANALYTICS']],
  });
  fake.reply(/information_schema\.columns/i, {
    columns: [col.text('COLUMN_NAME'), col.text('DATA_TYPE'), col.int('NUMERIC_PRECISION'), col.int('NUMERIC_SCALE')],
    rows: [
      ['CUSTOMER_ID', 'TEXT', null, null],
      ['LOYALTY_SCORE', 'NUMBER', 38, 0],
    ],
  });
  fake.reply(/^select count\(\*\) as n from analytics\./i, { columns: [col.int('N')], rows: [[42]] });
  // one data test finds failing rows
  fake.reply(/where price < 0/i, {
    columns: [col.text('TRANSACTION_ID'), col.int('ITEM_INDEX'), col.decimal('PRICE'), col.int('DT_FAILING_ROWS__')],
    rows: [['transactions/d=2024-01-01/a.json:3', 1, -2.5, 7]],
  });
});

afterEach(async () => {
  await wh.close();
  await fake.idle();
  await fake.close();
});

/** The statements the rebuild sent, without the driver's session setup. */
const sent = () => fake.sql().map((s) => s.trim()).filter((s) => !/^alter session/i.test(s));

it('builds every table aside, masks it, swaps it in; views with COPY GRANTS; in dependency order', async () => {
  // Act
  const built = await buildModels(wh, { context });

  // Assess
  const statements = sent();
  const index = (prefix: string) => {
    const i = statements.findIndex((s) => s.toLowerCase().startsWith(prefix));
    expect([prefix, i]).not.toEqual([prefix, -1]);
    return i;
  };
  const customers = [
    'create or replace table analytics.customers__next as',
    'alter table analytics.customers__next modify column customer_id set masking policy analytics.customer_id_mask force',
    'create table if not exists analytics.customers like analytics.customers__next',
    'alter table analytics.customers swap with analytics.customers__next',
    'drop table if exists analytics.customers__next',
    'select count(*) as n from analytics.customers',
  ].map(index);
  expect(customers).toEqual([...customers].sort((a, b) => a - b));
  expect(customers.at(-1)! - customers[0]!).toBe(customers.length - 1 + 1); // + the describe of __next

  // the view is replaced in place, keeps its grants, and gets no policy of its own
  const view = index('create or replace view analytics.customer_product_purchases copy grants as');
  expect(view).toBeGreaterThan(index('alter table analytics.customer_product_purchases_monthly swap with'));
  expect(statements.some((s) => /alter view/i.test(s))).toBe(false);

  // next_best_category was a view: dropped before its table is swapped in
  expect(index('drop view if exists analytics.next_best_category')).toBeLessThan(
    index('create or replace table analytics.next_best_category__next as'),
  );

  // staging views come first and in dependency order; they do not exist yet, so they are created
  // without COPY GRANTS and inherit the schema's future grants (docs/SNOWFLAKE.md, grants)
  expect(index('create or replace view staging.stg_transactions as')).toBeLessThan(
    index('create or replace view staging.stg_transaction_items as'),
  );

  // SWAP is atomic by itself: no explicit transaction around it
  expect(fake.transactions.size).toBe(0);
  expect(built.map((b) => b.name)).toEqual(loadModels().map((m) => m.name));
  expect(built.find((b) => b.name === 'analytics.customers')?.rows).toBe(42);
});

it('runs the data tests after the models and stores their results', async () => {
  // Act
  await buildModels(wh, { context });
  const results = await runDataTests(wh, { runId: 'rb-test', context, now: new Date('2024-06-03T06:00:00Z') });

  // Assess
  const statements = sent();
  const lastSwap = statements.map((s) => /swap with/i.test(s)).lastIndexOf(true);
  const firstTest = statements.findIndex((s) => s.startsWith('select failing.*, count(*) over () as dt_failing_rows__'));
  expect(firstTest).toBeGreaterThan(lastSwap);
  expect(statements.filter((s) => s.startsWith('select failing.*'))).toHaveLength(results.length);

  const price = results.find((r) => r.test === 'non_negative_price');
  expect(price).toMatchObject({
    status: 'fail',
    failingRows: 7,
    sample: [{ transaction_id: 'transactions/d=2024-01-01/a.json:3', item_index: 1, price: -2.5 }],
  });
  // freshness has severity error here (production configuration) and the fake has no data: no rows, a pass
  expect(results.find((r) => r.test === 'freshness_transactions')).toMatchObject({ severity: 'error', status: 'pass' });

  const inserts = fake.statements.filter((s) => /^insert into analytics\.data_test_results/i.test(s.sql.trim()));
  expect(inserts).toHaveLength(results.length);
  expect(inserts.every((s) => s.txn !== null)).toBe(true); // stored together, in one transaction
  const stored = inserts.find((s) => s.binds[1] === 'non_negative_price');
  expect(stored?.binds).toEqual([
    'rb-test',
    'non_negative_price',
    'error',
    'fail',
    7,
    JSON.stringify(price?.sample),
    null,
    '2024-06-03 06:00:00',
  ]);
});

it('withholds publishing on Snowflake when an error test fails, and records the run', async () => {
  // Act: the scripted negative price makes non_negative_price (severity error) fail
  const result = await rebuild({ warehouse: wh, context, snapshotDate: '2024-06-03', runId: 'rb-sf', clock: () => new Date('2024-06-03T06:00:00Z') });

  // Assess
  expect(result).toMatchObject({ status: 'withheld', published: false, manifest_key: null, tests: { failed: 1 } });
  const statements = sent();
  expect(statements.some((s) => /^(copy into|put|get)\b/i.test(s))).toBe(false);
  // recorded as running before any model is built, then settled with its outcome
  const start = fake.statements.find((s) => /^insert into analytics\.rebuild_runs/i.test(s.sql.trim()));
  expect(start?.sql).toMatch(/'running'/);
  expect(start?.binds).toEqual(['rb-sf', '2024-06-03 06:00:00', '2024-06-03']);
  expect(statements.findIndex((s) => /^insert into analytics\.rebuild_runs/i.test(s))).toBeLessThan(
    statements.findIndex((s) => /^create or replace|__next/i.test(s)),
  );
  const run = fake.statements.find((s) => /^update analytics\.rebuild_runs set finished_at/i.test(s.sql.trim()));
  expect(run?.binds.slice(0, 10)).toEqual([
    '2024-06-03 06:00:00',
    'withheld',
    8,
    loadModels().map((m) => m.name).join(','),
    result.tests.passed,
    result.tests.warned,
    1,
    false,
    null,
    '[]',
  ]);
  expect(run?.binds.slice(-2)).toEqual(['rb-sf', '2024-06-03 06:00:00']);
  // one rebuild at a time: the claim on scope 'rebuild' is taken before the run is recorded
  const claim = fake.statements.find((s) => /^insert into analytics\.run_claims \(/i.test(s.sql.trim()));
  expect(claim?.binds[0]).toBe('rebuild');
  expect(fake.statements.indexOf(claim!)).toBeLessThan(fake.statements.indexOf(start!));
  // the run table is created before the insert, idempotently
  expect(statements.findIndex((s) => /^create table if not exists analytics\.rebuild_runs/i.test(s))).toBeLessThan(
    statements.findIndex((s) => /^insert into analytics\.rebuild_runs/i.test(s)),
  );
});
