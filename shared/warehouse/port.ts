/**
 * The Warehouse port. Handlers and the library talk to this interface only; which engine runs
 * (DuckDB locally, Snowflake in AWS) is decided once, in `./index.ts`.
 *
 * Values crossing the port are plain JSON-friendly JS: numbers (integers beyond 2^53 as strings),
 * strings, booleans, null, and timestamps/dates as ISO-like strings `YYYY-MM-DD HH:MM:SS[.fff]` /
 * `YYYY-MM-DD` (naive UTC), so both adapters return the same shapes for the same query.
 *
 * Parameters are positional `?` placeholders on both engines.
 */
import type { Dialect } from './dialect';

export type Scalar = string | number | boolean | null;
export type Row = Record<string, Scalar>;
export type Param = string | number | boolean | null | Date;

export type Engine = 'duckdb' | 'snowflake';

/** How a column behaves in aggregation (transfer) and typing. */
export type ColumnKind = 'number' | 'date' | 'timestamp' | 'text' | 'boolean' | 'other';

export interface ColumnInfo {
  name: string;
  /** The engine's own type name, e.g. `DECIMAL(12,2)`, `TIMESTAMP_NTZ`, `VARCHAR`. */
  type: string;
  kind: ColumnKind;
}

/** A validated, unquoted table reference; build with `parseTableName` in `./identifiers.ts`. */
export interface TableRef {
  database?: string;
  schema?: string;
  table: string;
}

export interface Warehouse {
  /** For messages and logs; callers ask `dialect` what the engine can do, never compare this. */
  readonly engine: Engine;
  /** The engine's SQL types, DDL forms and capabilities (./dialect.ts). */
  readonly dialect: Dialect;
  /** Run a statement and return all rows (for small results). */
  query<T extends Row = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  /** Run a statement, discard rows. Returns rows affected where the engine reports it. */
  execute(sql: string, params?: readonly Param[]): Promise<number>;
  /** Run a script of several `;`-separated statements (migrations, models). No parameters. */
  executeScript(sql: string): Promise<void>;
  /** Stream a large result in batches of rows without buffering it whole. */
  stream(sql: string, params?: readonly Param[]): AsyncIterable<Row[]>;
  /** Run `fn` inside one transaction: all its statements commit together or not at all. */
  transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T>;
  /** Columns of a table, in order, by introspection (never guessed from names). */
  describeTable(table: TableRef): Promise<ColumnInfo[]>;
  close(): Promise<void>;
}

/** Kind of a column from its engine type name; shared by both adapters. */
export function columnKind(type: string): ColumnKind {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC|NUMBER|BYTEINT|FLOAT4|FLOAT8|DOUBLE PRECISION|FIXED)\b/.test(t))
    return 'number';
  if (/^DATE\b/.test(t)) return 'date';
  if (/^(TIMESTAMP|DATETIME)/.test(t)) return 'timestamp';
  if (/^(VARCHAR|CHAR|CHARACTER|STRING|TEXT|UUID|ENUM)/.test(t)) return 'text';
  if (/^BOOL/.test(t)) return 'boolean';
  return 'other';
}
