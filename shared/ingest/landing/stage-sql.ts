/**
 * SQL of the Snowflake landing (./stage.ts), as small pure functions tested as text; and the DDL it
 * needs, rendered from the dataset declarations for migrate (landing table, one rules table function
 * per dataset, one pipe per dataset).
 *
 * The flow per dataset and batch:
 *   1. COPY the batch's files from the external stage into raw.landing_lines, one row per physical line
 *      (the `lines_format` of sql/snowflake/20_file_formats.sql: no field splitting, no quoting), with the
 *      file name, line number and the object's last-modified time from the stage's METADATA$ columns.
 *      https://docs.snowflake.com/en/sql-reference/sql/copy-into-table
 *      https://docs.snowflake.com/en/user-guide/querying-metadata
 *   2. One multi-table INSERT judges every landed line of the batch once, with the dataset's table
 *      function (the rules of shared/ingest/rules/judge.ts, bundled by migrate), and appends the good
 *      rows to the raw tables and the rest to the quarantine: one statement, one pass over the lines.
 *      https://docs.snowflake.com/en/sql-reference/sql/insert-multi-table
 *      The function is called over (partition by the file's load, order by line number): each file's
 *      lines reach one instance in order, and the rows it writes from processRow() are joined to the
 *      input row they came from. Rows written from finalize() keep only the PARTITION BY columns (every
 *      other input column is NULL), which is why all a row needs from its file is its load id, the
 *      PARTITION BY column (the load id leads to bucket, key and version in the ledger).
 *      https://docs.snowflake.com/en/developer-guide/udf/javascript/udf-javascript-tabular-functions
 *
 * Landing lines stay 65 days, one more than COPY's load metadata (files loaded in the last 64 days are
 * skipped by COPY), so a file COPY skips still has its lines; compaction removes older ones.
 * https://docs.snowflake.com/en/user-guide/data-load-considerations-load#load-metadata
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetRegistry } from '../../datasets';
import type { DatasetDecl } from '../../datasets/types';
import { ConfigError } from '../../errors';
import { sqlRoot } from '../../paths';
import { snowflakeDialect } from '../../warehouse/dialect';
import { firstRecordTable } from '../ledger';
import type { JudgeSpec } from '../rules/spec';
import { ingestSchemaStatements, storedColumns } from '../schema';

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

/** A SQL statement with its `?` binds, in text order. */
export interface Bound {
  sql: string;
  binds: (string | number | null)[];
}

/** COPY accepts at most 1,000 names in FILES = (...). */
export const MAX_FILES_PER_COPY = 1000;

const COPY_SELECT = `select metadata$filename, metadata$file_row_number, $1, metadata$file_last_modified, metadata$file_content_key`;

/**
 * One COPY of a batch's files into the landing table. `keys` are paths relative to the stage (the
 * stage is the bucket root, so: the S3 keys). ON_ERROR = CONTINUE: a file that fails does not stop the
 * others. No LOAD_UNCERTAIN_FILES; FORCE only for a file whose lines are proven gone (./stage.ts).
 */
export function copySql(names: SnowflakeNames, keys: readonly string[], opts: { force?: boolean } = {}): string {
  if (keys.length === 0) throw new ConfigError('copySql needs at least one file');
  if (keys.length > MAX_FILES_PER_COPY) throw new ConfigError(`copySql takes at most ${MAX_FILES_PER_COPY} files, got ${keys.length}`);
  const { database, stage } = checkNames(names);
  return [
    `copy into ${database}.raw.landing_lines (file_key, line_number, line, file_last_modified, file_content_key)`,
    `from (`,
    `  ${COPY_SELECT}`,
    `  from @${database}.${stage}`,
    `)`,
    `files = (${keys.map(sqlString).join(', ')})`,
    `file_format = (format_name = '${database}.raw.lines_format')`,
    `on_error = continue`,
    ...(opts.force ? ['force = true'] : []),
  ].join('\n');
}

