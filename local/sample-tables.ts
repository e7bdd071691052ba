/**
 * Synthetic equivalents of the transfer seed's three Snowflake sample tables (the transfer brief), generated
 * inside the local DuckDB warehouse so the transfer can be run, tested and benchmarked offline.
 *
 * Every table is deterministic (values derive from `hash(row number)`, no RNG state), so two runs
 * produce identical tables, and each carries the dirt the transfer must handle:
 * - fully blank rows: every column NULL, or text columns only whitespace/empty and the rest NULL;
 * - whitespace-only and empty strings inside otherwise normal rows (kept and grouped as they are);
 * - NULLs in numeric and date columns of otherwise normal rows.
 *
 * MOVIE_RATINGS_27M has exactly the seed's columns (`USERID, MOVIEID, RATING, TIMESTAMP`), none of
 * them text, so its dirt is fully blank rows and NULLs only.
 *
 * `rows` scales a table down (tests use a few thousand rows of the same generator); the default is
 * the seed's size.
 */
import { InvalidInputError } from '../shared/errors';
import { quoteTable } from '../shared/warehouse/identifiers';
import type { TableRef, Warehouse } from '../shared/warehouse/port';

export interface SampleTable {
  name: string;
  /** Row count of the seed's table. */
  defaultRows: number;
  description: string;
  /** `create or replace table <target> as select ... from range(<rows>)` in DuckDB SQL. */
  sql: (target: string, rows: number) => string;
}

/**
 * A deterministic integer in [0, mod) from the row number `i` and a per-column salt.
 * DuckDB's `hash` is a stable 64-bit hash; casting through UBIGINT keeps the modulo non-negative.
 */
function h(salt: number, mod: number): string {
  return `(hash(i * 7919 + ${salt}) % ${mod})::bigint`;
}

const LOCATIONS_595: SampleTable = {
  name: 'LOCATIONS_595',
  defaultRows: 595,
  description: 'places with a date of birth (DOB), an area (AREA_KM2) and a population',
  sql: (target, rows) => `
    create or replace table ${target} as
    with base as (select range as i from range(${rows}))
    select
      case when blank then null else i + 1 end::integer as "LOCATION_ID",
      case when blank then (case when i % 2 = 0 then '   ' else null end)
           when i % 41 = 5 then '  '
           else 'Location ' || (i + 1) end as "NAME",
      case when blank then (case when i % 2 = 1 then '' else null end)
           when i % 53 = 9 then ''
           else ['GB', 'IE', 'FR', 'DE', 'ES', 'NL'][${h(1, 6)} + 1] end as "COUNTRY",
      case when blank then null
           else ['North', 'South', 'East', 'West', 'Central'][${h(2, 5)} + 1] end as "REGION",
      case when blank or i % 37 = 3 then null
           else date '1940-01-01' + ${h(3, 80 * 365)}::integer end as "DOB",
      case when blank or i % 29 = 4 then null
           else round(1 + ${h(4, 5000000)} / 100.0, 2)::decimal(12, 2) end as "AREA_KM2",
      case when blank then null else ${h(5, 2000000)}::integer end as "POPULATION",
      case when blank then null else ${h(6, 2)} = 1 end as "IS_COASTAL"
    from (select i, (i % 97 = 50) as blank from base)
  `,
};

