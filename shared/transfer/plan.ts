/**
 * The transfer plan: which role each column plays, and the SQL that does the work in the warehouse.
 * Pure functions only (no I/O), unit-tested as text.
 *
 * Roles, from the introspected column kinds (never from names):
 * - `month_key`: the partition column, truncated to the first of its month (`cast(date_trunc('month', c)
 *   as date)`). The named `date_column`, else the first date/timestamp column in table order.
 * - `month`: any other date/timestamp column, also truncated to the month and grouped.
 * - `sum`: numeric columns, summed. SUM ignores NULLs; a group whose values are all NULL sums to NULL.
 * - `group`: everything else (text, boolean, other), grouped as is (whitespace kept; NULLs form
 *   one group, as SQL GROUP BY does).
 * `sum_columns` makes exactly the listed numeric columns sums (other numeric columns are grouped);
 * `group_columns` groups the listed columns as they are (a numeric one is not summed, a date one is
 * not truncated); `columns` keeps only the listed columns (plus the month key) in the output, so a
 * high-cardinality column such as a free-text comment need not split every group.
 *
 * A row is blank, and removed before aggregating, when every column of the table (not only the kept
 * ones) is NULL or (text columns) empty or only whitespace (space, tab, LF, CR, VT, FF).
 *
 * Names: the table and its columns are quoted exactly as the catalog spells them (a column created as
 * `"order_date"` stays lower case on Snowflake). Output columns are named as the warehouse's result
 * rows name them (`resultName`: on Snowflake an upper-case catalog name in lower case, any other
 * spelling as it is), and the SQL aliases them so, in every mode: the streamed files, Snowflake's own
 * unload and the manifest carry the same names.
 *
 * Types: each output column has one `output_type` (the manifest states it), chosen so every format
 * can write it exactly: sums of integers and decimals are `DECIMAL(38,s)` (what SUM returns on both
 * engines), sums of floats `DOUBLE`, months `DATE`; grouped columns keep their own type. Columns of a
 * type the transfer cannot aggregate or write (arrays, structs, VARIANT, binary, ...) are refused by
 * name before any SQL runs, unless `columns` leaves them out.
 *
 * The SQL is portable between DuckDB and Snowflake: `date_trunc`, `trim(x, chars)`, `chr`, `cast`,
 * positional ORDER BY and `nulls last` mean the same on both.
 * https://docs.snowflake.com/en/sql-reference/functions/date_trunc
 * https://duckdb.org/docs/stable/sql/functions/date
 */
import { InvalidInputError } from '../errors';
import { dialectFor } from '../warehouse/dialect';
import { tableLabel } from '../warehouse/identifiers';
import { resultName, type ColumnInfo, type Engine, type TableRef } from '../warehouse/port';

export type ColumnRole = 'month_key' | 'month' | 'sum' | 'group';

export interface PlannedColumn extends ColumnInfo {
  role: ColumnRole;
  /** The output column's name (the SQL alias, the key in streamed rows, the manifest name). */
  output: string;
  /** The output type every format writes exactly: INTEGER, BIGINT, DECIMAL(p,s), DOUBLE, DATE, TIMESTAMP, BOOLEAN, VARCHAR. */
  outputType: string;
}

export interface PlanOptions {
  /** The table as the user named it (manifest and key prefix); default: the catalog's parts. */
  label?: string;
  /** Keep only these columns (the month key is always kept). Default: every column. */
  columns?: string[];
  dateColumn?: string;
  sumColumns?: string[];
  groupColumns?: string[];
}

export interface TransferPlan {
  /** The table, its parts as the catalog spells them (quoted as they are). */
  table: TableRef;
  /** The table as the user named it. */
  label: string;
  engine: Engine;
  /** The output columns, in table order. */
  columns: PlannedColumn[];
  /** Every column of the table: a row is blank when all of them are (see blankRowPredicate). */
  tableColumns: ColumnInfo[];
  /** Name of the month key column (as introspected). */
  monthKey: string;
  /** Its output name. */
  monthKeyOutput: string;
}

/** The partition of rows whose month key is NULL (they are written last). */
export const NULL_MONTH_PARTITION = 'month=__null__';

/** ASCII whitespace, the characters a "blank" text value may consist of. */
const WHITESPACE_CODES = [32, 9, 10, 13, 11, 12];
const WHITESPACE_SQL = WHITESPACE_CODES.map((c) => `chr(${c})`).join(' || ');

