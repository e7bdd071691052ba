/**
 * The data-test results table and its INSERT, checked against Snowflake's documented rules: the column
 * used to be `sample`, a reserved keyword (https://docs.snowflake.com/en/sql-reference/reserved-keywords),
 * so every rebuild failed on Snowflake while DuckDB accepted it.
 */
import { RESULTS_DDL } from '../../shared/datatests/runner';
import { Catalog, checkStatement, initRules, RULES } from '../support/snowflake-rules';

beforeAll(() => initRules());

it('the results DDL breaks no Snowflake rule', () => {
  expect(checkStatement(RESULTS_DDL, new Catalog())).toEqual([]);
});

it('the check refuses the DDL as it was (column sample)', () => {
  const old = RESULTS_DDL.replace('sample_rows   varchar', 'sample        varchar');
  expect(old).not.toBe(RESULTS_DDL);
  expect(checkStatement(old, new Catalog()).map((v) => [v.rule.id, v.message])).toEqual([
    [RULES.reserved.id, expect.stringMatching(/^SAMPLE is used as a column name in CREATE TABLE/)],
  ]);
});
