/**
 * The conformance checks of test/support/snowflake-rules against statements whose verdict Snowflake's
 * documentation gives (examples from the reserved-keywords, CREATE FUNCTION, INSERT and UDTF pages), and
 * every statement of sql/snowflake/*.sql as migrate renders them.
 */
import { Catalog, checkStatement, initRules, parseSnowflake, renderedMigrations, RESERVED_KEYWORDS, RULES } from '../support/snowflake-rules';
import { tokenize } from '../support/snowflake-rules/tokens';

let catalog: Catalog;

beforeAll(async () => {
  await initRules();
  catalog = new Catalog();
  for (const m of renderedMigrations()) {
    const parsed = parseSnowflake(m.sql);
    if ('ast' in parsed) catalog.learn(parsed.ast, `sql/snowflake/${m.file}`);
  }
});

const rulesOf = (sql: string) => checkStatement(sql, catalog).map((v) => v.rule.id);

describe('the reserved keywords, as the page lists them', () => {
  it('holds the page table, not its section letters', () => {
    expect(RESERVED_KEYWORDS.size).toBe(92); // counted on the page, A to W
    expect(RESERVED_KEYWORDS.get('SAMPLE')).toBe('anywhere');
    expect(RESERVED_KEYWORDS.get('LEFT')).toBe('from-table');
    expect(RESERVED_KEYWORDS.get('VIEW')).toBe('show-in');
    expect(RESERVED_KEYWORDS.has('A')).toBe(false);
  });

  it.each([
    ['select sample from x', 'a column reference'],
    ['select 1 as order from t', 'a column alias'],
    ['insert into t (a, sample) values (1, 2)', 'an INSERT column'],
    ['create table t (sample varchar)', 'a CREATE TABLE column'],
    ['select x.from from t x', 'a qualified column'],
    ['select t.row from t', 'ROW'],
    ['select * from t as left', 'LEFT as a table alias in FROM'],
    ['create table t (current_date date)', 'CURRENT_DATE as a column name'],
    ['select a as current_date from t', 'CURRENT_DATE as a column alias'],
    ['show tables in schema view', "VIEW as the identifier of SHOW ... IN"],
    ['grant select on future views in schema d.analytics to role select', 'a role name in GRANT'],
    ['delete from t l using (select sample from x) v where l.k = v.k', 'inside a query DELETE ... USING cuts out'],
    ['select * from t l, table(d.select.f(l.a) over (partition by l.c)) r', 'inside a qualified table function name'],
    ['create masking policy d.a.m as (val varchar) returns varchar -> case when val = sample then val end', "inside a masking policy's body"],
    ['create pipe d.raw.p as copy into d.raw.t (a) from (select sample from @d.raw.s)', "inside a pipe's COPY"],
    ['create role if not exists select', 'an object name in CREATE <object>'],
  ])('refuses %s (%s)', (sql) => {
    expect(rulesOf(sql)).toContain(RULES.reserved.id);
  });

  it.each([
    ['select "SAMPLE" from x', 'quoted'],
    ['select * from t sample (10)', 'SAMPLE as the sampling keyword'],
    ["select 'sample', 'it''s \\' sample' as s", 'inside string literals'],
    ['select $$ sample $$ as s', 'inside a dollar-quoted string'],
    ['-- sample\nselect 1 as a /* order */', 'inside comments'],
    ['show tables in schema analytics', 'SCHEMA as a SHOW keyword'],
    ['show tables in account', 'ACCOUNT as a SHOW keyword'],
    ['select current_date as d', 'CURRENT_DATE as the function'],
    ['select 1 as left', 'LEFT is limited to FROM'],
    ['select true, false from t', 'TRUE and FALSE as literals'],
    ['select a from t order by a limit 5', 'keywords as keywords'],
  ])('accepts %s (%s)', (sql) => {
    expect(checkStatement(sql, catalog)).toEqual([]);
  });
});

