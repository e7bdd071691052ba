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
  loadedCountsSql,
  refreshPipeSql,
  rejectedLinesSql,
  sqlString,
  stagePath,
} from '../../shared/ingest/snowflake-sql';
import { splitStatements } from '../../shared/warehouse/split-statements';

const names = { database: 'SHOPPING_PATTERNS', stage: 'RAW.LANDING_STAGE' };
const a = { key: 'transactions/d=2024-01-01/a.json', lastModified: '2024-01-02 03:04:05', version: 'etag1' };
const b = { key: "transactions/d=2024-01-02/it's.json", lastModified: '2024-01-03 00:00:00', version: 'v2' };
const loadedAt = '2024-01-02 03:05:00.123';

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

  it('binds one value per placeholder, in text order, in every per-batch statement', () => {
    for (const dataset of ['transactions', 'customers', 'products'] as const) {
      const statements = [
        landedSummarySql(names, dataset, [a, b]),
        rejectedLinesSql(names, dataset, [a, b]),
        deleteLandedSql(names, dataset, [a, b]),
        ...insertRowsSql(names, dataset, [a, b], loadedAt),
        loadedCountsSql(names, dataset, [a.key, b.key]),
      ];
      for (const s of statements) {
        expect([dataset, s.sql.slice(0, 40), placeholders(s.sql)]).toEqual([dataset, s.sql.slice(0, 40), s.binds.length]);
      }
    }
  });

  it("finds each file version's landing lines by key and Last-Modified second, and carries its version", () => {
    // Act
    const summary = landedSummarySql(names, 'transactions', [a, b]);

    // Assess: the batch's versions as a VALUES list joined to the landing table
    expect(summary.binds).toEqual([a.key, a.lastModified, a.version, b.key, b.lastModified, b.version]);
    expect(summary.sql).toContain('select column1, column2::timestamp_ntz, column3 from values (?, ?, ?), (?, ?, ?)');
    expect(summary.sql).toContain("join versions v on l.file_key = v.file_key and date_trunc('second', l.file_last_modified) = v.last_modified");
    expect(summary.sql).toMatch(/group by file_key$/);
  });

  it('writes transactions and their items with the ids, version and load time of each file', () => {
    // Act
    const [transactions, items] = insertRowsSql(names, 'transactions', [a], loadedAt);

    // Assess
    expect(transactions!.sql).toMatch(/^insert into SHOPPING_PATTERNS\.raw\.transactions\s*\(transaction_id, customer_id, purchased_at, basket_size, _file_key, _file_version, _line_number, _loaded_at\)/);
    expect(transactions!.sql).toContain("select file_key || ':' || line_number, v:customer_id::varchar");
    expect(transactions!.binds).toEqual([a.key, a.lastModified, a.version, loadedAt]);
    expect(items!.sql).toContain('lateral flatten(input => k.v:basket) i');
    expect(items!.sql).toContain('i.index + 1');
    expect(items!.sql).toContain('i.value:price::number(18, 2)');
    expect(items!.binds).toEqual([a.key, a.lastModified, a.version]);
  });

  it('runs the CSV rules once per file, in line order', () => {
    const { sql } = rejectedLinesSql(names, 'products', [a]);
    expect(sql).toContain("parse_snapshot_csv('products', l.line, l.line_number::double)");
    expect(sql).toContain('over (partition by l.file_key order by l.line_number)');
  });

  it('deletes this and older landing lines of the keys, never newer ones', () => {
    const { sql, binds } = deleteLandedSql(names, 'customers', [a]);
    expect(sql).toMatch(/date_trunc\('second', l\.file_last_modified\) <= v\.last_modified$/);
    expect(binds).toEqual([a.key, a.lastModified]);
  });
});
