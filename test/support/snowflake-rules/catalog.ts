/**
 * Tables and their NOT NULL columns, read from CREATE TABLE statements with the independent parser:
 * those of sql/snowflake/*.sql as migrate renders them, and any a test sends (the fake learns them).
 *
 * Names are keyed `SCHEMA.TABLE` the way Snowflake resolves them: unquoted identifiers upper-cased,
 * quoted ones as written (https://docs.snowflake.com/en/sql-reference/identifiers-syntax); the database
 * part is dropped (every statement of the pipeline is in one database). PRIMARY KEY is not taken as
 * NOT NULL: the constraints page says only NOT NULL is enforced, and our tables declare NOT NULL
 * wherever they mean it.
 */
import { loadConfig } from '../../../shared/config';
import { renderScript, snowflakeParameters, snowflakeScripts } from '../../../shared/migrate';
import { splitStatements } from '../../../shared/warehouse/split-statements';

export interface ColumnDecl {
  name: string;
  notNull: boolean;
  hasDefault: boolean;
}

export interface TableDecl {
  columns: ColumnDecl[];
  /** Where it was declared (a script name or 'a statement sent in this test'). */
  source: string;
}

interface Ident {
  name: string;
  quoted: boolean;
}

export function identifierKey(id: Ident): string {
  return id.quoted ? id.name : id.name.toUpperCase();
}

/** `SCHEMA.TABLE` of a parser table node ({ name, schema, catalog }), or undefined. */
export function tableKey(node: unknown): string | undefined {
  const t = node as { name?: Ident; schema?: Ident | null } | undefined;
  if (!t?.name || typeof t.name.name !== 'string') return undefined;
  const schema = t.schema && typeof t.schema.name === 'string' ? identifierKey(t.schema) : 'PUBLIC';
  return `${schema}.${identifierKey(t.name)}`;
}

export class Catalog {
  private readonly tables = new Map<string, TableDecl>();

  get(key: string): TableDecl | undefined {
    return this.tables.get(key);
  }

  keys(): string[] {
    return [...this.tables.keys()];
  }

  clone(): Catalog {
    const copy = new Catalog();
    for (const [k, v] of this.tables) copy.tables.set(k, v);
    return copy;
  }

  /** Take in the CREATE TABLE nodes of a parse tree. */
  learn(asts: unknown[], source: string): void {
    for (const ast of asts) {
      const create = (ast as { create_table?: Record<string, unknown> }).create_table;
      if (!create) continue;
      const key = tableKey(create.name);
      if (!key) continue;
      if (create.if_not_exists === true && this.tables.has(key)) continue;
      const like = Array.isArray(create.constraints)
        ? (create.constraints as { Like?: { source?: unknown } }[]).find((c) => c.Like)?.Like?.source
        : undefined;
      const likeKey = like ? tableKey(like) : undefined;
      if (likeKey) {
        const from = this.tables.get(likeKey);
        if (from) this.tables.set(key, { columns: from.columns, source: `${source} (LIKE ${likeKey})` });
        continue;
      }
      const columns = Array.isArray(create.columns)
        ? (create.columns as { name: Ident; nullable?: boolean | null; default?: unknown }[]).map((c) => ({
            name: identifierKey(c.name),
            notNull: c.nullable === false,
            hasDefault: c.default !== null && c.default !== undefined,
          }))
        : [];
      this.tables.set(key, { columns, source });
    }
  }
}

/** The environment the migrate tests render the scripts with. */
export const MIGRATION_ENV: NodeJS.ProcessEnv = {
  STAGE: 'dev',
  LANDING_BUCKET: 'sp-dev-landing',
  EXPORTS_BUCKET: 'sp-dev-exports',
  SNOWFLAKE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sf',
  SNOWFLAKE_STORAGE_ROLE_ARN: 'arn:aws:iam::123456789012:role/sp-snowflake-s3',
};

/** Every statement of sql/snowflake/*.sql (admin scripts included), rendered as migrate renders them. */
export function renderedMigrations(env: NodeJS.ProcessEnv = MIGRATION_ENV): { file: string; sql: string }[] {
  const params = snowflakeParameters(loadConfig(env), env);
  return snowflakeScripts().flatMap((s) => splitStatements(renderScript(s.text, params, s.file)).map((sql) => ({ file: s.file, sql })));
}