export function pipeName(names: SnowflakeNames, dataset: string): string {
  return `${checkNames(names).database}.raw.${dataset}_pipe`;
}

/**
 * Ask the dataset's pipe to load one object (files staged in the last 7 days only). Snowpipe loads
 * asynchronously: its documented latency is minutes, so the caller hands the file over and finishes
 * it on a later delivery. https://docs.snowflake.com/en/sql-reference/sql/alter-pipe
 */
export function refreshPipeSql(names: SnowflakeNames, dataset: string, key: string): string {
  return `alter pipe ${pipeName(names, dataset)} refresh prefix = ${sqlString(key)}`;
}

/**
 * The last 14 days of load history of the landing table for some files, COPY and Snowpipe alike
 * (the INFORMATION_SCHEMA table function has no latency, unlike the ACCOUNT_USAGE view). File names
 * are matched both as stage-relative paths and as full s3:// URLs.
 * https://docs.snowflake.com/en/sql-reference/functions/copy_history
 */
export function copyHistorySql(names: SnowflakeNames, bucket: string, keys: readonly string[]): Bound {
  const { database } = checkNames(names);
  const marks = keys.map(() => '?').join(', ');
  return {
    sql: [
      `select file_name, status, row_count, first_error_message,`,
      `       to_varchar(convert_timezone('UTC', last_load_time)::timestamp_ntz, 'YYYY-MM-DD HH24:MI:SS') as last_load_time`,
      `  from table(${database}.information_schema.copy_history(`,
      `         table_name => '${database}.RAW.LANDING_LINES',`,
      `         start_time => dateadd(day, -14, current_timestamp())))`,
      ` where file_name in (${marks}) or file_name in (${marks})`,
      ` order by last_load_time`,
    ].join('\n'),
    binds: [...keys, ...keys.map((k) => `s3://${bucket}/${k}`)],
  };
}

/**
 * A file as COPY's result names it -> its path relative to the stage. An external stage's files come
 * as URLs ('s3://bucket/a/b.json' -> 'a/b.json'); an internal stage's as '<stage name>/<path>' in lower
 * case (the COPY output of https://docs.snowflake.com/en/user-guide/data-load-internal-tutorial-copy-into),
 * so with `names` that leading stage name goes too. Anything else is returned as is.
 */
export function stagePath(file: string, names?: SnowflakeNames): string {
  const m = /^s3:\/\/[^/]+\/(.*)$/.exec(file);
  if (m) return m[1] as string;
  const bare = names?.stage.split('.').pop()?.toLowerCase();
  const slash = file.indexOf('/');
  if (bare && slash > 0 && file.slice(0, slash).toLowerCase() === bare) return file.slice(slash + 1);
  return file;
}

/**
 * Which versions of these keys have lines in the landing table: (key, last-modified second, lines,
 * lines holding a NUL byte). A version's lines are told apart by METADATA$FILE_LAST_MODIFIED at whole
 * seconds (S3's Last-Modified precision), which the landing learns with a HEAD request.
 */
export function landedVersionsSql(names: SnowflakeNames, keys: readonly string[]): Bound {
  const { database } = checkNames(names);
  return {
    sql: `select file_key, to_varchar(date_trunc('second', file_last_modified), 'YYYY-MM-DD HH24:MI:SS') as last_modified,
       count(distinct line_number) as lines, count_if(contains(line, chr(0))) as nul_lines
  from ${database}.raw.landing_lines
 where file_key in (${keys.map(() => '?').join(', ')})
 group by 1, 2`,
    binds: [...keys],
  };
}

/** One file to judge and append: its key, its load, and the last-modified second its lines carry. */
export interface FileToAppend {
  key: string;
  loadId: string;
  /** 'YYYY-MM-DD HH:MM:SS' (UTC) of the lines in the landing table. */
  linesModified: string;
}

