/**
 * The Snowflake ingest SQL as text: file lists quoted, never FORCE, names checked, binds in step with
 * their placeholders, and the loader's COPY the same load as the pipes'.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../shared/errors';
import {
  copyHistoryBinds,
  copyHistorySql,
  copySql,
  deleteLandedSql,
  insertRowsSql,
  landedSummarySql,
  refreshPipeSql,
  rejectedLinesSql,
  sqlString,
  stagePath,
} from '../../shared/ingest/snowflake-sql';
import { splitStatements } from '../../shared/warehouse/split-statements';

const names = { database: 'SHOPPING_PATTERNS', stage: 'RAW.LANDING_STAGE' };
const version = { key: 'transactions/d=2024-01-01/a.json', lastModified: '2024-01-02 03:04:05' };
const write = { ...version, version: 'etag1', loadedAt: '2024-01-02 03:05:00.123' };

/** `?` placeholders outside string literals. */
function placeholders(sql: string): number {
  return (sql.replace(/'(?:[^']|'')*'/g, "''").match(/\?/g) ?? []).length;
}

describe('Snowflake ingest SQL', () => {
  it('quotes string constants: quotes doubled, backslashes escaped', () => {
    expect(sqlString("O'Brien")).toBe("'O''Brien'");
    expect(sqlString('a\\b')).toBe("'a\\\\b'");
    expect(sqlString("x'\\'")).toBe("'x''\\\\'''");
  });

  it('copies exactly the listed files, quoted, into the landing table, continuing past bad files, never forcing', () => {
    // Act
    const sql = copySql(names, 'transactions', ['transactions/d=2024-01-01/a.json', "odd/it's\\here.json"]);

    // Assess
    expect(sql).toContain("files = ('transactions/d=2024-01-01/a.json', 'odd/it''s\\\\here.json')");
    expect(sql).toContain('copy into SHOPPING_PATTERNS.raw.landing_transactions (file_key, line_number, line, file_last_modified, file_content_key)');
    expect(sql).toContain('from @SHOPPING_PATTERNS.RAW.LANDING_STAGE');
    expect(sql).toContain("file_format = (format_name = 'SHOPPING_PATTERNS.raw.lines_format')");
    expect(sql).toMatch(/on_error = continue$/);
    expect(sql).not.toMatch(/\bforce\b|load_uncertain_files|purge/i);
  });

  it('refuses an empty or oversized file list and names that are not identifiers', () => {
    expect(() => copySql(names, 'customers', [])).toThrow(ConfigError);
    expect(() => copySql(names, 'customers', Array.from({ length: 1001 }, (_, i) => `k${i}`))).toThrow(/at most 1000/);
    expect(() => copySql({ ...names, database: 'db; drop table x' }, 'customers', ['k'])).toThrow(/SNOWFLAKE_DATABASE/);
    expect(() => copySql({ ...names, stage: "raw.s'x" }, 'customers', ['k'])).toThrow(/SNOWFLAKE_STAGE/);
  });

  it('loads with the same COPY as the pipe of the same dataset (only FILES vs PATTERN differ)', () => {
    // Prepare: the pipe's COPY from the schema script
    const pipes = fs.readFileSync(path.join(__dirname, '..', '..', 'sql', 'snowflake', '60_pipes.sql'), 'utf8');
    const normalise = (s: string) =>
      s
        .replace(/\{\{DATABASE\}\}/g, names.database)
        .replace(/\{\{LANDING_STAGE\}\}/g, names.stage)
        .replace(/\n(files|pattern) = [^\n]*/g, '')
        .replace(/\s+/g, ' ')
        .trim();
    for (const dataset of ['transactions', 'customers', 'products'] as const) {
      const pipe = splitStatements(pipes).find((s) => s.includes(`raw.${dataset}_pipe`))!;
      const pipeCopy = pipe.slice(pipe.indexOf('copy into'));

      // Act
      const loaderCopy = copySql(names, dataset, ['k']);

      // Assess
      expect(normalise(loaderCopy)).toBe(normalise(pipeCopy));
    }
  });

  it('refreshes a pipe for exactly one key, quoted', () => {
    expect(refreshPipeSql(names, 'customers', "a'b/customers.csv")).toBe(
      "alter pipe SHOPPING_PATTERNS.raw.customers_pipe refresh prefix = 'a''b/customers.csv'",
    );
  });

  it('asks COPY_HISTORY for the files by stage path and by s3 URL', () => {
    // Act
    const { sql } = copyHistorySql(names, 'products', 2);
    const binds = copyHistoryBinds('landing', ['a/products.csv', 'products.csv']);

    // Assess
    expect(sql).toContain("table_name => 'SHOPPING_PATTERNS.RAW.LANDING_PRODUCTS'");
    expect(placeholders(sql)).toBe(binds.length);
    expect(binds).toEqual(['a/products.csv', 'products.csv', 's3://landing/a/products.csv', 's3://landing/products.csv']);
    expect(stagePath('s3://landing/a/products.csv')).toBe('a/products.csv');
    expect(stagePath('a/products.csv')).toBe('a/products.csv');
  });

  it('binds one value per placeholder, in text order, in every per-file statement', () => {
    for (const dataset of ['transactions', 'customers', 'products'] as const) {
      const statements = [
        landedSummarySql(names, dataset, version),
        rejectedLinesSql(names, dataset, version),
        deleteLandedSql(names, dataset, version),
        ...insertRowsSql(names, dataset, write),
      ];
      for (const s of statements) {
        expect([dataset, s.sql.slice(0, 40), placeholders(s.sql)]).toEqual([dataset, s.sql.slice(0, 40), s.binds.length]);
        // every statement reads only this version's landing lines: the key and its last-modified second first
        expect(s.binds.slice(0, 2)).toEqual([version.key, version.lastModified]);
      }
    }
  });

  it('writes transactions and their items with the ids, version and load time of the file', () => {
    // Act
    const [transactions, items] = insertRowsSql(names, 'transactions', write);

    // Assess
    expect(transactions!.sql).toMatch(/^insert into SHOPPING_PATTERNS\.raw\.transactions\s*\(transaction_id, customer_id, purchased_at, basket_size, _file_key, _file_version, _line_number, _loaded_at\)/);
    expect(transactions!.binds.slice(2)).toEqual([write.key, write.key, 'etag1', write.loadedAt]);
    expect(items!.sql).toContain('lateral flatten(input => c.v:basket) i');
    expect(items!.sql).toContain('i.index + 1');
    expect(items!.sql).toContain('i.value:price::number(18, 2)');
    expect(items!.binds.slice(2)).toEqual([write.key, write.key, 'etag1']);
  });

  it('runs the CSV rules once per file, in line order', () => {
    const { sql } = rejectedLinesSql(names, 'products', version);
    expect(sql).toContain("parse_snapshot_csv('products', l.line, l.line_number::double)");
    expect(sql).toContain('over (partition by l.file_key order by l.line_number)');
  });

  it('deletes this and older landing lines of the key, never newer ones', () => {
    expect(deleteLandedSql(names, 'customers', version).sql).toMatch(/date_trunc\('second', file_last_modified\) <= \?::timestamp_ntz$/);
  });
});
