/**
 * What differs between the engines, in one object per engine: SQL types, how a view is replaced, how
 * a table is swapped in, and what the engine can do. Callers ask the warehouse for its dialect
 * (`wh.dialect`) instead of comparing engine names, so an engine's differences live here and in its
 * adapter (dlt's destination capabilities are the model).
 */
import { assertIdentifier } from './identifiers';

export interface QualifiedName {
  schema: string;
  table: string;
}

export function qualified(name: QualifiedName): string {
  return `${assertIdentifier(name.schema, 'schema')}.${assertIdentifier(name.table, 'table')}`;
}

export interface SwapPlan {
  /** Run the statements inside one transaction (DDL is transactional) or one by one. */
  transactional: boolean;
  statements: string[];
}

export interface Dialect {
  /** For messages and logs only; never compare it. */
  readonly name: string;
  readonly timestampType: string;
  decimalType(precision: number, scale: number): string;
  /** `create or replace view name as select` that keeps the view's grants where the engine has them. */
  createView(name: string, selectSql: string): string;
  /** Replace `target` by `next` atomically: readers see the old table or the new one, never none. */
  swapPlan(target: string, next: string, targetTable: string): SwapPlan;
  /** Column masking policies exist (the partner's pseudonymised customer_id). */
  readonly maskingPolicies: boolean;
  /** Creates its own schema when opened (no migrate step, no separate deploy role). */
  readonly selfMigrating: boolean;
  /**
   * How ingest lands a file's lines: 'object-store' (the function reads the object and appends the
   * judged rows itself) or 'stage' (the warehouse copies the file from its external stage and judges
   * the lines in SQL with the rules' table function).
   */
  readonly landing: 'object-store' | 'stage';
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  timestampType: 'timestamp',
  decimalType: (p, s) => `decimal(${p}, ${s})`,
  createView: (name, select) => `create or replace view ${name} as\n${select}`,
  // DDL is transactional: drop + rename commit together.
  // https://duckdb.org/docs/stable/sql/statements/alter_table#rename-table
  swapPlan: (target, next, targetTable) => ({
    transactional: true,
    statements: [`drop table if exists ${target}`, `alter table ${next} rename to ${assertIdentifier(targetTable)}`],
  }),
  maskingPolicies: false,
  selfMigrating: true,
  landing: 'object-store',
};

export const snowflakeDialect: Dialect = {
  name: 'snowflake',
  timestampType: 'timestamp_ntz',
  decimalType: (p, s) => `number(${p}, ${s})`,
  // A replaced view loses its grants unless COPY GRANTS is given.
  // https://docs.snowflake.com/en/sql-reference/sql/create-view
  createView: (name, select) => `create or replace view ${name} copy grants as\n${select}`,
  // ALTER TABLE ... SWAP WITH exchanges two tables in one metadata operation; CREATE ... LIKE gives the
  // first run something to swap with, and the old contents (now under next) are dropped after.
  // https://docs.snowflake.com/en/sql-reference/sql/alter-table
  swapPlan: (target, next) => ({
    transactional: false,
    statements: [`create table if not exists ${target} like ${next}`, `alter table ${target} swap with ${next}`, `drop table if exists ${next}`],
  }),
  maskingPolicies: true,
  selfMigrating: false,
  landing: 'stage',
};
