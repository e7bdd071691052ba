/**
 * SQL of the Snowflake ingest path, as small pure functions (tested as text in
 * test/unit/snowflake-sql.test.ts). Execution lives in ./snowflake-loader.ts.
 *
 * The flow, per dataset and batch:
 *   1. COPY the batch's files into the dataset's landing table, one row per physical line
 *      (`lines_format`, sql/snowflake/20_file_formats.sql), with the file name, line number and the
 *      object's last-modified time taken from the stage's METADATA$ columns.
 *   2. Per file: the row rules (UDFs of sql/snowflake/50_functions.sql, the rules of ./parse.ts) pick
 *      the quarantined lines; then one transaction replaces what the key loaded before, inserts the
 *      good rows from the landing table, the quarantine, deletes the consumed landing rows and writes
 *      the ledger (./ledger.ts).
 *
 * Why not VALIDATE(): VALIDATE reads back the rows a COPY rejected, but fails for a COPY that
 * transforms data (a SELECT in the FROM, which is the only way to get METADATA$FILENAME and
 * METADATA$FILE_ROW_NUMBER into a multi-file COPY), and INCLUDE_METADATA would need
 * MATCH_BY_COLUMN_NAME, which for CSV reads the first line as a header (a JSON Lines file has none)
 * and for JSON loses the line's raw text and mis-numbers lines after a broken one. With one text
 * column per line nothing can be rejected for its content: every line lands, and the rules run
 * afterwards on text that is exactly the file's. What COPY can still reject is bytes that are not
 * UTF-8 or a corrupt gzip, which fail the whole file (docs/ARCHITECTURE.md §5: "not text"); the COPY
 * result row (status, errors_seen, first_error, first_error_line) says so per file, and
 * COPY_HISTORY says so for files COPY skipped because it had loaded them before.
 * https://docs.snowflake.com/en/sql-reference/functions/validate
 * https://docs.snowflake.com/en/user-guide/querying-metadata
 * https://docs.snowflake.com/en/sql-reference/sql/copy-into-table
 *
 * Object versions: a stage reads the current object under a key. The landing rows of one version
 * are told apart by METADATA$FILE_LAST_MODIFIED (compared at whole seconds, S3's precision), which
 * the loader learns with a HEAD request together with the ETag it checks against the event.
 */
import type { Dataset } from '../config';
import { ConfigError } from '../errors';

/** A Snowflake string constant: quotes doubled, backslashes escaped (Snowflake reads '\' as an escape). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const DOTTED = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$/;

/** Names that come from configuration, checked before they are pasted into SQL. */
export interface SnowflakeNames {
  /** Database, e.g. SHOPPING_PATTERNS. */
  database: string;
  /** Landing stage, schema-qualified, e.g. RAW.LANDING_STAGE. */
  stage: string;
}

export function checkNames(names: SnowflakeNames): SnowflakeNames {
  if (!IDENT.test(names.database)) throw new ConfigError(`SNOWFLAKE_DATABASE ${JSON.stringify(names.database)} is not an identifier`);
  if (!DOTTED.test(names.stage)) throw new ConfigError(`SNOWFLAKE_STAGE ${JSON.stringify(names.stage)} is not schema.stage`);
  return names;
}

/** The landing table each dataset's files are copied into (sql/snowflake/40_tables.sql). */
export function landingTable(names: SnowflakeNames, dataset: Dataset): string {
  return `${names.database}.raw.landing_${dataset}`;
}

export function pipeName(names: SnowflakeNames, dataset: Dataset): string {
  return `${names.database}.raw.${dataset}_pipe`;
}

/** COPY accepts at most 1,000 names in FILES = (...). */
export const MAX_FILES_PER_COPY = 1000;

/**
 * One COPY of a batch's files into the landing table. `keys` are paths relative to the stage (the
 * stage is the bucket root, so: the S3 keys). ON_ERROR = CONTINUE: a file that fails does not stop the
 * others. No FORCE, no LOAD_UNCERTAIN_FILES: Snowflake's load metadata is what keeps a file from landing
 * twice; the ledger decides what is loaded.
 */
export function copySql(names: SnowflakeNames, dataset: Dataset, keys: readonly string[]): string {
  if (keys.length === 0) throw new ConfigError('copySql needs at least one file');
  if (keys.length > MAX_FILES_PER_COPY) throw new ConfigError(`copySql takes at most ${MAX_FILES_PER_COPY} files, got ${keys.length}`);
  const { database, stage } = checkNames(names);
  return [
    `copy into ${landingTable(names, dataset)} (file_key, line_number, line, file_last_modified, file_content_key)`,
    `from (`,
    `  select metadata$filename, metadata$file_row_number, $1, metadata$file_last_modified, metadata$file_content_key`,
    `  from @${database}.${stage}`,
    `)`,
    `files = (${keys.map(sqlString).join(', ')})`,
    `file_format = (format_name = '${database}.raw.lines_format')`,
    `on_error = continue`,
  ].join('\n');
}

