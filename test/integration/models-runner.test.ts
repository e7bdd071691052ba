/**
 * The runner's replacement semantics on DuckDB: tables swapped in whole, a failed build leaving the
 * previous table in place, and a model that changes materialisation.
 */
import { setLogSink } from '../../shared/logger';
import { loadModels, parseModels, type ModelDef } from '../../shared/models/catalog';
import { buildModels, ModelBuildError } from '../../shared/models/runner';
import type { Warehouse } from '../../shared/warehouse/port';
import { clearRaw, insertRaw } from '../support/raw-fixtures';
import { scratchWarehouse } from '../support/factories';

let scratch: ReturnType<typeof scratchWarehouse>;
let wh: Warehouse;

beforeAll(() => {
  setLogSink(() => undefined);
  scratch = scratchWarehouse('models-runner-');
  wh = scratch.wh;
});

afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + '\n'));
  await scratch.close();
});

const relations = async () =>
  (
    await wh.query(
      `select table_schema || '.' || table_name as name, table_type from information_schema.tables
        where table_schema in ('staging', 'analytics') order by 1`,
    )
  ).map((r) => `${r.name}:${r.table_type}`);

function replaceModel(models: ModelDef[], name: string, sql: string): ModelDef[] {
  const [replacement] = parseModels([{ file: `marts/${name}.sql`, sql }]);
  return models.map((m) =>
    m.name === `analytics.${name}` ? { ...(replacement as ModelDef), dependsOn: m.dependsOn } : m,
  );
}

beforeEach(async () => {
  await clearRaw(wh);
  await insertRaw(wh, {
    customers: [
      { customer_id: 'C1', loyalty_score: 1 },
      { customer_id: 'C2', loyalty_score: 2 },
    ],
    products: [{ product_id: 'P1', product_category: 'house' }],
    transactions: [
      {
        customer_id: 'C1',
        date_of_purchase: '2024-01-01 00:00:00',
        basket: [{ product_id: 'P1', price: 1 }],
      },
    ],
  });
});

it('builds every model and leaves no __next table behind', async () => {
  // Act
  const built = await buildModels(wh);
  // Assess
  expect(built.map((b) => b.name)).toEqual(loadModels().map((m) => m.name));
  expect(built.find((b) => b.name === 'analytics.customers')?.rows).toBe(2);
  const names = await relations();
  expect(names.filter((n) => n.includes('__next'))).toEqual([]);
  expect(names).toContain('analytics.customer_product_purchases:VIEW');
  expect(names).toContain('analytics.customers:BASE TABLE');
});

it('a model that fails leaves the previous table as it was and names the model', async () => {
  // Prepare: a first good build, then new data and a broken customers model
  await buildModels(wh);
  const before = await wh.query('select * from analytics.customers order by customer_id');
  await insertRaw(wh, { customers: [{ customer_id: 'C3', loyalty_score: 3 }] });
  const broken = replaceModel(
    loadModels(),
    'customers',
    '-- grain: g\n-- materialized: table\nselect customer_id, 1/0 as x from staging.no_such_model',
  );
  // Act
  const error = await buildModels(wh, { models: broken }).catch((e: unknown) => e);
  // Assess
  expect(error).toBeInstanceOf(ModelBuildError);
  expect((error as ModelBuildError).model).toBe('analytics.customers');
  expect((error as ModelBuildError).built.map((b) => b.name)).toContain(
    'analytics.customer_product_purchases_monthly',
  );
  expect(await wh.query('select * from analytics.customers order by customer_id')).toEqual(before);
});

it('replaces a table whole: the new contents, not a mix', async () => {
  await buildModels(wh);
  // a new customers snapshot: C3 joins
  await insertRaw(wh, {
    customers: [
      { customer_id: 'C1', loyalty_score: 1 },
      { customer_id: 'C2', loyalty_score: 2 },
      { customer_id: 'C3', loyalty_score: 3 },
    ],
  });
  // Act
  await buildModels(wh);
  // Assess
  expect(
    (await wh.query('select customer_id from analytics.customers order by 1')).map((r) => r.customer_id),
  ).toEqual(['C1', 'C2', 'C3']);
});

it('switches a model between table and view', async () => {
  // Prepare
  await buildModels(wh);
  const asView = replaceModel(
    loadModels(),
    'customers',
    '-- grain: one row per customer\n-- materialized: view\nwith final as (select * from staging.stg_customers) select * from final',
  );
  // Act
  await buildModels(wh, { models: asView });
  const afterView = await relations();
  await buildModels(wh);
  // Assess
  expect(afterView).toContain('analytics.customers:VIEW');
  expect(await relations()).toContain('analytics.customers:BASE TABLE');
});
