/**
 * The only places where DuckDB and Snowflake need different SQL for the models. Each construct is
 * one named function with one branch per engine (one model, two dialects),
 * so the models themselves stay portable and there is never a second copy of a model.
 *
 * Names passed in are validated model names (`schema.table`, identifiers only); they are written
 * unquoted, which both engines resolve case-insensitively (Snowflake as upper case), exactly like
 * the unquoted names inside the model SQL.
 */
import { assertIdentifier } from '../warehouse/identifiers';
import type { Engine } from '../warehouse/port';

export const NEXT_SUFFIX = '__next';

export interface QualifiedName {
  schema: string;
  table: string;
}

export function qualified(name: QualifiedName): string {
  return `${assertIdentifier(name.schema, 'schema')}.${assertIdentifier(name.table, 'table')}`;
}

export function nextName(name: QualifiedName): QualifiedName {
  return { schema: name.schema, table: `${name.table}${NEXT_SUFFIX}` };
}

/** Build a table model aside, under `<name>__next`; readers keep seeing the current table meanwhile. */
export function buildAsideStatement(name: QualifiedName, selectSql: string): string {
  return `create or replace table ${qualified(nextName(name))} as\n${selectSql}`;
}

/**
 * Views are replaced in place (atomic on both engines). On Snowflake (create-view, COPY GRANTS):
 * - replacing an existing view needs `COPY GRANTS`, or its grants are dropped and the readers (and the
 *   partner role) are cut off; the replacement "does not inherit any future grants", so grants on views
 *   that exist come from `grant ... on all views` (sql/snowflake/80_grants.sql, 90_masking_policy.sql);
 * - a view that does not exist yet is created without it: "If the parameter is not included ... the new
 *   view ... does inherit any future grants defined for the object type in the schema". The page does
 *   not say what COPY GRANTS does when there is nothing to copy, so the rebuild does not rely on it.
 * https://docs.snowflake.com/en/sql-reference/sql/create-view#optional-parameters
 */
export function createViewStatement(engine: Engine, name: QualifiedName, selectSql: string, replacing = true): string {
  switch (engine) {
    case 'duckdb':
      return `create or replace view ${qualified(name)} as\n${selectSql}`;
    case 'snowflake':
      return `create or replace view ${qualified(name)}${replacing ? ' copy grants' : ''} as\n${selectSql}`;
  }
}

export interface SwapPlan {
  /** Run the statements inside one transaction (DuckDB) or one by one (Snowflake, where DDL commits itself). */
  transactional: boolean;
  statements: string[];
}

/**
 * Replace `<name>` by `<name>__next` atomically: readers see the old table or the new one, never a
 * half-built one and never none.
 *
 * - DuckDB: DDL is transactional, so drop + rename commit together.
 *   https://duckdb.org/docs/stable/sql/statements/alter_table#rename-table
 * - Snowflake: `ALTER TABLE ... SWAP WITH` exchanges the two tables in one metadata operation;
 *   `CREATE TABLE IF NOT EXISTS ... LIKE` gives the first run something to swap with, and the old
 *   contents (now under `__next`) are dropped afterwards (recoverable with UNDROP within the Time
 *   Travel retention). SWAP also exchanges grants and policies, so readers need future grants on
 *   the schema and the masking policy is attached to `__next` before the swap (see runner).
 *   https://docs.snowflake.com/en/sql-reference/sql/alter-table
 */
export function swapPlan(engine: Engine, name: QualifiedName): SwapPlan {
  const target = qualified(name);
  const next = qualified(nextName(name));
  switch (engine) {
    case 'duckdb':
      return {
        transactional: true,
        statements: [`drop table if exists ${target}`, `alter table ${next} rename to ${assertIdentifier(name.table)}`],
      };
    case 'snowflake':
      return {
        transactional: false,
        statements: [`create table if not exists ${target} like ${next}`, `alter table ${target} swap with ${next}`, `drop table if exists ${next}`],
      };
  }
}

/**
 * Snowflake only: attach the partner masking policy to a column of a freshly built relation.
 * DuckDB has no masking policies; locally the export's pseudonymisation is the equivalent.
 * https://docs.snowflake.com/en/user-guide/security-column-ddm-use
 */
export function attachMaskingPolicyStatement(
  engine: Engine,
  relation: QualifiedName,
  kind: 'table' | 'view',
  column: string,
  policy: QualifiedName,
): string | undefined {
  switch (engine) {
    case 'duckdb':
      return undefined;
    case 'snowflake':
      return `alter ${kind} ${qualified(relation)} modify column ${assertIdentifier(column, 'column')} set masking policy ${qualified(policy)} force`;
  }
}
