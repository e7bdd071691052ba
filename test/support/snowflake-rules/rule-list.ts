/** The rules of ./rules.ts, each with the documentation page that is its source of truth. */
import { RESERVED_KEYWORDS_URL } from './reserved-keywords';

export interface Rule {
  id: string;
  title: string;
  url: string;
}

export const RULES = {
  syntax: {
    id: 'snowflake-syntax',
    title: 'parses as Snowflake SQL (independent parser @polyglot-sql/sdk, or the documented check for a statement kind it cannot read)',
    url: 'https://docs.snowflake.com/en/sql-reference-commands',
  },
  reserved: {
    id: 'reserved-keyword',
    title: 'no reserved keyword as an unquoted identifier',
    url: RESERVED_KEYWORDS_URL,
  },
  insertNotNull: {
    id: 'insert-not-null',
    title: 'an INSERT names every NOT NULL column (without DEFAULT) of its target table',
    url: 'https://docs.snowflake.com/en/sql-reference/constraints-overview',
  },
  createFunctionOrder: {
    id: 'create-function-clause-order',
    title: 'CREATE FUNCTION clauses in the documented order (COPY GRANTS right after the argument list, before RETURNS)',
    url: 'https://docs.snowflake.com/en/sql-reference/sql/create-function#javascript-handler',
  },
  ddlCommitsTransaction: {
    id: 'ddl-commits-transaction',
    title: 'no DDL inside an explicit transaction: it commits the open transaction, so a later ROLLBACK undoes nothing before it',
    url: 'https://docs.snowflake.com/en/sql-reference/transactions#ddl',
  },
} as const satisfies Record<string, Rule>;