/** The table function of a dataset, and the name of each of its output columns per table. */
export function judgeFunction(names: SnowflakeNames, dataset: string): string {
  return `${checkNames(names).database}.raw.judge_${dataset}`;
}

function outputColumn(table: number, column: string): string {
  return `t${table}_${column}`;
}

/** Columns a dataset's table function returns, with their Snowflake types (JavaScript numbers are doubles). */
export function judgeReturns(spec: JudgeSpec): { name: string; type: string }[] {
  const cols = [
    { name: 'out_table', type: 'double' },
    { name: 'out_kind', type: 'double' },
    { name: 'line_number', type: 'double' },
    { name: 'raw_text', type: 'varchar' },
    { name: 'reason', type: 'varchar' },
  ];
  spec.tables.forEach((t, ti) => {
    for (const c of t.columns) {
      if (c.kind === 'recordId') continue;
      cols.push({ name: outputColumn(ti, c.name), type: c.type === 'text' || c.type === 'timestamp' ? 'varchar' : 'double' });
    }
  });
  return cols;
}

/**
 * The multi-table INSERT that judges the batch's landed lines and appends rows and quarantine.
 * `loadedAt` is the load's timestamp ('YYYY-MM-DD HH:MM:SS.fff', UTC).
 */
export function appendSql(
  names: SnowflakeNames,
  registry: DatasetRegistry,
  decl: DatasetDecl,
  files: readonly FileToAppend[],
  loadedAt: string,
): Bound {
  if (files.length === 0) throw new ConfigError('appendSql needs at least one file');
  const { database } = checkNames(names);
  const intoClauses: string[] = [];
  const selectValues: string[] = [];
  decl.tables.forEach((t, ti) => {
    // a row stores its values, its load and its line; the views join in the rest (../schema.ts)
    const cols = storedColumns(snowflakeDialect, registry, decl.name, t);
    const sources = cols.map((c) => {
      const alias = `v${ti}_${c.name}`;
      selectValues.push(`r.${outputColumn(ti, c.name)}::${c.type} as ${alias}`);
      return alias;
    });
    intoClauses.push(
      `  when _out_table = ${ti} then into ${database}.raw.${t.name}_appended\n` +
        `    (${[...cols.map((c) => c.name), '_load_id', '_line_number'].join(', ')})\n` +
        `    values (${[...sources, '_load_id', '_line_number'].join(', ')})`,
    );
  });
  intoClauses.push(
    `  when _out_table = -1 then into ${database}.raw.quarantine_appended\n` +
      `    (_load_id, dataset, line_number, raw_text, reason, fatal, quarantined_at)\n` +
      `    values (_load_id, _dataset, _line_number, _raw_text, _reason, _fatal, _loaded_at)`,
  );
  const values = files.map(() => '(?, ?, ?)').join(', ');
  const sql = `insert all
${intoClauses.join('\n')}
select f._load_id, ?::varchar as _dataset, ?::timestamp_ntz as _loaded_at,
       r.out_table::integer as _out_table, r.line_number::integer as _line_number,
       r.raw_text as _raw_text, r.reason as _reason, r.out_kind = 2 as _fatal,
       ${selectValues.join(',\n       ')}
  from (select l.line, l.line_number, v._load_id
          from ${database}.raw.landing_lines l
          join (select column1 as _file_key, column2 as _load_id, column3::timestamp_ntz as _lines_modified
                  from values ${values}) v
            on l.file_key = v._file_key and date_trunc('second', l.file_last_modified) = v._lines_modified
        qualify row_number() over (partition by v._load_id, l.line_number order by l.copied_at) = 1) f,
       table(${judgeFunction(names, decl.name)}(f.line, f.line_number::double)
             over (partition by f._load_id order by f.line_number)) r`;
  return {
    sql,
    binds: [decl.name, loadedAt, ...files.flatMap((f) => [f.key, f.loadId, f.linesModified])],
  };
}

