import { duckdbDialect, snowflakeDialect } from '../../shared/warehouse/dialect';
import {
  attachMaskingPolicyStatement,
  buildAsideStatement,
  createViewStatement,
  swapPlan,
} from '../../shared/models/dialect';
import { InvalidInputError } from '../../shared/errors';

const name = { schema: 'analytics', table: 'customers' };

describe('table replacement, one named dispatch per engine', () => {
  it('builds aside under __next', () => {
    expect(buildAsideStatement(name, 'select 1')).toBe('create or replace table analytics.customers__next as\nselect 1');
    expect(createViewStatement(duckdbDialect, name, 'select 1')).toBe('create or replace view analytics.customers as\nselect 1');
    expect(createViewStatement(snowflakeDialect, name, 'select 1')).toBe('create or replace view analytics.customers copy grants as\nselect 1');
    // a view that does not exist yet: no COPY GRANTS, so it inherits the schema's future grants
    expect(createViewStatement(snowflakeDialect, name, 'select 1', false)).toBe('create or replace view analytics.customers as\nselect 1');
  });

  it('DuckDB: drop and rename inside one transaction', () => {
    expect(swapPlan(duckdbDialect, name)).toEqual({
      transactional: true,
      statements: ['drop table if exists analytics.customers', 'alter table analytics.customers__next rename to customers'],
    });
  });

  it('Snowflake: create-if-missing, SWAP WITH, drop the old contents', () => {
    expect(swapPlan(snowflakeDialect, name)).toEqual({
      transactional: false,
      statements: [
        'create table if not exists analytics.customers like analytics.customers__next',
        'alter table analytics.customers swap with analytics.customers__next',
        'drop table if exists analytics.customers__next',
      ],
    });
  });

  it('rejects names that are not identifiers', () => {
    expect(() => swapPlan(duckdbDialect, { schema: 'analytics', table: 'x; drop table y' })).toThrow(InvalidInputError);
  });

  it('attaches the masking policy on Snowflake only', () => {
    const policy = { schema: 'analytics', table: 'customer_id_mask' };
    expect(attachMaskingPolicyStatement(snowflakeDialect, name, 'table', 'customer_id', policy)).toBe(
      'alter table analytics.customers modify column customer_id set masking policy analytics.customer_id_mask force',
    );
    expect(attachMaskingPolicyStatement(duckdbDialect, name, 'table', 'customer_id', policy)).toBeUndefined();
  });
});
