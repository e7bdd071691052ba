/**
 * The transfer plan and its SQL as text: roles from introspected kinds, options, quoting, the
 * blank-row predicate, ordering, and the Snowflake unload statement.
 */
import { InvalidInputError } from '../../shared/errors';
import {
  blankRowPredicate,
  buildAggregateSql,
  buildUnloadSql,
  monthPartition,
  planTransfer,
  quoteColumn,
} from '../../shared/transfer';
import { columnKind, type ColumnInfo } from '../../shared/warehouse/port';

const col = (name: string, type: string, kind: ColumnInfo['kind']): ColumnInfo => ({ name, type, kind });

const ORDERS: ColumnInfo[] = [
  col('O_ORDERKEY', 'BIGINT', 'number'),
  col('O_ORDERSTATUS', 'VARCHAR', 'text'),
  col('O_TOTALPRICE', 'DECIMAL(12,2)', 'number'),
  col('O_ORDERDATE', 'DATE', 'date'),
  col('IS_RUSH', 'BOOLEAN', 'boolean'),
  col('CREATED_AT', 'TIMESTAMP', 'timestamp'),
];

const roles = (plan: ReturnType<typeof planTransfer>) =>
  Object.fromEntries(plan.columns.map((c) => [c.name, c.role]));

describe('planTransfer', () => {
  it('sums numbers, takes the first date as the month key, truncates other dates, groups the rest', () => {
    const plan = planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS);
    expect(plan.monthKey).toBe('O_ORDERDATE');
    expect(roles(plan)).toEqual({
      O_ORDERKEY: 'sum',
      O_ORDERSTATUS: 'group',
      O_TOTALPRICE: 'sum',
      O_ORDERDATE: 'month_key',
      IS_RUSH: 'group',
      CREATED_AT: 'month',
    });
  });

  it('date_column picks the key (case-insensitively); the first date becomes an ordinary month column', () => {
    const plan = planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, { dateColumn: 'created_at' });
    expect(plan.monthKey).toBe('CREATED_AT');
    expect(roles(plan)).toMatchObject({ O_ORDERDATE: 'month', CREATED_AT: 'month_key' });
  });

  it('sum_columns sums exactly those; other numeric columns are grouped', () => {
    const plan = planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, { sumColumns: ['O_TOTALPRICE'] });
    expect(roles(plan)).toMatchObject({ O_ORDERKEY: 'group', O_TOTALPRICE: 'sum' });
  });

  it('group_columns groups a numeric column as is, and a grouped date is not the default key', () => {
    const plan = planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, {
      groupColumns: ['O_ORDERKEY', 'O_ORDERDATE'],
    });
    expect(roles(plan)).toMatchObject({ O_ORDERKEY: 'group', O_ORDERDATE: 'group', CREATED_AT: 'month_key' });
  });

  it('columns keeps only those (in table order) plus the month key; blank rows still use every column', () => {
    const plan = planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, {
      columns: ['o_totalprice', 'O_ORDERSTATUS'],
    });
    expect(roles(plan)).toEqual({ O_ORDERSTATUS: 'group', O_TOTALPRICE: 'sum', O_ORDERDATE: 'month_key' });
    const sql = buildAggregateSql(plan);
    expect(sql).not.toMatch(/as "IS_RUSH"/);
    expect(sql).toMatch(/"IS_RUSH" is null/);
    expect(sql).toMatch(/"CREATED_AT" is null/);
  });

  it("with columns, a kept date column is the default key before the table's first", () => {
    const plan = planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, { columns: ['CREATED_AT', 'IS_RUSH'] });
    expect(plan.monthKey).toBe('CREATED_AT');
    expect(roles(plan)).toEqual({ IS_RUSH: 'group', CREATED_AT: 'month_key' });
  });

  it.each([
    [{ columns: [] }, /columns: name at least one column/],
    [{ columns: ['IS_RUSH', 'is_rush'] }, /columns: IS_RUSH is listed twice/],
    [{ columns: ['NOPE'] }, /columns: "NOPE" is not a column of ORDERS/],
    [
      { columns: ['IS_RUSH'], sumColumns: ['O_TOTALPRICE'] },
      /sum_columns: O_TOTALPRICE is not among the kept columns/,
    ],
    [
      { columns: ['IS_RUSH'], groupColumns: ['O_ORDERKEY'] },
      /group_columns: O_ORDERKEY is not among the kept columns/,
    ],
    [{ dateColumn: 'NOPE' }, /date_column: "NOPE" is not a column of ORDERS/],
    [{ dateColumn: 'O_ORDERSTATUS' }, /O_ORDERSTATUS is VARCHAR, not a date or timestamp column/],
    [{ sumColumns: ['O_ORDERSTATUS'] }, /sum_columns: O_ORDERSTATUS is VARCHAR, not a numeric column/],
    [{ sumColumns: ['O_TOTALPRICE'], groupColumns: ['O_TOTALPRICE'] }, /both sum_columns and group_columns/],
    [
      { dateColumn: 'O_ORDERDATE', groupColumns: ['O_ORDERDATE'] },
      /cannot also be in sum_columns or group_columns/,
    ],
    [{ groupColumns: ['x"; drop table t; --'] }, /is not a column of ORDERS/],
  ])('rejects %j with a clear error', (options, message) => {
    expect(() => planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, options)).toThrow(message);
    expect(() => planTransfer({ table: 'ORDERS' }, 'duckdb', ORDERS, options)).toThrow(InvalidInputError);
  });

  it('a table without date columns, or that does not exist, is a clear error', () => {
    expect(() => planTransfer({ table: 'T' }, 'duckdb', [col('N', 'INTEGER', 'number')])).toThrow(
      /T has no date or timestamp column to aggregate by month \(columns: N INTEGER\)/,
    );
    expect(() => planTransfer({ schema: 'S', table: 'T' }, 'duckdb', [])).toThrow(
      /table S\.T does not exist/,
    );
  });
});