/**
 * Quote a name exactly as the catalog spells it. Column and table names come from introspection, not
 * from the user (user-given names are only matched against them), so they may be any identifier,
 * including quoted lower-case, mixed-case or spaced ones; doubling `"` is the SQL standard escape on
 * both engines. https://docs.snowflake.com/en/sql-reference/identifiers-syntax
 */
export function quoteColumn(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteTableExact(table: TableRef): string {
  return [table.database, table.schema, table.table]
    .filter((p): p is string => p !== undefined)
    .map(quoteColumn)
    .join('.');
}

/** `(p, s)` of a fixed-point type name, if it has them. */
function precisionScale(type: string): { precision: number; scale: number } | undefined {
  const m = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$/.exec(type);
  return m ? { precision: Number(m[1]), scale: Number(m[2] ?? 0) } : undefined;
}

const FLOAT_TYPE = /^(FLOAT|FLOAT4|FLOAT8|REAL|DOUBLE|DOUBLE PRECISION)\b/i;
const SMALL_INT_TYPE = /^(TINYINT|SMALLINT|INTEGER|INT|UTINYINT|USMALLINT|INT1|INT2|INT4|BYTEINT)$/i;
const BIG_INT_TYPE = /^(BIGINT|INT8|UINTEGER)$/i;
const WIDE_INT_TYPE = /^(UBIGINT|HUGEINT|UHUGEINT)$/i;

/** Scale of an exact numeric type (0 for integers); undefined for floating point. */
function exactScale(type: string, engine: Engine): number | undefined {
  const t = type.trim();
  if (FLOAT_TYPE.test(t)) return undefined;
  if (SMALL_INT_TYPE.test(t) || BIG_INT_TYPE.test(t) || WIDE_INT_TYPE.test(t)) return 0;
  // DuckDB's bare DECIMAL is DECIMAL(18,3), Snowflake's bare NUMBER is NUMBER(38,0)
  return precisionScale(t)?.scale ?? dialectFor(engine).bareDecimal.scale;
}

/** The type a numeric column keeps when it is grouped, as the encoders name it. */
function groupedNumberType(type: string, engine: Engine): string {
  const t = type.trim();
  if (FLOAT_TYPE.test(t)) return 'DOUBLE';
  if (SMALL_INT_TYPE.test(t)) return 'INTEGER';
  if (BIG_INT_TYPE.test(t)) return 'BIGINT';
  if (WIDE_INT_TYPE.test(t)) return 'DECIMAL(38,0)';
  const ps = precisionScale(t) ?? dialectFor(engine).bareDecimal;
  if (ps.scale === 0 && ps.precision <= 18) return 'BIGINT';
  return `DECIMAL(${ps.precision},${ps.scale})`;
}

function outputTypeOf(c: ColumnInfo, role: ColumnRole, engine: Engine): string {
  if (role === 'month_key' || role === 'month') return 'DATE';
  if (role === 'sum') {
    const scale = exactScale(c.type, engine);
    return scale === undefined ? 'DOUBLE' : `DECIMAL(38,${scale})`;
  }
  switch (c.kind) {
    case 'number':
      return groupedNumberType(c.type, engine);
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'VARCHAR';
  }
}

export function planTransfer(
  table: TableRef,
  engine: Engine,
  columns: ColumnInfo[],
  options: PlanOptions = {},
): TransferPlan {
  const label = options.label ?? tableLabel(table);
  if (columns.length === 0) {
    throw new InvalidInputError(`table ${label} does not exist or has no columns visible to this role`);
  }
  const find = (name: string, option: string): ColumnInfo => {
    const match =
      columns.find((c) => c.name === name) ??
      columns.find((c) => c.name.toUpperCase() === name.toUpperCase());
    if (!match) {
      throw new InvalidInputError(
        `${option}: ${JSON.stringify(name)} is not a column of ${label} (columns: ${columns.map((c) => c.name).join(', ')})`,
      );
    }
    return match;
  };

  const kept = options.columns === undefined ? undefined : keptColumns(options.columns, find);
  const inOutput = (name: string, option: string): string => {
    if (kept && !kept.has(name)) {
      throw new InvalidInputError(`${option}: ${name} is not among the kept columns (columns option)`);
    }
    return name;
  };
  const sumNames = options.sumColumns?.map((n) => inOutput(find(n, 'sum_columns').name, 'sum_columns'));
  const groupNames = new Set(
    options.groupColumns?.map((n) => inOutput(find(n, 'group_columns').name, 'group_columns')) ?? [],
  );
  for (const name of sumNames ?? []) {
    const column = columns.find((c) => c.name === name)!;
    if (column.kind !== 'number') {
      throw new InvalidInputError(`sum_columns: ${name} is ${column.type}, not a numeric column`);
    }
    if (groupNames.has(name))
      throw new InvalidInputError(`${name} is listed in both sum_columns and group_columns`);
  }

  let monthKey: ColumnInfo | undefined;
  if (options.dateColumn !== undefined) {
    monthKey = find(options.dateColumn, 'date_column');
    if (monthKey.kind !== 'date' && monthKey.kind !== 'timestamp') {
      throw new InvalidInputError(
        `date_column: ${monthKey.name} is ${monthKey.type}, not a date or timestamp column`,
      );
    }
    if (groupNames.has(monthKey.name) || sumNames?.includes(monthKey.name)) {
      throw new InvalidInputError(
        `date_column ${monthKey.name} cannot also be in sum_columns or group_columns`,
      );
    }
  } else {
    const candidate = (c: ColumnInfo) =>
      (c.kind === 'date' || c.kind === 'timestamp') && !groupNames.has(c.name);
    // with a column selection, a kept date column is the natural key; else the table's first one
    monthKey = columns.find((c) => candidate(c) && (kept?.has(c.name) ?? true)) ?? columns.find(candidate);
  }
  if (!monthKey) {
    throw new InvalidInputError(
      `table ${label} has no date or timestamp column to aggregate by month ` +
        `(columns: ${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`,
    );
  }

  const output = kept ? columns.filter((c) => kept.has(c.name) || c.name === monthKey.name) : columns;
  const unsupported = output.filter((c) => c.kind === 'other');
  if (unsupported.length > 0) {
    throw new InvalidInputError(
      `table ${label} has columns the transfer cannot aggregate or write: ` +
        `${unsupported.map((c) => `${c.name} ${c.type}`).join(', ')} ` +
        '(supported: numbers, dates, timestamps, text, booleans); leave them out with the columns option',
    );
  }
  const planned = output.map((c): PlannedColumn => {
    let role: ColumnRole;
    if (c.name === monthKey.name) role = 'month_key';
    else if (groupNames.has(c.name)) role = 'group';
    else if (c.kind === 'date' || c.kind === 'timestamp') role = 'month';
    else if (c.kind === 'number')
      role = sumNames === undefined || sumNames.includes(c.name) ? 'sum' : 'group';
    else role = 'group';
    const name = resultName(c.name, engine);
    return { ...c, role, output: name, outputType: outputTypeOf(c, role, engine) };
  });
  const seen = new Map<string, string>();
  for (const c of planned) {
    const other = seen.get(c.output.toLowerCase());
    if (other !== undefined) {
      throw new InvalidInputError(
        `columns ${other} and ${c.name} of ${label} would both be written as ${c.output}: keep only one with the columns option`,
      );
    }
    seen.set(c.output.toLowerCase(), c.name);
  }
  return {
    table,
    label,
    engine,
    columns: planned,
    tableColumns: columns,
    monthKey: monthKey.name,
    monthKeyOutput: planned.find((c) => c.role === 'month_key')!.output,
  };
}

/** The `columns` option resolved to catalog names; an empty or repeated list is an error. */
function keptColumns(names: string[], find: (name: string, option: string) => ColumnInfo): Set<string> {
  if (names.length === 0)
    throw new InvalidInputError('columns: name at least one column (or leave it out for all)');
  const kept = new Set<string>();
  for (const name of names) {
    const actual = find(name, 'columns').name;
    if (kept.has(actual)) throw new InvalidInputError(`columns: ${actual} is listed twice`);
    kept.add(actual);
  }
  return kept;
}

/** The output expression of a column (aliased to its output name). */
function selectExpression(c: PlannedColumn): string {
  const q = quoteColumn(c.name);
  switch (c.role) {
    case 'month_key':
    case 'month':
      return `cast(date_trunc('month', ${q}) as date)`;
    case 'sum':
      return `sum(${q})`;
    default:
      return q;
  }
}

/** True for a row whose every column is NULL or whitespace-only text. */
export function blankRowPredicate(columns: ColumnInfo[]): string {
  return columns
    .map((c) => {
      const q = quoteColumn(c.name);
      return c.kind === 'text' ? `(${q} is null or trim(${q}, ${WHITESPACE_SQL}) = '')` : `${q} is null`;
    })
    .join('\n     and ');
}

/**
 * The aggregation: blank rows removed, months truncated, numbers summed, the rest grouped, ordered
 * by the month key (NULL month last) so the caller can write one month at a time.
 */
export function buildAggregateSql(plan: TransferPlan, opts: { orderByMonth?: boolean } = {}): string {
  const select = plan.columns.map((c) => `${selectExpression(c)} as ${quoteColumn(c.output)}`);
  const groupBy = plan.columns.filter((c) => c.role !== 'sum').map(selectExpression);
  const keyPosition = plan.columns.findIndex((c) => c.name === plan.monthKey) + 1;
  const lines = [
    `select ${select.join(',\n       ')}`,
    `from ${quoteTableExact(plan.table)}`,
    `where not (${blankRowPredicate(plan.tableColumns)})`,
  ];
  if (groupBy.length > 0) lines.push(`group by ${groupBy.join(', ')}`);
  if (opts.orderByMonth ?? true) lines.push(`order by ${keyPosition} nulls last`);
  return lines.join('\n');
}

/** `month=YYYY-MM` for a month key value from the port (`YYYY-MM-DD`), `month=__null__` for NULL. */
export function monthPartition(value: unknown): string {
  if (value === null || value === undefined) return NULL_MONTH_PARTITION;
  const match = /^(\d{4}-\d{2})-\d{2}/.exec(String(value));
  if (!match) throw new InvalidInputError(`unexpected month key value ${JSON.stringify(value)}`);
  return `month=${match[1]}`;
}

export interface UnloadSqlOptions {
  /** Stage location with path, e.g. `@RAW.EXPORT_STAGE/transfer/ORDERS_100K/run-1/`. */
  location: string;
  format: 'jsonl.gz' | 'csv.gz' | 'parquet';
  /** Upper bound per file in bytes (Snowflake's MAX_FILE_SIZE; default 16 MB, max 5 GB). */
  maxFileSize: number;
}

/**
 * Snowflake unload of the same aggregation: Snowflake writes the per-month files itself, in
 * parallel, straight to the stage's bucket; nothing streams through the Lambda.
 * - `PARTITION BY` an expression gives the `month=YYYY-MM/` prefixes (NULL month -> `month=__null__`).
 * - JSON unloads need exactly one column of type OBJECT: `object_construct_keep_null(*)` keeps
 *   NULL columns as JSON nulls, like the streamed format, and takes its keys from the aggregation's
 *   aliases (the output names), so the files carry the streamed mode's names; the partition reads
 *   the month back out of that object. CSV headers and Parquet columns take the aliases too.
 * - `DETAILED_OUTPUT = TRUE` returns one row per file (FILE_NAME, FILE_SIZE, ROW_COUNT): the manifest.
 * https://docs.snowflake.com/en/sql-reference/sql/copy-into-location
 * https://docs.snowflake.com/en/user-guide/data-unload-considerations
 */
export function buildUnloadSql(plan: TransferPlan, opts: UnloadSqlOptions): string {
  if (!dialectFor(plan.engine).unloadsToStage) throw new InvalidInputError('unload mode needs the Snowflake warehouse');
  if (!/^@[A-Za-z0-9_$."]+(\/[A-Za-z0-9_.=$-]+)*\/$/.test(opts.location)) {
    throw new InvalidInputError(`invalid stage location ${JSON.stringify(opts.location)}`);
  }
  if (!Number.isSafeInteger(opts.maxFileSize) || opts.maxFileSize < 1 || opts.maxFileSize > 5 * 1024 ** 3) {
    throw new InvalidInputError('max_file_size must be between 1 byte and 5 GB');
  }
  const aggregate = buildAggregateSql(plan, { orderByMonth: false });
  // the aggregation's output column, by its alias (the same name the streamed files use)
  const key = quoteColumn(plan.monthKeyOutput);
  const json = opts.format === 'jsonl.gz';
  // JSON: the single OBJECT column is all there is, so the month is read back out of it
  const monthExpr = json ? `row_object:${key}::date` : key;
  const partition = `('month=' || coalesce(to_varchar(${monthExpr}, 'YYYY-MM'), '__null__'))`;
  const fileFormat = {
    'jsonl.gz': 'type = json compression = gzip',
    // NULL unloads as an empty field and '' as "" (as in the streamed CSV)
    'csv.gz': `type = csv compression = gzip field_optionally_enclosed_by = '"' null_if = ('') empty_field_as_null = false`,
    parquet: 'type = parquet compression = snappy',
  }[opts.format];
  const from = json
    ? `(select object_construct_keep_null(*) as row_object from (\n${aggregate}\n))`
    : `(\n${aggregate}\n)`;
  return [
    `copy into ${opts.location}`,
    `from ${from}`,
    `partition by ${partition}`,
    `file_format = (${fileFormat})`,
    `max_file_size = ${opts.maxFileSize}`,
    `header = ${json ? 'false' : 'true'}`,
    'detailed_output = true',
  ].join('\n');
}