/** Ask the dataset's pipe to load one object (Snowpipe loads asynchronously; files staged < 7 days ago). */
export function refreshPipeSql(names: SnowflakeNames, dataset: Dataset, key: string): string {
  checkNames(names);
  return `alter pipe ${pipeName(names, dataset)} refresh prefix = ${sqlString(key)}`;
}

/**
 * The last 14 days of load history of the landing table for some files, COPY and Snowpipe alike
 * (INFORMATION_SCHEMA.COPY_HISTORY has no latency, unlike the ACCOUNT_USAGE view). File names are
 * matched both as stage-relative paths and as full s3:// URLs.
 * https://docs.snowflake.com/en/sql-reference/functions/copy_history
 */
export function copyHistorySql(names: SnowflakeNames, dataset: Dataset, files: number): { sql: string } {
  const { database } = checkNames(names);
  const marks = Array.from({ length: files }, () => '?').join(', ');
  return {
    sql: [
      `select file_name, status, row_count, row_parsed, first_error_message, pipe_name,`,
      `       to_varchar(convert_timezone('UTC', last_load_time)::timestamp_ntz, 'YYYY-MM-DD HH24:MI:SS') as last_load_time`,
      `  from table(${database}.information_schema.copy_history(`,
      `         table_name => '${database}.RAW.LANDING_${dataset.toUpperCase()}',`,
      `         start_time => dateadd(day, -14, current_timestamp())))`,
      ` where file_name in (${marks}) or file_name in (${marks})`,
      ` order by last_load_time`,
    ].join('\n'),
  };
}

/** Binds of copyHistorySql: the keys, then the same keys as s3:// URLs. */
export function copyHistoryBinds(bucket: string, keys: readonly string[]): string[] {
  return [...keys, ...keys.map((k) => `s3://${bucket}/${k}`)];
}

/** 's3://bucket/a/b.json' -> 'a/b.json'; a stage-relative path is returned as is. */
export function stagePath(file: string): string {
  const m = /^s3:\/\/[^/]+\/(.*)$/.exec(file);
  return m ? (m[1] as string) : file;
}

/** A SQL statement with its `?` binds, in text order. */
export interface Bound {
  sql: string;
  binds: (string | number | null)[];
}

/** One object version to finish: its key, Last-Modified second (UTC) and ledger version. */
export interface LandedVersion {
  key: string;
  /** 'YYYY-MM-DD HH:MM:SS', the object's Last-Modified in UTC (S3 keeps whole seconds). */
  lastModified: string;
  /** The version identity the ledger and the raw rows carry (versionId or ETag). */
  version: string;
}

/**
 * `versions` (the batch's object versions as a VALUES list) and `landed` (their lines, joined on key
 * and Last-Modified second): the start of every per-batch statement, so one statement serves all files.
 */
function landedCtes(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[]): Bound {
  if (versions.length === 0) throw new ConfigError('no file versions given');
  return {
    sql: `versions (file_key, last_modified, version) as (
  select column1, column2::timestamp_ntz, column3 from values ${versions.map(() => '(?, ?, ?)').join(', ')}
),
landed as (
  select l.file_key, l.line_number, l.line, v.version
    from ${landingTable(names, dataset)} l
    join versions v on l.file_key = v.file_key and date_trunc('second', l.file_last_modified) = v.last_modified
)`,
    binds: versions.flatMap((v) => [v.key, v.lastModified, v.version]),
  };
}

/** Per file: how many lines landed, and how many hold a NUL byte (binary, not text). */
export function landedSummarySql(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[]): Bound {
  checkNames(names);
  const c = landedCtes(names, dataset, versions);
  return {
    sql: `with ${c.sql}
select file_key, count(*) as lines, count_if(contains(line, chr(0))) as nul_lines
  from landed
 group by file_key`,
    binds: c.binds,
  };
}

/** Transactions: every landed line with its verdict (null for a blank line). */
function checkedCte(names: SnowflakeNames): string {
  return `checked as (
  select file_key, line_number, version, ${names.database}.raw.check_transaction_line(line) as v
    from landed
)`;
}

/** Customers/products: each file's CSV records with their verdicts, from the table function. */
function recordsCte(names: SnowflakeNames, dataset: 'customers' | 'products'): string {
  return `records as (
  select l.file_key, l.version, r.line_number, r.status, r.reason, r.raw_text, r.fields
    from landed l,
         table(${names.database}.raw.parse_snapshot_csv('${dataset}', l.line, l.line_number::double)
               over (partition by l.file_key order by l.line_number)) r
)`;
}

/**
 * Lines to quarantine (file_key, line_number, status, raw_text, reason), by file and line; for CSV
 * also the 'unreadable' verdict that fails a whole file (wrong header, unclosed quote).
 */