describe('buildAggregateSql', () => {
  it('builds the aggregation with quoted names, month truncation, sums, grouping and month order', () => {
    const sql = buildAggregateSql(planTransfer({ schema: 'sales', table: 'ORDERS' }, 'duckdb', ORDERS));
    expect(sql).toBe(
      [
        `select sum("O_ORDERKEY") as "O_ORDERKEY",`,
        `       "O_ORDERSTATUS" as "O_ORDERSTATUS",`,
        `       sum("O_TOTALPRICE") as "O_TOTALPRICE",`,
        `       cast(date_trunc('month', "O_ORDERDATE") as date) as "O_ORDERDATE",`,
        `       "IS_RUSH" as "IS_RUSH",`,
        `       cast(date_trunc('month', "CREATED_AT") as date) as "CREATED_AT"`,
        `from "sales"."ORDERS"`,
        `where not ("O_ORDERKEY" is null`,
        `     and ("O_ORDERSTATUS" is null or trim("O_ORDERSTATUS", chr(32) || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)) = '')`,
        `     and "O_TOTALPRICE" is null`,
        `     and "O_ORDERDATE" is null`,
        `     and "IS_RUSH" is null`,
        `     and "CREATED_AT" is null)`,
        `group by "O_ORDERSTATUS", cast(date_trunc('month', "O_ORDERDATE") as date), "IS_RUSH", cast(date_trunc('month', "CREATED_AT") as date)`,
        `order by 4 nulls last`,
      ].join('\n'),
    );
  });

  it('quotes catalog names exactly, doubling embedded quotes', () => {
    const plan = planTransfer({ table: 'T' }, 'duckdb', [
      col('My "odd" col', 'VARCHAR', 'text'),
      col('d', 'DATE', 'date'),
    ]);
    expect(buildAggregateSql(plan)).toContain(`"My ""odd"" col" as "My ""odd"" col"`);
  });

  it("on Snowflake, quotes the catalog's spelling exactly and names outputs as result rows do", () => {
    // Prepare: what INFORMATION_SCHEMA says, including a column created quoted in lower case
    const plan = planTransfer({ database: 'DB', schema: 'PUBLIC', table: 'ORDERS' }, 'snowflake', [
      col('O_TOTALPRICE', 'NUMBER(12,2)', 'number'),
      col('order_date', 'DATE', 'date'),
      col('userId', 'TEXT', 'text'),
    ]);

    // Act
    const sql = buildAggregateSql(plan);

    // Assess
    expect(sql).toContain('sum("O_TOTALPRICE") as "o_totalprice"');
    expect(sql).toContain(`cast(date_trunc('month', "order_date") as date) as "order_date"`);
    expect(sql).not.toContain('"ORDER_DATE"');
    expect(sql).toContain('from "DB"."PUBLIC"."ORDERS"');
    expect(sql).toContain('"userId" as "userId"');
    expect(plan.columns.map((c) => c.output)).toEqual(['o_totalprice', 'order_date', 'userId']);
    expect(quoteColumn('order_date')).toBe('"order_date"');
  });

  it('refuses two columns that would be written under one name', () => {
    expect(() =>
      planTransfer({ table: 'T' }, 'snowflake', [col('ORDER_DATE', 'DATE', 'date'), col('order_date', 'DATE', 'date')]),
    ).toThrow(/columns ORDER_DATE and order_date of T would both be written as order_date/);
  });

  it('with only sums besides the key, groups by the month alone; without ordering when asked', () => {
    const plan = planTransfer({ table: 'R' }, 'duckdb', [
      col('N', 'INTEGER', 'number'),
      col('TS', 'TIMESTAMP', 'timestamp'),
    ]);
    const sql = buildAggregateSql(plan, { orderByMonth: false });
    expect(sql).toMatch(/group by cast\(date_trunc\('month', "TS"\) as date\)$/);
    expect(sql).not.toContain('order by');
  });

  it('the blank-row predicate trims only text columns', () => {
    expect(blankRowPredicate([col('A', 'INTEGER', 'number'), col('B', 'VARCHAR', 'text')])).toBe(
      `"A" is null\n     and ("B" is null or trim("B", chr(32) || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)) = '')`,
    );
  });
});

