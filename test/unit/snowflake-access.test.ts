/**
 * Who can query what on Snowflake after migrate and the rebuild, reasoned with Snowflake's documented
 * access control (test/support/snowflake-rules/access.ts) over the statements the code really sends:
 * sql/snowflake/*.sql as migrate renders them, and the DDL of the real buildModels. And what each role
 * sees of customer_id through the masking policy, with the context functions as documented
 * (test/support/snowflake-rules/masking.ts).
 */
import { CATEGORIES } from '../../shared/products';
import { loadConfig } from '../../shared/config';
import { snowflakeParameters } from '../../shared/migrate';
import { buildModels } from '../../shared/models/runner';
import { loadModels } from '../../shared/models/catalog';
import type { TemplateContext } from '../../shared/models/template';
import type { ColumnInfo, Row, Warehouse } from '../../shared/warehouse/port';
import { setLogSink } from '../../shared/logger';
import { initRules, renderedMigrations } from '../support/snowflake-rules';
import { MIGRATION_ENV } from '../support/snowflake-rules/catalog';
import { AccessModel } from '../support/snowflake-rules/access';
import { evaluatePolicy } from '../support/snowflake-rules/masking';
import { snowflakeDialect } from '../../shared/warehouse/dialect';

const context: TemplateContext = { categories: CATEGORIES, freshness: { maxAgeHours: 24, severity: 'error' } };
const params = snowflakeParameters(loadConfig(MIGRATION_ENV), MIGRATION_ENV);
const DB = params.DATABASE as string;
const PARTNER = params.PARTNER_ROLE as string;
const READER = params.READ_ROLE as string;
const TRANSFORMER = params.TRANSFORM_ROLE as string;

/** A Warehouse that runs the rebuild's DDL into the access model and answers its catalog queries from it. */
function modelWarehouse(model: AccessModel): Warehouse {
  const wh: Warehouse = {
    engine: 'snowflake',
    dialect: snowflakeDialect,
    async findTables() {
      return [];
    },
    async query<T extends Row = Row>(sql: string): Promise<T[]> {
      if (/information_schema\.tables/i.test(sql)) {
        return model.allObjects().map(([name, kind]) => {
          const [, schema, table] = name.split('.');
          return { table_schema: schema, table_name: table, table_type: kind === 'VIEW' ? 'VIEW' : 'BASE TABLE' } as unknown as T;
        });
      }
      if (/^show masking policies/i.test(sql)) return [{ name: 'CUSTOMER_ID_MASK' } as unknown as T];
      if (/^select count\(\*\)/i.test(sql)) return [{ n: 0 } as unknown as T];
      return [];
    },
    async execute(sql: string): Promise<number> {
      model.apply([sql]);
      return 0;
    },
    async executeScript(sql: string): Promise<void> {
      model.apply([sql]);
    },
    stream(): AsyncIterable<Row[]> {
      throw new Error('not used by the rebuild');
    },
    transaction: (fn) => fn(wh),
    async describeTable(): Promise<ColumnInfo[]> {
      return [{ name: 'CUSTOMER_ID', type: 'TEXT', kind: 'text' }];
    },
    async close(): Promise<void> {},
  };
  return wh;
}

const migrations = () => renderedMigrations().map((m) => ({ file: m.file, sql: m.sql }));
const scripts = (pick: (file: string) => boolean) => migrations().filter((m) => pick(m.file)).map((m) => m.sql);

async function rebuild(model: AccessModel): Promise<void> {
  await buildModels(modelWarehouse(model), { context });
}

/** Every analytics model the partner may read (views: the partner reads views, never tables). */
const analyticsViews = () => loadModels().filter((m) => m.schema === 'analytics' && m.materialized === 'view').map((m) => m.name);
const analyticsModels = () => loadModels().filter((m) => m.schema === 'analytics').map((m) => m.name);

beforeAll(async () => {
  setLogSink(() => undefined);
  await initRules();
});
afterAll(() => setLogSink((line) => process.stderr.write(line + '\n')));

it('has views for the partner to read', () => {
  expect(analyticsViews()).toContain('analytics.customer_product_purchases');
});

describe('a fresh account: migrate (admin scripts too), then weekly rebuilds', () => {
  let model: AccessModel;

  beforeAll(async () => {
    model = new AccessModel(DB);
    model.apply(scripts(() => true));
    await rebuild(model);
    await rebuild(model);
  });

  it('lets the partner query every analytics view (warehouse, database, schema, view)', () => {
    expect(analyticsViews().map((v) => [v, model.whyNotSelect(PARTNER, v)])).toEqual(analyticsViews().map((v) => [v, undefined]));
  });

  it('lets the readers query every analytics model', () => {
    expect(analyticsModels().map((v) => [v, model.whyNotSelect(READER, v)])).toEqual(analyticsModels().map((v) => [v, undefined]));
  });

  it('keeps the partner off the tables', () => {
    expect(model.whyNotSelect(PARTNER, 'analytics.customers')).toMatch(/^SELECT on table/);
  });
});

describe('views that exist before the grants (the partner added later, or grants re-run after rebuilds)', () => {
  let model: AccessModel;

  beforeAll(async () => {
    model = new AccessModel(DB);
    model.apply(scripts((f) => f < '80'));
    await rebuild(model); // views created before any grant or future grant on them
    model.apply(scripts((f) => f >= '80'));
    await rebuild(model); // replaced WITH COPY GRANTS: they keep what they had, and get no future grants
  });

  it('lets the partner query every analytics view', () => {
    expect(analyticsViews().map((v) => [v, model.whyNotSelect(PARTNER, v)])).toEqual(analyticsViews().map((v) => [v, undefined]));
  });

  it('lets the readers query every analytics model', () => {
    expect(analyticsModels().map((v) => [v, model.whyNotSelect(READER, v)])).toEqual(analyticsModels().map((v) => [v, undefined]));
  });
});

describe('the customer_id masking policy (90_masking_policy.sql), per session', () => {
  let model: AccessModel;
  let policy: string;

  beforeAll(() => {
    model = new AccessModel(DB);
    const all = migrations();
    model.apply(all.map((m) => m.sql));
    const statements = all.filter((m) => /create masking policy/i.test(m.sql));
    expect(statements).toHaveLength(1);
    policy = statements[0]?.sql as string;
  });

  const sees = (primary: string, secondary?: string[]) => evaluatePolicy(policy, { primary, secondary }, (r) => model.rolesOf(r));

  it.each([
    ['SYSADMIN', 'an administrator (PARTNER is granted to SYSADMIN)'],
    ['ACCOUNTADMIN', 'the account administrator'],
  ])('shows %s the clear id (%s)', (role) => {
    expect(model.rolesOf(role).has(PARTNER)).toBe(true); // the hierarchy that made is_role_in_session('PARTNER') true
    expect(sees(role)).toBe('clear');
  });

  it('shows the readers and the rebuild the clear id', () => {
    expect(sees(READER)).toBe('clear');
    expect(sees(TRANSFORMER)).toBe('clear');
  });

  it('shows the partner the pseudonym, also with PARTNER only a secondary role', () => {
    expect(sees(PARTNER)).toBe('masked');
    expect(sees('PUBLIC', [PARTNER])).toBe('masked');
  });

  it('shows any other role the pseudonym (fails closed)', () => {
    expect(sees('PUBLIC')).toBe('masked');
    expect(sees(params.LOAD_ROLE as string)).toBe('masked');
  });
});
