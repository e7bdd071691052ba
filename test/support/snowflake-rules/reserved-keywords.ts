/**
 * Snowflake's reserved and limited keywords, exactly as the documentation lists them:
 * https://docs.snowflake.com/en/sql-reference/reserved-keywords (read 2026-01; the page's single-letter
 * rows A, B, C, ... are section headings, not keywords).
 *
 * The page gives each keyword one comment, which says where it may not be an identifier:
 *
 * - "Reserved by ANSI." / "Reserved by Snowflake." / "Reserved by Snowflake and others.": nowhere
 *   (`anywhere`): not as a table, column, alias, schema or any other unquoted identifier.
 * - "Cannot be used as an identifier in a SHOW command (e.g. 'SHOW … IN <identifier>')." (`show-in`)
 * - "Cannot be used as column reference in a scalar expression." (`column-reference`)
 * - "Cannot be used as a column name in CREATE TABLE DDL." (`create-table-column`)
 * - "Cannot be used as table name or alias in a FROM clause." (`from-table`)
 * - "Cannot be used as column name (reserved by ANSI)." (`column-name`)
 *
 * A keyword used as a keyword (`select ... from`, `order by`, `show ... in schema x`) is fine; a quoted
 * identifier ("SAMPLE") is never a keyword. Keep this list in step with the page: it is the source of
 * truth, not what our code happens to use.
 */

export const RESERVED_KEYWORDS_URL = 'https://docs.snowflake.com/en/sql-reference/reserved-keywords';

export type Restriction = 'anywhere' | 'show-in' | 'column-reference' | 'create-table-column' | 'from-table' | 'column-name';

export const RESTRICTION_TEXT: Record<Restriction, string> = {
  anywhere: 'reserved: cannot be an unquoted identifier',
  'show-in': "cannot be used as an identifier in a SHOW command ('SHOW ... IN <identifier>')",
  'column-reference': 'cannot be used as column reference in a scalar expression',
  'create-table-column': 'cannot be used as a column name in CREATE TABLE DDL',
  'from-table': 'cannot be used as table name or alias in a FROM clause',
  'column-name': 'cannot be used as column name (reserved by ANSI)',
};

const A: Restriction = 'anywhere';

/** keyword -> where the page forbids it as an identifier. */
export const RESERVED_KEYWORDS: ReadonlyMap<string, Restriction> = new Map<string, Restriction>([
  ['ACCOUNT', 'show-in'],
  ['ALL', A],
  ['ALTER', A],
  ['AND', A],
  ['ANY', A],
  ['AS', A],
  ['BETWEEN', A],
  ['BY', A],
  ['CASE', 'column-reference'],
  ['CAST', 'column-reference'],
  ['CHECK', A],
  ['COLUMN', A],
  ['CONNECT', A],
  ['CONNECTION', 'show-in'],
  ['CONSTRAINT', 'create-table-column'],
  ['CREATE', A],
  ['CROSS', 'from-table'],
  ['CURRENT', A],
  ['CURRENT_DATE', 'column-name'],
  ['CURRENT_TIME', 'column-name'],
  ['CURRENT_TIMESTAMP', 'column-name'],
  ['CURRENT_USER', 'column-name'],
  ['DATABASE', 'show-in'],
  ['DELETE', A],
  ['DISTINCT', A],
  ['DROP', A],
  ['ELSE', A],
  ['EXISTS', A],
  ['FALSE', 'column-reference'],
  ['FOLLOWING', A],
  ['FOR', A],
  ['FROM', A],
  ['FULL', 'from-table'],
  ['GRANT', A],
  ['GROUP', A],
  ['GSCLUSTER', 'show-in'],
  ['HAVING', A],
  ['ILIKE', A],
  ['IN', A],
  ['INCREMENT', A],
  ['INNER', 'from-table'],
  ['INSERT', A],
  ['INTERSECT', A],
  ['INTO', A],
  ['IS', A],
  ['ISSUE', 'show-in'],
  ['JOIN', 'from-table'],
  ['LATERAL', 'from-table'],
  ['LEFT', 'from-table'],
  ['LIKE', A],
  ['LOCALTIME', 'column-name'],
  ['LOCALTIMESTAMP', 'column-name'],
  ['MINUS', A],
  ['NATURAL', 'from-table'],
  ['NOT', A],
  ['NULL', A],
  ['OF', A],
  ['ON', A],
  ['OR', A],
  ['ORDER', A],
  ['ORGANIZATION', 'show-in'],
  ['QUALIFY', A],
  ['REGEXP', A],
  ['REVOKE', A],
  ['RIGHT', 'from-table'],
  ['RLIKE', A],
  ['ROW', A],
  ['ROWS', A],
  ['SAMPLE', A],
  ['SCHEMA', 'show-in'],
  ['SELECT', A],
  ['SET', A],
  ['SOME', A],
  ['START', A],
  ['TABLE', A],
  ['TABLESAMPLE', A],
  ['THEN', A],
  ['TO', A],
  ['TRIGGER', A],
  ['TRUE', 'column-reference'],
  ['TRY_CAST', 'column-reference'],
  ['UNION', A],
  ['UNIQUE', A],
  ['UPDATE', A],
  ['USING', 'from-table'],
  ['VALUES', A],
  ['VIEW', 'show-in'],
  ['WHEN', 'column-reference'],
  ['WHENEVER', A],
  ['WHERE', A],
  ['WINDOW', A],
  ['WITH', A],
]);

/** Where an unquoted identifier stands, as far as the page's restrictions tell places apart. */
export type IdentifierPlace = 'table' | 'column-reference' | 'column-name' | 'create-table-column' | 'show-in' | 'other';

/** The restriction a keyword breaks in that place, or undefined when it may stand there. */
export function reservedIn(word: string, place: IdentifierPlace): Restriction | undefined {
  const restriction = RESERVED_KEYWORDS.get(word.toUpperCase());
  if (!restriction) return undefined;
  if (restriction === 'anywhere') return restriction;
  switch (restriction) {
    case 'from-table':
      return place === 'table' ? restriction : undefined;
    case 'show-in':
      return place === 'show-in' ? restriction : undefined;
    case 'column-reference':
      return place === 'column-reference' ? restriction : undefined;
    case 'create-table-column':
      return place === 'create-table-column' ? restriction : undefined;
    case 'column-name':
      // a column reference, a column alias and a declared column all name a column
      return place === 'column-reference' || place === 'column-name' || place === 'create-table-column' ? restriction : undefined;
  }
}
