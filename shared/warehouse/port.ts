/**
 * The Warehouse port. Handlers and the library talk to this interface only; which engine runs
 * (DuckDB locally, Snowflake in AWS) is decided once, in `./index.ts`.
 *
 * Values crossing the port are plain JSON-friendly JS: numbers, strings, booleans, null, and
 * timestamps/dates as ISO-like strings `YYYY-MM-DD HH:MM:SS[.fff]` / `YYYY-MM-DD` (naive UTC), so both
 * adapters return the same shapes for the same query. Numbers: by default integers beyond 2^53 are
 * strings (so one column may mix strings and numbers) and fixed-point decimals are the nearest
 * double; a stream asked for `exactNumbers` gets every exact numeric column as its exact text instead
 * (see StreamOptions), which is what writers of data for others use.
 *
 * Column names: a result row carries each column under `resultName(name, engine)`: on Snowflake a
 * name stored in upper case (what an unquoted identifier becomes there) in lower case, any other
 * spelling as it is; DuckDB keeps every name as it is. `describeTable` reports names exactly as the
 * catalog spells them (for quoting), and `resultName` says under which key rows will carry them.
 *
 * Parameters are positional `?` placeholders on both engines.
 */
import { dialectFor, type Dialect } from './dialect';
import { InvalidInputError } from '../errors';

export type Scalar = string | number | boolean | null;
export type Row = Record<string, Scalar>;
export type Param = string | number | boolean | null | Date;

export type Engine = 'duckdb' | 'snowflake';

/**
 * How a column behaves in aggregation (transfer) and typing. `other` is everything else: nested
 * types (arrays, lists, structs, maps, unions, VARIANT, OBJECT), binary, time of day, intervals,
 * geography and types this code does not know.
 */
export type ColumnKind = 'number' | 'date' | 'timestamp' | 'text' | 'boolean' | 'other';

export interface ColumnInfo {
  /** The name exactly as the catalog spells it (quote it as it is). */
  name: string;
  /** The engine's own type name, e.g. `DECIMAL(12,2)`, `TIMESTAMP_NTZ`, `VARCHAR`, `INTEGER[]`. */
  type: string;
  kind: ColumnKind;
}

/** A validated, unquoted table reference; build with `parseTableName` in `./identifiers.ts`. */
export interface TableRef {
  database?: string;
  schema?: string;
  table: string;
}

/** One table or view found in the catalog: its parts as the catalog spells them, and its columns. */
export interface TableDescription {
  database: string;
  schema: string;
  table: string;
  columns: ColumnInfo[];
}

export interface StreamOptions {
  /**
   * Exact numbers, one JS type per column: a value of a fixed-point column with a scale (DECIMAL,
   * NUMBER(p,s)) or of an integer column that can exceed 2^53 (BIGINT, HUGEINT, NUMBER(p,0) with
   * p > 15, ...) is its exact decimal text (`-12.50`: always the column's scale digits), whatever the
   * value; other numeric columns are JS numbers.
   */
  exactNumbers?: boolean;
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
  stream(sql: string, params?: readonly Param[], options?: StreamOptions): AsyncIterable<Row[]>;
  /** Run `fn` inside one transaction: all its statements commit together or not at all. */
  transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T>;
  /**
   * Columns of one table, in order, by introspection (never guessed from names). A reference that
   * names no table gives []; one that names several (an unqualified name in more than one schema)
   * is refused with an InvalidInputError naming them.
   */
  describeTable(table: TableRef): Promise<ColumnInfo[]>;
  /**
   * Every table or view `table` can name, with its columns: in the connection's database unless the
   * reference names one, in every schema (but INFORMATION_SCHEMA) when it names none. The reference
   * means what the same unquoted identifiers mean in the engine's SQL.
   */
  findTables(table: TableRef): Promise<TableDescription[]>;
  close(): Promise<void>;
}

/** The key under which result rows carry a column of this name (see the header). */
export function resultName(name: string, engine: Engine): string {
  return dialectFor(engine).resultName(name);
}

/** The one table of `matches`: none is [], several are refused naming each (for describeTable). */
export function onlyTable(matches: TableDescription[], ref: TableRef): ColumnInfo[] {
  if (matches.length <= 1) return matches[0]?.columns ?? [];
  const label = [ref.database, ref.schema, ref.table].filter(Boolean).join('.');
  const names = matches.map((m) => `${m.database}.${m.schema}.${m.table}`).join(', ');
  throw new InvalidInputError(`table name ${label} is ambiguous: it names ${names}; qualify it as schema.table`);
}

/** Exact decimal text of an unscaled integer: (-1250n, 2) -> '-12.50'. */
export function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

const DECIMAL_TEXT = /^(-?)(\d+)(?:\.(\d*))?$/;

/** A decimal literal as text with exactly `scale` fraction digits ('1.5', 2 -> '1.50'); anything else is an error. */
export function fixedScaleText(text: string, scale: number): string {
  const m = DECIMAL_TEXT.exec(text.trim());
  if (!m) throw new Error(`not an exact decimal number: ${JSON.stringify(text)}`);
  const fraction = m[3] ?? '';
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) {
    throw new Error(`${text} has more than ${scale} fraction digits`);
  }
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  const sign = m[1] && /[1-9]/.test(whole + fraction) ? '-' : '';
  return scale > 0 ? `${sign}${whole}.${fraction.slice(0, scale).padEnd(scale, '0')}` : `${sign}${whole}`;
}

/** A type name, optionally with `(p)` or `(p, s)`, and nothing after it (so `INTEGER[]` is not INTEGER). */
const scalar = (names: string): RegExp => new RegExp(`^(${names})(\\s*\\(\\s*\\d+\\s*(,\\s*\\d+\\s*)?\\))?$`);

const NUMBER = scalar(
  'TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|INT1|INT2|INT4|INT8|' +
    'FLOAT|FLOAT4|FLOAT8|REAL|DOUBLE|DOUBLE PRECISION|DECIMAL|NUMERIC|NUMBER|BYTEINT|FIXED',
);
const DATE = scalar('DATE');
const TIMESTAMP = scalar(
  'TIMESTAMP|DATETIME|TIMESTAMP_NTZ|TIMESTAMP_LTZ|TIMESTAMP_TZ|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMPTZ|' +
    'TIMESTAMP WITH TIME ZONE|TIMESTAMP WITHOUT TIME ZONE',
);
const TEXT = scalar('VARCHAR|CHAR|CHARACTER|CHARACTER VARYING|NCHAR|NVARCHAR|NVARCHAR2|BPCHAR|STRING|TEXT|UUID');
const BOOLEAN = scalar('BOOLEAN|BOOL');

/**
 * Kind of a column from its engine type name; shared by both adapters. The whole name must be a
 * scalar type: `INTEGER[]`, `DECIMAL(18,2)[]`, `STRUCT(...)`, `MAP(...)` are `other`, not numbers.
 * https://duckdb.org/docs/stable/sql/data_types/overview
 * https://docs.snowflake.com/en/sql-reference/intro-summary-data-types
 */
export function columnKind(type: string): ColumnKind {
  const t = type.trim().toUpperCase();
  if (NUMBER.test(t)) return 'number';
  if (DATE.test(t)) return 'date';
  if (TIMESTAMP.test(t)) return 'timestamp';
  if (TEXT.test(t) || /^ENUM\s*\(.*\)$/.test(t)) return 'text';
  if (BOOLEAN.test(t)) return 'boolean';
  return 'other';
}