export function rejectedLinesSql(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[]): Bound {
  checkNames(names);
  const c = landedCtes(names, dataset, versions);
  if (dataset === 'transactions') {
    return {
      sql: `with ${c.sql},
${checkedCte(names)}
select file_key, line_number, 'quarantined' as status, v:raw::varchar as raw_text, v:reason::varchar as reason
  from checked
 where v is not null and not v:ok::boolean
 order by file_key, line_number`,
      binds: c.binds,
    };
  }
  return {
    sql: `with ${c.sql},
${recordsCte(names, dataset)}
select file_key, line_number, status, raw_text, reason
  from records
 where status in ('quarantined', 'unreadable')
 order by file_key, line_number`,
    binds: c.binds,
  };
}

/**
 * INSERT ... SELECT of the good rows of the batch's versions into the raw tables, in the order
 * ledger.ts's clearPreviousAll deletes them (transactions: raw.transactions, then
 * raw.transaction_items). transaction_id is '<key>:<line>', as on DuckDB.
 */
export function insertRowsSql(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[], loadedAt: string): Bound[] {
  checkNames(names);
  const db = names.database;
  const c = () => landedCtes(names, dataset, versions);
  if (dataset === 'transactions') {
    const c1 = c();
    const c2 = c();
    return [
      {
        sql: `insert into ${db}.raw.transactions
  (transaction_id, customer_id, purchased_at, basket_size, _file_key, _file_version, _line_number, _loaded_at)
with ${c1.sql},
${checkedCte(names)}
select file_key || ':' || line_number, v:customer_id::varchar, v:purchased_at::varchar::timestamp_ntz, array_size(v:basket),
       file_key, version, line_number, ?::timestamp_ntz
  from checked
 where v:ok::boolean`,
        binds: [...c1.binds, loadedAt],
      },
      {
        sql: `insert into ${db}.raw.transaction_items
  (transaction_id, item_index, customer_id, product_id, price, purchased_at, _file_key, _file_version)
with ${c2.sql},
${checkedCte(names)}
select k.file_key || ':' || k.line_number, i.index + 1, k.v:customer_id::varchar, i.value:product_id::varchar,
       i.value:price::number(18, 2), k.v:purchased_at::varchar::timestamp_ntz, k.file_key, k.version
  from checked k, lateral flatten(input => k.v:basket) i
 where k.v:ok::boolean`,
        binds: c2.binds,
      },
    ];
  }
  const r = c();
  if (dataset === 'customers') {
    return [
      {
        sql: `insert into ${db}.raw.customers (customer_id, loyalty_score, _file_key, _file_version, _line_number, _loaded_at)
with ${r.sql},
${recordsCte(names, dataset)}
select fields[0]::varchar, fields[1]::integer, file_key, version, line_number::integer, ?::timestamp_ntz
  from records
 where status = 'ok'`,
        binds: [...r.binds, loadedAt],
      },
    ];
  }
  return [
    {
      sql: `insert into ${db}.raw.products
  (product_id, product_description, product_category, _file_key, _file_version, _line_number, _loaded_at)
with ${r.sql},
${recordsCte(names, dataset)}
select fields[0]::varchar, fields[1]::varchar, fields[2]::varchar, file_key, version, line_number::integer, ?::timestamp_ntz
  from records
 where status = 'ok'`,
      binds: [...r.binds, loadedAt],
    },
  ];
}

/** Rows the transaction just wrote, per file (the first raw table of the dataset). */
export function loadedCountsSql(names: SnowflakeNames, dataset: Dataset, keys: readonly string[]): Bound {
  checkNames(names);
  const table = dataset === 'transactions' ? 'transactions' : dataset;
  return {
    sql: `select _file_key as file_key, count(*) as n
  from ${names.database}.raw.${table}
 where _file_key in (${keys.map(() => '?').join(', ')})
 group by _file_key`,
    binds: [...keys],
  };
}

function deleteLanding(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[], op: '<=' | '='): Bound {
  checkNames(names);
  if (versions.length === 0) throw new ConfigError('no file versions given');
  return {
    sql: `delete from ${landingTable(names, dataset)} l
 using (select column1 as file_key, column2::timestamp_ntz as last_modified from values ${versions.map(() => '(?, ?)').join(', ')}) v
 where l.file_key = v.file_key and date_trunc('second', l.file_last_modified) ${op} v.last_modified`,
    binds: versions.flatMap((v) => [v.key, v.lastModified]),
  };
}

/**
 * Remove the landing lines of these versions and of any older version of their keys (a version that
 * was superseded before it was processed leaves its lines behind). Newer versions' lines stay.
 */
export function deleteLandedSql(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[]): Bound {
  return deleteLanding(names, dataset, versions, '<=');
}

/** Only these versions' landing lines (files that failed: their partial lines must not linger). */
export function deleteVersionSql(names: SnowflakeNames, dataset: Dataset, versions: readonly LandedVersion[]): Bound {
  return deleteLanding(names, dataset, versions, '=');
}
