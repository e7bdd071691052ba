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
  /**
   * `create or replace view name as select`. `replacing`: the view exists, and its grants must be kept
   * where the engine has grants (default true).
   */
  createView(name: string, selectSql: string, replacing?: boolean): string;
  /** Replace `target` by `next` atomically: readers see the old table or the new one, never none. */
  swapPlan(target: string, next: string, targetTable: string): SwapPlan;
  /** Column masking policies exist (the partner's pseudonymised customer_id). */
  readonly maskingPolicies: boolean;
  /** Attach a masking policy to a column of a table or view; undefined where there are none. */
  maskColumn(kind: 'table' | 'view', relation: string, column: string, policy: string): string | undefined;
  /** Creates its own schema when opened (no migrate step, no separate deploy role). */
  readonly selfMigrating: boolean;
  /** The embedded engine of this machine (sample tables, local tools), not a service. */
  readonly embedded: boolean;
  /** A statement naming the columns of a query's result without running it, where the engine has one. */
  describeQuery(selectSql: string): string | undefined;
  /**
   * How ingest lands a file's lines: 'object-store' (the function reads the object and appends the
   * judged rows itself) or 'stage' (the warehouse copies the file from its external stage and judges
   * the lines in SQL with the rules' table function).
   */
  readonly landing: 'object-store' | 'stage';
  /** Precision and scale of a bare DECIMAL / NUMBER column. */
  readonly bareDecimal: { precision: number; scale: number };
  /**
   * The key under which result rows carry a column of this name (the adapter's folding: on Snowflake
   * an all-upper-case name, the unquoted default, comes back lower-cased; any other as it is).
   */
  resultName(name: string): string;
  /** Can write a query's result to files itself (COPY INTO a stage: the transfer's unload mode). */
  readonly unloadsToStage: boolean;
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  timestampType: 'timestamp',
  decimalType: (p, s) => `decimal(${p}, ${s})`,
  createView: (name, select) => `create or replace view ${name} as\n${select}`,
  // no masking policies: locally the export's pseudonymisation is the equivalent
  maskColumn: () => undefined,
  // DDL is transactional: drop + rename commit together.
  // https://duckdb.org/docs/stable/sql/statements/alter_table#rename-table
  swapPlan: (target, next, targetTable) => ({
    transactional: true,
    statements: [`drop table if exists ${target}`, `alter table ${next} rename to ${assertIdentifier(targetTable)}`],
  }),
  maskingPolicies: false,
  selfMigrating: true,
  embedded: true,
  describeQuery: (select) => `describe ${select}`,
  landing: 'object-store',
  // "DECIMAL ... defaults to DECIMAL(18,3)" https://duckdb.org/docs/stable/sql/data_types/numeric#fixed-point-decimals
  bareDecimal: { precision: 18, scale: 3 },
  resultName: (name) => name,
  unloadsToStage: false,
};

export const snowflakeDialect: Dialect = {
  name: 'snowflake',
  timestampType: 'timestamp_ntz',
  decimalType: (p, s) => `number(${p}, ${s})`,
  // Replacing an existing view needs COPY GRANTS, or its grants are dropped (the readers and the partner
  // are cut off); a view that does not exist yet is created without it, so that it inherits the
  // schema's future grants ("If the parameter is not included ... the new view ... does inherit any
  // future grants"); the page does not say what COPY GRANTS does with nothing to copy.
  // https://docs.snowflake.com/en/sql-reference/sql/create-view#optional-parameters
  createView: (name, select, replacing = true) => `create or replace view ${name}${replacing ? ' copy grants' : ''} as\n${select}`,
  // https://docs.snowflake.com/en/user-guide/security-column-ddm-use
  maskColumn: (kind, relation, column, policy) => `alter ${kind} ${relation} modify column ${column} set masking policy ${policy} force`,
  // ALTER TABLE ... SWAP WITH exchanges two tables in one metadata operation; CREATE ... LIKE gives the
  // first run something to swap with, and the old contents (now under next) are dropped after.
  // https://docs.snowflake.com/en/sql-reference/sql/alter-table
  swapPlan: (target, next) => ({
    transactional: false,
    statements: [`create table if not exists ${target} like ${next}`, `alter table ${target} swap with ${next}`, `drop table if exists ${next}`],
  }),
  maskingPolicies: true,
  selfMigrating: false,
  embedded: false,
  // the driver gives a result's columns with its rows only
  describeQuery: () => undefined,
  landing: 'stage',
  // "NUMBER ... Default precision and scale are (38,0)" https://docs.snowflake.com/en/sql-reference/data-types-numeric#number
  bareDecimal: { precision: 38, scale: 0 },
  // an unquoted identifier is stored and returned in upper case; a quoted one exactly as written
  // https://docs.snowflake.com/en/sql-reference/identifiers-syntax
  resultName: (name) => (name === name.toUpperCase() ? name.toLowerCase() : name),
  // https://docs.snowflake.com/en/sql-reference/sql/copy-into-location
  unloadsToStage: true,
};

/** The dialect of an engine by name (plans made from a description, without a connection). */
export function dialectFor(engine: 'duckdb' | 'snowflake'): Dialect {
  return engine === 'snowflake' ? snowflakeDialect : duckdbDialect;
}