describe('column kinds and unsupported types', () => {
  it.each([
    ['INTEGER[]', 'other'],
    ['DECIMAL(18,2)[]', 'other'],
    ['VARCHAR[3]', 'other'],
    ['TIMESTAMP[]', 'other'],
    ['STRUCT(x INTEGER)', 'other'],
    ['MAP(VARCHAR, INTEGER)', 'other'],
    ['ARRAY', 'other'],
    ['VARIANT', 'other'],
    ['BLOB', 'other'],
    ['INTEGER', 'number'],
    ['DECIMAL(18,2)', 'number'],
    ['NUMBER(38,0)', 'number'],
    ['DOUBLE PRECISION', 'number'],
    ['TIMESTAMP WITH TIME ZONE', 'timestamp'],
    ['TIMESTAMP_NTZ', 'timestamp'],
    ['DATE', 'date'],
    ['VARCHAR', 'text'],
    ["ENUM('a', 'b')", 'text'],
    ['BOOLEAN', 'boolean'],
  ])('%s is %s', (type, kind) => {
    expect(columnKind(type)).toBe(kind);
  });

  it('names the columns it cannot aggregate before any SQL, and takes them when columns leaves them out', () => {
    // Prepare
    const columns = [
      col('TAGS', 'INTEGER[]', columnKind('INTEGER[]')),
      col('N', 'INTEGER', 'number'),
      col('D', 'DATE', 'date'),
    ];

    // Act / Assess
    expect(() => planTransfer({ table: 'T' }, 'duckdb', columns)).toThrow(
      /table T has columns the transfer cannot aggregate or write: TAGS INTEGER\[\] .*leave them out with the columns option/,
    );
    const plan = planTransfer({ table: 'T' }, 'duckdb', columns, { columns: ['N'] });
    const sql = buildAggregateSql(plan);
    expect(sql).not.toContain('sum("TAGS")');
    expect(sql).toContain('"TAGS" is null');
  });
});

describe('output types', () => {
  it('sums of integers and decimals are DECIMAL(38,s), of floats DOUBLE; grouped columns keep their type', () => {
    const plan = planTransfer({ table: 'T' }, 'duckdb', [
      col('I', 'INTEGER', 'number'),
      col('B', 'BIGINT', 'number'),
      col('M', 'DECIMAL(18,2)', 'number'),
      col('F', 'DOUBLE', 'number'),
      col('K', 'BIGINT', 'number'),
      col('H', 'HUGEINT', 'number'),
      col('P', 'DECIMAL(10,4)', 'number'),
      col('D', 'DATE', 'date'),
      col('TS', 'TIMESTAMP', 'timestamp'),
      col('S', 'VARCHAR', 'text'),
    ], { sumColumns: ['I', 'B', 'M', 'F'], groupColumns: ['TS'] });
    expect(Object.fromEntries(plan.columns.map((c) => [c.name, c.outputType]))).toEqual({
      I: 'DECIMAL(38,0)',
      B: 'DECIMAL(38,0)',
      M: 'DECIMAL(38,2)',
      F: 'DOUBLE',
      K: 'BIGINT',
      H: 'DECIMAL(38,0)',
      P: 'DECIMAL(10,4)',
      D: 'DATE',
      TS: 'TIMESTAMP',
      S: 'VARCHAR',
    });
  });

  it('on Snowflake, NUMBER(p,0) up to 18 digits groups as BIGINT, wider as DECIMAL', () => {
    const plan = planTransfer({ table: 'T' }, 'snowflake', [
      col('A', 'NUMBER(18,0)', 'number'),
      col('B', 'NUMBER(38,0)', 'number'),
      col('D', 'DATE', 'date'),
    ], { sumColumns: [] });
    expect(plan.columns.map((c) => c.outputType)).toEqual(['BIGINT', 'DECIMAL(38,0)', 'DATE']);
  });
});

