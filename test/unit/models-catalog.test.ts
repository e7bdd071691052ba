import { InvalidInputError } from '../../shared/errors';
import {
  dependencyOrder,
  loadModels,
  parseHeader,
  parseModels,
  qualifiedReferences,
} from '../../shared/models/catalog';

const model = (file: string, body: string, materialized = 'table') => ({
  file,
  sql: `-- grain: one row per thing\n-- materialized: ${materialized}\n\n${body}`,
});

describe('parseHeader', () => {
  it('reads key: value lines of the leading comment block only', () => {
    expect(parseHeader('-- grain: one row per x\n-- Materialized: view\n\nselect 1\n-- later: ignored')).toEqual({
      grain: 'one row per x',
      materialized: 'view',
    });
  });
});

describe('qualifiedReferences', () => {
  it('ignores names in comments and string literals', () => {
    const refs = qualifiedReferences(
      "-- staging.in_comment\nselect 'staging.in_string' from staging.real_one /* analytics.block */ join analytics . spaced on x.y",
    );
    expect([...refs].sort()).toEqual(['analytics.spaced', 'staging.real_one', 'x.y']);
  });
});

describe('parseModels', () => {
  it('derives schema from the layer folder and dependencies from the SQL', () => {
    // Act
    const models = parseModels([
      model('staging/stg_a.sql', 'select * from raw.a', 'view'),
      model('marts/b.sql', 'with a as (select * from staging.stg_a) select a.x from a'),
    ]);
    // Assess
    expect(models.map((m) => [m.name, m.materialized, m.dependsOn])).toEqual([
      ['staging.stg_a', 'view', []],
      ['analytics.b', 'table', ['staging.stg_a']],
    ]);
  });

  it.each([
    [[{ file: 'staging/x.sql', sql: '-- grain: g\nselect 1' }], /materialized: view/],
    [[{ file: 'staging/x.sql', sql: '-- materialized: view\nselect 1' }], /grain/],
    [[model('other/x.sql', 'select 1')], /unknown layer folder "other"/],
    [[model('staging/x-y.sql', 'select 1')], /identifier/],
    [[model('staging/x__next.sql', 'select 1')], /__next/],
    [[model('staging/x.sql', 'select * from staging.x')], /reads itself/],
    [[model('staging/x.sql', '-- nothing')], /no select/],
  ])('rejects a bad model with a clear message (%#)', (sources, message) => {
    expect(() => parseModels(sources)).toThrow(message);
  });
});

describe('dependencyOrder', () => {
  it('puts dependencies first and otherwise orders by name', () => {
    const models = parseModels([
      model('marts/z.sql', 'select * from staging.b'),
      model('marts/a.sql', 'select * from analytics.z join staging.c on true'),
      model('staging/c.sql', 'select 1', 'view'),
      model('staging/b.sql', 'select 1', 'view'),
    ]);
    expect(dependencyOrder(models).map((m) => m.name)).toEqual(['staging.b', 'staging.c', 'analytics.z', 'analytics.a']);
  });

  it('reports a cycle with the models in it', () => {
    const models = parseModels([
      model('marts/a.sql', 'select * from analytics.b'),
      model('marts/b.sql', 'select * from analytics.a'),
      model('staging/ok.sql', 'select 1', 'view'),
    ]);
    expect(() => dependencyOrder(models)).toThrow(new InvalidInputError('models depend on each other in a cycle: analytics.a, analytics.b'));
  });
});

describe('the project models', () => {
  const models = loadModels();

  it('are all found, each after the models it reads', () => {
    const names = models.map((m) => m.name);
    expect(names.sort()).toEqual(
      [
        'analytics.customer_product_purchases',
        'analytics.customer_product_purchases_monthly',
        'analytics.customers',
        'analytics.next_best_category',
        'staging.stg_customers',
        'staging.stg_products',
        'staging.stg_transaction_items',
        'staging.stg_transactions',
      ].sort(),
    );
    const position = new Map(models.map((m, i) => [m.name, i]));
    for (const m of models) for (const d of m.dependsOn) expect(position.get(d)).toBeLessThan(position.get(m.name) as number);
  });

  it('materialise the purchase view as a view and the marts it reads as tables', () => {
    const byName = new Map(models.map((m) => [m.name, m]));
    expect(byName.get('analytics.customer_product_purchases')?.materialized).toBe('view');
    expect(byName.get('analytics.customer_product_purchases')?.dependsOn).toEqual(['analytics.customer_product_purchases_monthly']);
    expect(byName.get('analytics.customers')?.materialized).toBe('table');
  });

  it('follow the house style: lowercase SQL ending in select * from final', () => {
    for (const m of models) {
      const code = m.sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");
      expect(code).toBe(code.toLowerCase());
      expect(code.trim().endsWith('select * from final')).toBe(true);
    }
  });
});