/** Per load id: rows appended to the dataset's record table, quarantined lines, first reason, fatal verdict. */
export function appendCountsSql(names: SnowflakeNames, decl: DatasetDecl, loadIds: readonly string[]): Bound {
  const { database } = checkNames(names);
  const marks = loadIds.map(() => '?').join(', ');
  return {
    sql: `select _load_id as load_id, 'rows' as what, count(*) as n, null as reason
  from ${database}.raw.${firstRecordTable(decl)}_appended where _load_id in (${marks}) group by _load_id
union all
select _load_id, case when fatal then 'fatal' else 'quarantined' end, count(*), min_by(reason, line_number)
  from ${database}.raw.quarantine_appended where _load_id in (${marks}) group by _load_id, fatal`,
    binds: [...loadIds, ...loadIds],
  };
}

/** The rules bundle (`npm run build:rules` writes it from shared/ingest/rules/judge.ts). */
export function rulesBundle(): string {
  const file = path.join(sqlRoot(), 'snowflake', 'generated', 'rules.js');
  if (!fs.existsSync(file)) throw new ConfigError(`${file} is missing: run npm run build:rules`);
  return fs.readFileSync(file, 'utf8');
}

/**
 * CREATE FUNCTION of a dataset's rules table function. The body is one object literal, as Snowflake
 * requires; the bundle is evaluated once per partition (file) in initialize(), and every row the judge
 * emits is written from processRow() or finalize() with the output columns of judgeReturns().
 * Syntax (COPY GRANTS right after the arguments, before RETURNS):
 * https://docs.snowflake.com/en/sql-reference/sql/create-function
 */
export function judgeFunctionDdl(registry: DatasetRegistry, dataset: string, bundle: string = rulesBundle()): string {
  const spec = registry.spec(dataset);
  const returns = judgeReturns(spec);
  const columns = spec.tables.map((t, ti) => t.columns.map((c) => (c.kind === 'recordId' ? null : outputColumn(ti, c.name).toUpperCase())));
  if (bundle.includes('$$')) throw new ConfigError('the rules bundle contains $$ and cannot be a $$-quoted body');
  return `create or replace function {{DATABASE}}.raw.judge_${dataset}(line varchar, line_number double)
  copy grants
  returns table (${returns.map((c) => `${c.name} ${c.type}`).join(', ')})
  language javascript
  comment = 'ingest row rules of dataset ${dataset} (shared/ingest/rules/judge.ts); one call per landed line'
as
$$
{
  initialize: function (argumentInfo, context) {
${bundle.trimEnd().replace(/^/gm, '    ')}
    var SPEC = ${JSON.stringify(spec)};
    var COLUMNS = ${JSON.stringify(columns)};
    var self = this;
    this.writer = null;
    this.judge = SpRules.createJudge(SPEC, function (kind, table, line, values) {
      var row = { OUT_TABLE: table, OUT_KIND: kind, LINE_NUMBER: line };
      if (kind === 0) {
        var names = COLUMNS[table];
        for (var i = 0; i < names.length; i++) if (names[i] !== null) row[names[i]] = values[i];
      } else if (kind === 1) {
        row.RAW_TEXT = values[0];
        row.REASON = values[1];
      } else {
        row.REASON = values[0];
      }
      self.writer.writeRow(row);
    });
  },
  processRow: function (row, rowWriter, context) {
    this.writer = rowWriter;
    this.judge.line(row.LINE, row.LINE_NUMBER);
  },
  finalize: function (rowWriter, context) {
    this.writer = rowWriter;
    this.judge.end();
  }
}
$$`;
}

/**
 * The dataset's pipe for INGEST_MODE=pipe: the same COPY, run by Snowpipe. AUTO_INGEST is off: ingest
 * already receives the S3 events and asks for exactly each event's object (ALTER PIPE ... REFRESH). The
 * PATTERN keeps the pipe to the dataset's keys. Never CREATE OR REPLACE a pipe: a new pipe forgets its
 * load history and would load files again.
 * https://docs.snowflake.com/en/user-guide/data-load-snowpipe-manage#recreating-pipes
 */