describe('the tokenizer', () => {
  it("reads '' and backslash escapes, $$ strings, quoted identifiers and comments", () => {
    const tokens = tokenize(`select 'a''b\\'c' as "Odd ""x""", $$ -- not a comment $$ from t // note\n/* c */ where metadata$filename = $1`);
    expect(tokens.map((t) => [t.kind, t.value])).toEqual([
      ['word', 'SELECT'],
      ['string', "a'b'c"],
      ['word', 'AS'],
      ['quoted', 'Odd "x"'],
      ['punct', ','],
      ['string', ' -- not a comment '],
      ['word', 'FROM'],
      ['word', 'T'],
      ['word', 'WHERE'],
      ['word', 'METADATA$FILENAME'],
      ['punct', '='],
      ['variable', '$1'],
    ]);
  });
});

describe('syntax, by the independent parser or the documented check for what it cannot read', () => {
  it('refuses what is not Snowflake SQL', () => {
    expect(rulesOf('selec 1')).toEqual([RULES.syntax.id]);
    // kinds the parser keeps as unread text go to the documented shape check, which can refuse
    expect(rulesOf('create warehouse if not exists w warehouse_size xsmall')).toEqual([RULES.syntax.id]);
    expect(rulesOf('create pipe if not exists d.raw.p auto_ingest = false')).toEqual([RULES.syntax.id]);
    expect(rulesOf('create unicorn if not exists d.raw.u')).toEqual([RULES.syntax.id]);
    expect(rulesOf('grant select on future views in schema d.analytics role p')).toEqual([RULES.syntax.id]);
  });

  it('reads the documented forms the parser lacks', () => {
    for (const sql of [
      'delete from t l using (select column1 as k from values (1)) v where l.k = v.k',
      'select * from t l, table(d.s.f(l.a) over (partition by l.c order by l.b)) r',
      'create schema if not exists d.raw with managed access comment = \'x\'',
      'desc stage "RAW"."EXPORT_STAGE"',
      "copy into @s/p/ from (select 1 as a) partition by ('m=' || a) file_format = (type = csv)",
      'grant select on all views in schema d.analytics to role p',
      'grant apply on masking policy d.analytics.m to role p',
      'grant usage on function d.raw.f(varchar, double) to role p',
      "create warehouse if not exists w warehouse_size = xsmall auto_suspend = 60 comment = 'x'",
      "create stage if not exists d.raw.s url = 's3://b/' storage_integration = i file_format = d.raw.f",
      "alter pipe d.raw.p refresh prefix = 'transactions/d=2024-01-01/a.json'",
      "create masking policy if not exists d.a.m as (val varchar) returns varchar -> case when is_role_in_session('R') then val else sha2(val, 256) end comment = 'c'",
      "alter masking policy d.a.m set body -> case when val is null then null else val end",
      "create pipe if not exists d.raw.p auto_ingest = false as copy into d.raw.t (a) from (select $1 from @d.raw.s) on_error = continue",
    ]) {
      expect([sql, checkStatement(sql, catalog)]).toEqual([sql, []]);
    }
  });

  // the JavaScript UDTF page's own examples, and the syntax block's clause order
  it.each([
    `CREATE OR REPLACE FUNCTION HelloWorld0() RETURNS TABLE (OUTPUT_COL VARCHAR) LANGUAGE JAVASCRIPT AS '{ processRow: function f(row, rowWriter, context){ rowWriter.writeRow({OUTPUT_COL: "Hello"}); } }'`,
    `CREATE OR REPLACE FUNCTION range_to_values(PREFIX VARCHAR, RANGE_START FLOAT, RANGE_END FLOAT) RETURNS TABLE (IP_ADDRESS VARCHAR) LANGUAGE JAVASCRIPT AS $$ { processRow: function f(row, rowWriter, context) {} } $$`,
    `create or replace function d.raw.f(line varchar) copy grants returns variant not null language javascript strict immutable comment = 'c' as $$ return 1; $$`,
  ])('accepts a CREATE FUNCTION in the documented order: %s', (sql) => {
    expect(checkStatement(sql, catalog)).toEqual([]);
  });

  it.each([
    [`create or replace function d.raw.f(line varchar) returns variant language javascript immutable copy grants as $$ return 1; $$`, /COPY GRANTS belongs right after the argument list, before RETURNS/],
    [`create or replace function d.raw.f(line varchar) returns variant copy grants language javascript as $$ x $$`, /COPY GRANTS belongs right after/],
    [`create or replace function d.raw.f(line varchar) returns variant language javascript comment = 'c' immutable as 'x'`, /expected .*AS, found "IMMUTABLE"/],
  ])('refuses a CREATE FUNCTION out of order: %s', (sql, message) => {
    const [violation, ...more] = checkStatement(sql, catalog);
    expect(more).toEqual([]);
    expect(violation?.rule).toBe(RULES.createFunctionOrder);
    expect(violation?.message).toMatch(message);
  });
});

