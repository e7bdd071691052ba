/**
 * The Snowflake landing's SQL as text (shared/ingest/landing/stage-sql.ts): the parts whose shape a
 * documented behaviour depends on. The statements also run against the executing fake in
 * test/driver/snowflake-ingest.test.ts and pass the conformance checks of test/support/snowflake-rules.
 */
import { defaultRegistry } from '../../shared/datasets';
import {
  appendSql,
  copySql,
  generatedSnowflakeScripts,
  judgeFunctionDdl,
  MAX_FILES_PER_COPY,
  pipeDdl,
  refreshPipeSql,
  sqlString,
} from '../../shared/ingest/landing/stage-sql';

const names = { database: 'SHOPPING_PATTERNS', stage: 'RAW.LANDING_STAGE' };

describe('COPY', () => {
  it('names each file, continues past a bad one, and forces only when asked', () => {
    const sql = copySql(names, ["transactions/d=2024-01-01/it's.json", 'a\\b.json']);
    expect(sql).toContain(`files = ('transactions/d=2024-01-01/it''s.json', 'a\\\\b.json')`);
    expect(sql).toMatch(/on_error = continue/);
    expect(sql).not.toMatch(/force|load_uncertain_files/i);
    expect(copySql(names, ['a.json'], { force: true })).toMatch(/force = true$/);
    expect(() => copySql(names, [])).toThrow(/at least one file/);
    expect(() => copySql(names, Array.from({ length: MAX_FILES_PER_COPY + 1 }, (_, i) => `${i}.json`))).toThrow(/at most 1000/);
    expect(() => copySql({ ...names, database: 'x; drop' }, ['a'])).toThrow(/not an identifier/);
  });

  it('quotes strings as Snowflake reads them (backslash is an escape)', () => {
    expect(sqlString("a'b\\c")).toBe("'a''b\\\\c'");
  });
});

describe('the judging INSERT', () => {
  const files = [{ key: 'k.json', loadId: 'L', linesModified: '2024-01-01 00:00:00' }];
  const { sql, binds } = appendSql(names, defaultRegistry, defaultRegistry.get('transactions'), files, '2024-01-02 00:00:00');

  it('partitions the table function by the load, so finalize() rows still know their file', () => {
    expect(sql).toMatch(/over \(partition by f\._load_id order by f\.line_number\)/);
  });

  it('has one INTO per raw table and one for the quarantine, each VALUES naming columns of the subquery', () => {
    const intos = [...sql.matchAll(/when _out_table = (-?\d) then into (\S+)/g)].map((m) => [m[1], m[2]]);
    expect(intos).toEqual([
      ['0', 'SHOPPING_PATTERNS.raw.transactions_appended'],
      ['1', 'SHOPPING_PATTERNS.raw.transaction_items_appended'],
      ['-1', 'SHOPPING_PATTERNS.raw.quarantine_appended'],
    ]);
    for (const m of sql.matchAll(/\)\n\s+values \(([^)]*)\)/g)) {
      for (const v of m[1]!.split(',').map((s) => s.trim())) expect(v).toMatch(/^[a-z_][a-z0-9_]*$/);
    }
    expect(binds).toEqual(['transactions', '2024-01-02 00:00:00', 'k.json', 'L', '2024-01-01 00:00:00']);
  });

  it('reads each landed line once even when two loads landed it', () => {
    expect(sql).toMatch(/qualify row_number\(\) over \(partition by v\._load_id, l\.line_number order by l\.copied_at\) = 1/);
  });
});

describe('DDL from the declarations', () => {
  it('puts COPY GRANTS right after the arguments, before RETURNS', () => {
    // https://docs.snowflake.com/en/sql-reference/sql/create-function
    const ddl = judgeFunctionDdl(defaultRegistry, 'customers');
    expect(ddl).toMatch(/^create or replace function \{\{DATABASE\}\}\.raw\.judge_customers\(line varchar, line_number double\)\n {2}copy grants\n {2}returns table \(/);
    expect(ddl).toMatch(/language javascript/);
  });

  it('never replaces a pipe, and keeps it to its dataset’s keys in Snowflake’s regular expressions', () => {
    const ddl = pipeDdl(defaultRegistry.get('transactions'));
    expect(ddl).toMatch(/^create pipe if not exists /);
    expect(ddl).toContain("pattern = '(.*/)?transactions/d=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.](json|jsonl)([.]gz)?'");
    expect(refreshPipeSql(names, 'transactions', "k'.json")).toBe("alter pipe SHOPPING_PATTERNS.raw.transactions_pipe refresh prefix = 'k''.json'");
  });

  it('renders the scripts migrate runs after the hand-written ones, one function, pipe and grant per dataset', () => {
    const scripts = generatedSnowflakeScripts(defaultRegistry);
    expect(scripts.map((s) => s.file)).toEqual(['40_ingest.sql', '50_rules.sql', '60_pipes.sql', '85_dataset_grants.sql']);
    for (const d of defaultRegistry.names()) {
      expect(scripts[1]!.text).toContain(`raw.judge_${d}(line varchar, line_number double)`);
      expect(scripts[2]!.text).toContain(`raw.${d}_pipe`);
      expect(scripts[3]!.text).toContain(`grant usage on function {{DATABASE}}.raw.judge_${d}(varchar, double) to role {{LOAD_ROLE}}`);
    }
  });
});