export function pipeDdl(decl: DatasetDecl): string {
  // PATTERN is matched against the whole path (no ^ or $); \d and \. become bracket expressions so
  // that the pattern means the same to Snowflake's regular expressions as to JavaScript's
  const body = decl.keyPattern.replace(/^\(\^\|\/\)/, '').replace(/\$$/, '').replace(/\\d/g, '[0-9]').replace(/\\\./g, '[.]');
  const pattern = `(.*/)?${body}`;
  return `create pipe if not exists {{DATABASE}}.raw.${decl.name}_pipe
  auto_ingest = false
  comment = 'INGEST_MODE=pipe: ${decl.name} files -> raw.landing_lines'
as
copy into {{DATABASE}}.raw.landing_lines (file_key, line_number, line, file_last_modified, file_content_key)
from (
  ${COPY_SELECT}
  from @{{DATABASE}}.{{LANDING_STAGE}}
)
pattern = ${sqlString(pattern)}
file_format = (format_name = '{{DATABASE}}.raw.lines_format')
on_error = continue`;
}

/**
 * The landing table: every physical line a COPY (or a pipe) read from a file, before the rules run.
 * Transient: a working table needs no Fail-safe copies.
 */
export const LANDING_TABLE_DDL = `-- grain: one row per physical line of a copied file version (file_key + file_last_modified)
create transient table if not exists {{DATABASE}}.raw.landing_lines (
  file_key            varchar not null,       -- METADATA$FILENAME: the S3 key (stage = bucket root)
  line_number         integer not null,       -- METADATA$FILE_ROW_NUMBER: physical line, 1-based
  line                varchar,                -- the line's text, untouched
  file_last_modified  timestamp_ntz not null, -- METADATA$FILE_LAST_MODIFIED: tells versions of a key apart
  file_content_key    varchar,                -- METADATA$FILE_CONTENT_KEY (checksum), for diagnosis
  copied_at           timestamp_ntz not null default sysdate()
)`;

/** A migration script rendered from the declarations (placeholders filled by migrate like the files'). */
export interface GeneratedScript {
  file: string;
  text: string;
}

/**
 * The Snowflake scripts that follow from the dataset declarations, in migrate's order among the
 * files of sql/snowflake/: the ingest layer (40), the rules functions (50), the pipes (60), and the
 * grants on what they create (85).
 */
export function generatedSnowflakeScripts(registry: DatasetRegistry, bundle?: string): GeneratedScript[] {
  const join = (statements: string[]) => statements.map((s) => `${s};`).join('\n\n') + '\n';
  const ingest = ingestSchemaStatements(snowflakeDialect, registry, '{{DATABASE}}.');
  const functions = registry.datasets.map((d) => judgeFunctionDdl(registry, d.name, bundle ?? rulesBundle()));
  const pipes = registry.datasets.map((d) => pipeDdl(d));
  const grants = registry.datasets.flatMap((d) => [
    `grant usage on function {{DATABASE}}.raw.judge_${d.name}(varchar, double) to role {{LOAD_ROLE}}`,
    `grant operate, monitor on pipe {{DATABASE}}.raw.${d.name}_pipe to role {{LOAD_ROLE}}`,
  ]);
  const header = (what: string) => `-- Generated from the dataset declarations (shared/datasets/) by shared/ingest/landing/stage-sql.ts: ${what}.\n`;
  return [
    { file: '40_ingest.sql', text: header('landing table, ledger events, appended raw tables and their views') + join([LANDING_TABLE_DDL, ...ingest]) },
    { file: '50_rules.sql', text: header('one rules table function per dataset') + join(functions) },
    { file: '60_pipes.sql', text: header('one pipe per dataset, for INGEST_MODE=pipe') + join(pipes) },
    { file: '85_dataset_grants.sql', text: header('grants on the rules functions and pipes') + join(grants) },
  ];
}