describe('INSERT names every NOT NULL column of its target (the rendered migrations)', () => {
  it('refuses a single-table INSERT that leaves one out', () => {
    const [v] = checkStatement("insert into raw.quarantine_appended (_load_id, raw_text) values ('a', 'b')", catalog);
    expect(v?.rule).toBe(RULES.insertNotNull);
    expect(v?.message).toMatch(/DATASET, LINE_NUMBER, REASON, FATAL, QUARANTINED_AT/);
  });

  it('checks each branch of INSERT ALL and INSERT FIRST', () => {
    // https://docs.snowflake.com/en/sql-reference/sql/insert-multi-table
    const q = 'raw.quarantine_appended (_load_id, dataset, line_number, reason, fatal, quarantined_at) values (a, a, 1, a, a, a)';
    const all = checkStatement(`insert all into ${q} into raw.file_events (bucket, key) values (a, a) select 1 as a`, catalog);
    expect(all.map((v) => v.message)).toEqual([
      expect.stringMatching(/RAW\.FILE_EVENTS leaves NOT NULL columns VERSION, DATASET, REPLACES, STATUS, ROWS_LOADED, ROWS_QUARANTINED, RECORDED_AT out/),
    ]);
    const first = checkStatement(
      'insert first when a > 1 then into raw.file_events (bucket, key, version, dataset, replaces, status, rows_loaded, rows_quarantined, recorded_at) values (a, a, a, a, a, a, 0, 0, a) else into raw.quarantine_appended (_load_id) values (a) select 1 as a',
      catalog,
    );
    expect(first.map((v) => v.message)).toEqual([expect.stringMatching(/RAW\.QUARANTINE_APPENDED leaves NOT NULL columns DATASET, LINE_NUMBER/)]);
  });

  it("checks MERGE's WHEN NOT MATCHED THEN INSERT", () => {
    expect(rulesOf('merge into raw.cut_loads t using (select 1 as d) s on t.load_id = s.d when not matched then insert (load_id) values (s.d)')).toEqual([
      RULES.insertNotNull.id,
    ]);
  });

  it('lets DEFAULT columns and positional VALUES be', () => {
    // copied_at has a default
    expect(rulesOf('insert into raw.landing_lines (file_key, line_number, line, file_last_modified) values (?, ?, ?, ?)')).toEqual([]);
    expect(rulesOf("insert into raw.cut_loads values ('x', 'customers', '2024-01-01')")).toEqual([]);
  });

  it('learns tables from CREATE TABLE, generated ones included', () => {
    expect(catalog.get('RAW.LANDING_LINES')?.columns.filter((c) => c.notNull && !c.hasDefault).map((c) => c.name)).toEqual([
      'FILE_KEY',
      'LINE_NUMBER',
      'FILE_LAST_MODIFIED',
    ]);
    // the record id is not stored (the views compute it); a row stores its load and its line
    expect(catalog.get('RAW.TRANSACTION_ITEMS_APPENDED')?.columns.filter((c) => c.notNull).map((c) => c.name)).toEqual(['ITEM_INDEX', '_LOAD_ID', '_LINE_NUMBER']);
  });
});

describe('sql/snowflake/*.sql as migrate renders it', () => {
  const statements = renderedMigrations();

  it('has every script', () => {
    expect(new Set(statements.map((s) => s.file)).size).toBeGreaterThanOrEqual(10);
  });

  it('breaks none of the rules', () => {
    const broken = statements.flatMap((s) => checkStatement(s.sql, catalog).map((v) => `${s.file}: [${v.rule.id}] ${v.message}`));
    expect(broken).toEqual([]);
  });
});
