/**
 * DuckDB's catalog lookups as text, shared by the DuckDB adapter and the loopback adapter (which
 * runs them through the local stack's endpoint, so it must not load the native module).
 * DuckDB matches identifiers case-insensitively, quoted or not, so the lookup does too.
 * https://duckdb.org/docs/stable/sql/dialect/keywords_and_identifiers#case-sensitivity-of-identifiers
 */
import { columnKind, type Param, type Row, type TableDescription, type TableRef } from './port';

/** Columns of every table or view the reference can name; unqualified: every schema of the current database. */
export function duckdbFindTablesSql(ref: TableRef): { sql: string; params: Param[] } {
  return {
    sql: `select table_catalog, table_schema, table_name, column_name, data_type
        from information_schema.columns
       where lower(table_name) = lower(?)
         and ((? is null and lower(table_schema) not in ('information_schema', 'pg_catalog')) or lower(table_schema) = lower(?))
         and ((? is null and table_catalog = current_database()) or lower(table_catalog) = lower(?))
       order by table_catalog, table_schema, table_name, ordinal_position`,
    params: [ref.table, ref.schema ?? null, ref.schema ?? null, ref.database ?? null, ref.database ?? null],
  };
}

/** Rows of the lookup above (or Snowflake's) grouped into one description per table, in order. */
export function groupTables(rows: Row[], type: (r: Row) => string = (r) => String(r.data_type)): TableDescription[] {
  const tables = new Map<string, TableDescription>();
  for (const r of rows) {
    const database = String(r.table_catalog);
    const schema = String(r.table_schema);
    const table = String(r.table_name);
    const id = JSON.stringify([database, schema, table]);
    let entry = tables.get(id);
    if (!entry) {
      entry = { database, schema, table, columns: [] };
      tables.set(id, entry);
    }
    const t = type(r);
    entry.columns.push({ name: String(r.column_name), type: t, kind: columnKind(t) });
  }
  return [...tables.values()];
}