const ORDERS_100K: SampleTable = {
  name: 'ORDERS_100K',
  defaultRows: 100_000,
  description: 'TPC-H ORDERS-like columns plus CREATED_AT',
  sql: (target, rows) => `
    create or replace table ${target} as
    with base as (select range as i from range(${rows}))
    select
      case when blank then null else i * 4 + 1 end::bigint as "O_ORDERKEY",
      case when blank then null else ${h(11, 150000)} + 1 end::bigint as "O_CUSTKEY",
      case when blank then (case when i % 3 = 0 then ' ' else null end)
           else ['O', 'F', 'P'][${h(12, 3)} + 1] end as "O_ORDERSTATUS",
      case when blank or i % 211 = 17 then null
           else (900 + ${h(13, 50000000)} / 100.0)::decimal(12, 2) end as "O_TOTALPRICE",
      case when blank then null else date '1992-01-01' + ${h(14, 2405)}::integer end as "O_ORDERDATE",
      case when blank then null
           else ['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'][${h(15, 5)} + 1] end as "O_ORDERPRIORITY",
      case when blank then null
           else 'Clerk#' || lpad((${h(16, 1000)} + 1)::varchar, 9, '0') end as "O_CLERK",
      case when blank then null else 0 end::integer as "O_SHIPPRIORITY",
      case when blank then (case when i % 3 = 1 then '\t ' else null end)
           when i % 89 = 7 then '   '
           else ['carefully ', 'quickly ', 'furiously ', 'slyly ', 'blithely '][${h(17, 5)} + 1]
             || ['final ', 'regular ', 'ironic ', 'express ', 'pending '][${h(18, 5)} + 1]
             || ['deposits', 'requests', 'packages', 'accounts'][${h(19, 4)} + 1] end as "O_COMMENT",
      case when blank then null
           else timestamp '2019-01-01 00:00:00' + to_seconds(${h(20, 5 * 365 * 86400)}) end as "CREATED_AT"
    from (select i, (i % 1009 = 500) as blank from base)
  `,
};

const MOVIE_RATINGS_27M: SampleTable = {
  name: 'MOVIE_RATINGS_27M',
  defaultRows: 27_000_000,
  description: 'MovieLens-like ratings: USERID, MOVIEID, RATING (0.5..5.0), TIMESTAMP (1995..2018)',
  sql: (target, rows) => `
    create or replace table ${target} as
    with base as (select range as i from range(${rows}))
    select
      case when blank then null else ${h(31, 283228)} + 1 end::integer as "USERID",
      case when blank then null else ${h(32, 193886)} + 1 end::integer as "MOVIEID",
      case when blank or i % 100003 = 11 then null
           else ((${h(33, 10)} + 1) * 0.5)::decimal(2, 1) end as "RATING",
      case when blank then null
           else timestamp '1995-01-09 00:00:00' + to_seconds(${h(34, 733000000)}) end as "TIMESTAMP"
    from (select i, (i % 999983 = 4242) as blank from base)
  `,
};

export const SAMPLE_TABLES: readonly SampleTable[] = [LOCATIONS_595, ORDERS_100K, MOVIE_RATINGS_27M];

export function sampleTable(name: string): SampleTable {
  const spec = SAMPLE_TABLES.find((t) => t.name === name.toUpperCase());
  if (!spec) {
    throw new InvalidInputError(
      `unknown sample table ${JSON.stringify(name)}: expected one of ${SAMPLE_TABLES.map((t) => t.name).join(', ')}`,
    );
  }
  return spec;
}

export interface GenerateOptions {
  /** Scale the table (default: the seed's row count). */
  rows?: number;
  /** Create it under this name instead (tests). */
  target?: TableRef;
}

/** Create (or replace) one sample table in a DuckDB warehouse; returns its row count. */
export async function generateSampleTable(
  wh: Warehouse,
  name: string,
  opts: GenerateOptions = {},
): Promise<number> {
  if (!wh.dialect.embedded) {
    throw new InvalidInputError('sample tables are generated in the local DuckDB warehouse only');
  }
  const spec = sampleTable(name);
  const rows = opts.rows ?? spec.defaultRows;
  if (!Number.isSafeInteger(rows) || rows < 0)
    throw new InvalidInputError(`rows must be a non-negative integer`);
  const target = quoteTable(opts.target ?? { table: spec.name }, 'duckdb');
  await wh.execute(spec.sql(target, rows));
  const [row] = await wh.query<{ n: number }>(`select count(*)::integer as n from ${target}`);
  return row?.n ?? 0;
}