describe('monthPartition', () => {
  it.each([
    ['2024-03-01', 'month=2024-03'],
    ['1999-12-01 00:00:00', 'month=1999-12'],
    [null, 'month=__null__'],
  ])('%j -> %s', (value, expected) => {
    expect(monthPartition(value)).toBe(expected);
  });

  it('refuses a value that is not a date', () => {
    expect(() => monthPartition('March')).toThrow(/unexpected month key value "March"/);
  });
});

describe('buildUnloadSql (Snowflake)', () => {
  // as INFORMATION_SCHEMA spells them: unquoted names are upper case
  const plan = planTransfer({ table: 'MOVIE_RATINGS' }, 'snowflake', [
    col('USERID', 'NUMBER(38,0)', 'number'),
    col('RATING', 'FLOAT', 'number'),
    col('TIMESTAMP', 'TIMESTAMP_NTZ', 'timestamp'),
  ]);
  const location = '@"RAW"."EXPORT_STAGE"/transfer/MOVIE_RATINGS/run-1/';

  it('JSON: one OBJECT column, partitioned by the month read back from it, detailed output', () => {
    const sql = buildUnloadSql(plan, { location, format: 'jsonl.gz', maxFileSize: 268435456 });
    expect(sql.split('\n')[0]).toBe(`copy into ${location}`);
    // the object's keys are the aliases: the same lower-case names as the streamed files
    expect(sql).toContain(
      'from (select object_construct_keep_null(*) as row_object from (\nselect sum("USERID") as "userid"',
    );
    expect(sql).toContain('sum("RATING") as "rating"');
    expect(sql).toContain(`cast(date_trunc('month', "TIMESTAMP") as date) as "timestamp"`);
    expect(sql).not.toMatch(/ as "[A-Z]+"/);
    expect(sql).not.toContain('order by');
    expect(sql).toContain(
      `partition by ('month=' || coalesce(to_varchar(row_object:"timestamp"::date, 'YYYY-MM'), '__null__'))`,
    );
    expect(sql).toContain('file_format = (type = json compression = gzip)');
    expect(sql).toContain('max_file_size = 268435456');
    expect(sql).toContain('header = false');
    expect(sql.split('\n').pop()).toBe('detailed_output = true');
  });

  it('CSV and Parquet: the aggregation itself, partitioned by the month key, with a header', () => {
    const csv = buildUnloadSql(plan, { location, format: 'csv.gz', maxFileSize: 1000 });
    expect(csv).toContain(
      `partition by ('month=' || coalesce(to_varchar("timestamp", 'YYYY-MM'), '__null__'))`,
    );
    expect(csv).toContain('sum("USERID") as "userid"');
    expect(csv).toContain(
      `type = csv compression = gzip field_optionally_enclosed_by = '"' null_if = ('') empty_field_as_null = false`,
    );
    expect(csv).toContain('header = true');
    const parquet = buildUnloadSql(plan, { location, format: 'parquet', maxFileSize: 1000 });
    expect(parquet).toContain('file_format = (type = parquet compression = snappy)');
  });

  it('with columns, unloads only the kept columns; blank rows are still judged on every column', () => {
    const narrow = planTransfer(plan.table, 'snowflake', plan.tableColumns, { columns: ['rating'] });
    const sql = buildUnloadSql(narrow, { location, format: 'csv.gz', maxFileSize: 1000 });
    expect(sql).toContain('select sum("RATING") as "rating",');
    expect(sql).not.toContain('as "userid"');
    expect(sql).toContain('where not ("USERID" is null');
  });

  it('refuses DuckDB, odd locations and out-of-range file sizes', () => {
    const duck = planTransfer({ table: 'T' }, 'duckdb', [col('d', 'DATE', 'date')]);
    expect(() => buildUnloadSql(duck, { location, format: 'parquet', maxFileSize: 1 })).toThrow(
      /needs the Snowflake/,
    );
    expect(() =>
      buildUnloadSql(plan, { location: "@s/x'; drop/", format: 'parquet', maxFileSize: 1 }),
    ).toThrow(/invalid stage location/);
    expect(() => buildUnloadSql(plan, { location, format: 'parquet', maxFileSize: 6 * 1024 ** 3 })).toThrow(
      /max_file_size/,
    );
  });
});
