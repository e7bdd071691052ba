/**
 * Identifiers that come from users (the transfer's table name, column options) are validated
 * against the unquoted-identifier grammar both engines share, then always quoted. Anything else is
 * rejected with a clear error before any SQL runs.
 *
 * Snowflake resolves unquoted identifiers as upper case, so a validated name is quoted upper-cased
 * there (`orders_100k` -> `"ORDERS_100K"`), which is what the user meant by the unquoted name.
 * DuckDB matches identifiers case-insensitively, quoted or not.
 * https://docs.snowflake.com/en/sql-reference/identifiers-syntax
 */
import { InvalidInputError } from '../errors';
import type { Engine, TableRef } from './port';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

export function assertIdentifier(name: string, what = 'identifier'): string {
  if (typeof name !== 'string' || !isIdentifier(name)) {
    throw new InvalidInputError(
      `invalid ${what} ${JSON.stringify(name)}: use letters, digits, _ and $, starting with a letter or _`,
    );
  }
  return name;
}

/** Accepts `table`, `schema.table` or `database.schema.table` of valid identifiers. */
export function parseTableName(input: unknown): TableRef {
  if (typeof input !== 'string' || input.length === 0 || input.length > 767) {
    throw new InvalidInputError(`invalid table name ${JSON.stringify(input)}: expected table, schema.table or database.schema.table`);
  }
  const parts = input.split('.');
  if (parts.length > 3 || !parts.every(isIdentifier)) {
    throw new InvalidInputError(
      `invalid table name ${JSON.stringify(input)}: expected table, schema.table or database.schema.table ` +
        'where each part is letters, digits, _ or $, starting with a letter or _',
    );
  }
  const [a, b, c] = parts as [string, string?, string?];
  if (parts.length === 3) return { database: a, schema: b as string, table: c as string };
  if (parts.length === 2) return { schema: a, table: b as string };
  return { table: a };
}

export function quoteIdent(name: string, engine: Engine): string {
  assertIdentifier(name);
  return `"${engine === 'snowflake' ? name.toUpperCase() : name}"`;
}

export function quoteTable(ref: TableRef, engine: Engine): string {
  return [ref.database, ref.schema, ref.table]
    .filter((p): p is string => p !== undefined)
    .map((p) => quoteIdent(p, engine))
    .join('.');
}

export function tableLabel(ref: TableRef): string {
  return [ref.database, ref.schema, ref.table].filter(Boolean).join('.');
}

/** A SQL string literal with quotes doubled (for values that cannot be bound, e.g. in DDL). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
