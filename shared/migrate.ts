/**
 * Schema setup as code: apply `sql/<engine>/*.sql` in file-name order, one statement at a time.
 *
 * Snowflake: every script is idempotent (IF NOT EXISTS, ALTER ... SET, grants, CREATE OR REPLACE only
 * for stateless functions, never for pipes), so `migrate` can run on every deploy. Scripts are
 * templates: `{{NAME}}` placeholders are filled from the configuration below and validated first (a
 * placeholder is pasted into SQL, so it must look like what it stands for). A script whose first
 * lines say `-- migrate: admin` needs account-level roles (USERADMIN, SECURITYADMIN, ACCOUNTADMIN):
 * it runs only when asked (`admin: true`), by an administrator, once per environment.
 *
 * DuckDB: sql/duckdb/schema.sql is applied whenever the warehouse file is opened, so migrate applies
 * nothing; it opens the warehouse and verifies that every table the schema declares exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { config as loadedConfig, type Config } from './config';
import { ConfigError, errorMessage, TerminalError } from './errors';
import { logger as rootLogger, type Logger } from './logger';
import { sqlRoot } from './paths';
import type { Warehouse } from './warehouse/port';
import { splitStatements, stripComments } from './warehouse/split-statements';
import { formatIssues } from './zod-issues';
import { defaultRegistry, type DatasetRegistry } from './datasets';
import { generatedSnowflakeScripts } from './ingest/landing/stage-sql';
import { ingestSchemaStatements } from './ingest/schema';
import { duckdbDialect } from './warehouse/dialect';
import prefixes from '../infra/prefixes.json';

/**
 * Snowflake unloads (transfer mode "unload") land under this prefix of the exports bucket. Defined in
 * infra/prefixes.json, which serverless.yml reads for the integration role's write permission.
 */
export const UNLOAD_PREFIX: string = prefixes.unloadPrefix;

export interface Script {
  file: string;
  path: string;
  admin: boolean;
  text: string;
}

export interface MigrateOptions {
  /** Include `-- migrate: admin` scripts (account setup; needs an administrator's session). */
  admin?: boolean;
  /** Render and return the statements without running them. */
  dryRun?: boolean;
  /** Only these scripts (file names, with or without `.sql`). */
  only?: string[];
  /** Placeholder values; default from the configuration and environment (`snowflakeParameters`). */
  params?: Record<string, string>;
  /** The datasets whose ingest layer to create; default the declared ones (shared/datasets/). */
  registry?: DatasetRegistry;
  log?: Logger;
}

export interface ScriptReport {
  file: string;
  admin: boolean;
  status: 'applied' | 'planned' | 'skipped (admin)' | 'verified';
  statements: number;
}

export interface MigrationReport {
  engine: 'duckdb' | 'snowflake';
  dryRun: boolean;
  scripts: ScriptReport[];
  /** Rendered statements, in order (dry run: what would run; otherwise: what ran). */
  statements: string[];
  /** DuckDB: the tables the schema declares and whether each exists. */
  tables?: { table: string; exists: boolean }[];
}

/** The scripts of an engine, sorted by file name; subdirectories (load templates) are not migrations. */
export function listScripts(engine: 'duckdb' | 'snowflake', dir = path.join(sqlRoot(), engine)): Script[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.sql'))
    .map((e) => e.name)
    .sort()
    .map((file) => {
      const full = path.join(dir, file);
      const text = fs.readFileSync(full, 'utf8');
      const head = text.split('\n').slice(0, 5).join('\n');
      return { file, path: full, admin: /^--\s*migrate:\s*admin\b/m.test(head), text };
    });
}

/**
 * The Snowflake migrations: the files of sql/snowflake/ and the scripts rendered from the dataset
 * declarations (ingest layer, rules functions, pipes, their grants), in file-name order.
 */
export function snowflakeScripts(registry: DatasetRegistry = defaultRegistry): Script[] {
  const generated = generatedSnowflakeScripts(registry).map((g) => ({
    file: g.file,
    path: `(generated) ${g.file}`,
    admin: false,
    text: g.text,
  }));
  return [...listScripts('snowflake'), ...generated].sort((a, b) => a.file.localeCompare(b.file));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const DOTTED = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$/;
const S3_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([A-Za-z0-9!_.*()/-]*\/)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/** What each placeholder must look like before it is pasted into SQL. */
const PLACEHOLDER_RULES: Record<string, { pattern: RegExp; what: string; env?: string }> = {
  DATABASE: { pattern: IDENT, what: 'an identifier', env: 'SNOWFLAKE_DATABASE' },
  WAREHOUSE: { pattern: IDENT, what: 'an identifier', env: 'SNOWFLAKE_WAREHOUSE' },
  DEPLOY_ROLE: { pattern: IDENT, what: 'a role name', env: 'SNOWFLAKE_DEPLOY_ROLE' },
  INGEST_USER: { pattern: IDENT, what: 'a user name', env: 'SNOWFLAKE_INGEST_USER' },
  REBUILD_USER: { pattern: IDENT, what: 'a user name', env: 'SNOWFLAKE_REBUILD_USER' },
  TRANSFER_USER: { pattern: IDENT, what: 'a user name', env: 'SNOWFLAKE_TRANSFER_USER' },
  MIGRATE_USER: { pattern: IDENT, what: 'a user name', env: 'SNOWFLAKE_MIGRATE_USER' },
  LOAD_ROLE: { pattern: IDENT, what: 'a role name', env: 'SNOWFLAKE_LOAD_ROLE' },
  TRANSFORM_ROLE: { pattern: IDENT, what: 'a role name', env: 'SNOWFLAKE_TRANSFORM_ROLE' },
  READ_ROLE: { pattern: IDENT, what: 'a role name', env: 'SNOWFLAKE_READ_ROLE' },
  PARTNER_ROLE: { pattern: IDENT, what: 'a role name', env: 'SNOWFLAKE_PARTNER_ROLE' },
  STORAGE_INTEGRATION: { pattern: IDENT, what: 'an identifier', env: 'SNOWFLAKE_STORAGE_INTEGRATION' },
  ROLE_ARN: { pattern: ROLE_ARN, what: 'an IAM role ARN', env: 'SNOWFLAKE_STORAGE_ROLE_ARN' },
  LANDING_URL: { pattern: S3_URL, what: "an s3://bucket/ URL ending in '/'", env: 'LANDING_BUCKET' },
  EXPORT_URL: { pattern: S3_URL, what: "an s3://bucket/ URL ending in '/'", env: 'EXPORTS_BUCKET' },
  LANDING_STAGE: { pattern: DOTTED, what: 'schema.stage', env: 'SNOWFLAKE_STAGE' },
  EXPORT_STAGE: { pattern: DOTTED, what: 'schema.stage', env: 'SNOWFLAKE_EXPORT_STAGE' },
};

const optionalName = z.string().regex(IDENT, 'must be an identifier').optional();

/** Settings only migrate needs (roles, integration); the rest comes from the shared configuration. */
const migrateEnvSchema = z.object({
  SNOWFLAKE_DEPLOY_ROLE: optionalName,
  SNOWFLAKE_LOAD_ROLE: optionalName,
  SNOWFLAKE_TRANSFORM_ROLE: optionalName,
  SNOWFLAKE_READ_ROLE: optionalName,
  SNOWFLAKE_PARTNER_ROLE: optionalName,
  SNOWFLAKE_STORAGE_INTEGRATION: optionalName,
  SNOWFLAKE_INGEST_USER: optionalName,
  SNOWFLAKE_REBUILD_USER: optionalName,
  SNOWFLAKE_TRANSFER_USER: optionalName,
  SNOWFLAKE_MIGRATE_USER: optionalName,
  SNOWFLAKE_STORAGE_ROLE_ARN: z.string().regex(ROLE_ARN, 'must be an IAM role ARN').optional(),
});

/**
 * Snowflake's system roles. None of them may be the deploy role: the migrate user's key lives in a
 * Lambda's secret, and these roles reach beyond this database (SYSADMIN owns every database, the
 * others manage users, grants or the account).
 * https://docs.snowflake.com/en/user-guide/security-access-control-overview#system-defined-roles
 */
const SYSTEM_ROLES = new Set(['ACCOUNTADMIN', 'SECURITYADMIN', 'USERADMIN', 'SYSADMIN', 'ORGADMIN', 'GLOBALORGADMIN', 'PUBLIC']);

/**
 * Placeholder values for the Snowflake scripts. Names default from the database name
 * (SHOPPING_PATTERNS_LOADER, SHOPPING_PATTERNS_DEPLOYER, the users SHOPPING_PATTERNS_INGEST, ...), as
 * serverless.yml derives them; the storage role ARN has no default (admin scripts need it).
 */
export function snowflakeParameters(cfg: Config = loadedConfig(), env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (cfg.warehouse.engine !== 'snowflake') throw new ConfigError('snowflake parameters need WAREHOUSE_ENGINE=snowflake');
  const parsed = migrateEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid migrate configuration:\n  ${formatIssues(parsed.error, '(configuration)', '\n  ')}`,
    );
  }
  const e = parsed.data;
  const db = cfg.warehouse.database.toUpperCase();
  const deployRole = e.SNOWFLAKE_DEPLOY_ROLE ?? `${db}_DEPLOYER`;
  if (SYSTEM_ROLES.has(deployRole.toUpperCase())) {
    throw new ConfigError(
      `SNOWFLAKE_DEPLOY_ROLE: ${deployRole} is a system role; migrate runs as a role that owns only this database's schemas (default ${db}_DEPLOYER), because its key lives in a Lambda`,
    );
  }
  const params: Record<string, string> = {
    DATABASE: db,
    WAREHOUSE: cfg.warehouse.computeWarehouse ?? `${db}_WH`,
    DEPLOY_ROLE: deployRole,
    INGEST_USER: e.SNOWFLAKE_INGEST_USER ?? `${db}_INGEST`,
    REBUILD_USER: e.SNOWFLAKE_REBUILD_USER ?? `${db}_REBUILD`,
    TRANSFER_USER: e.SNOWFLAKE_TRANSFER_USER ?? `${db}_TRANSFER`,
    MIGRATE_USER: e.SNOWFLAKE_MIGRATE_USER ?? `${db}_MIGRATE`,
    LOAD_ROLE: e.SNOWFLAKE_LOAD_ROLE ?? `${db}_LOADER`,
    TRANSFORM_ROLE: e.SNOWFLAKE_TRANSFORM_ROLE ?? `${db}_TRANSFORMER`,
    READ_ROLE: e.SNOWFLAKE_READ_ROLE ?? `${db}_READER`,
    PARTNER_ROLE: e.SNOWFLAKE_PARTNER_ROLE ?? `${db}_PARTNER`,
    STORAGE_INTEGRATION: e.SNOWFLAKE_STORAGE_INTEGRATION ?? `${db}_S3`,
    LANDING_URL: `s3://${cfg.buckets.landing}/`,
    // the integration role may write only under this prefix (infra/prefixes.json)
    EXPORT_URL: `s3://${cfg.buckets.exports}/${UNLOAD_PREFIX}`,
    LANDING_STAGE: cfg.warehouse.landingStage,
    EXPORT_STAGE: cfg.warehouse.exportStage,
  };
  if (e.SNOWFLAKE_STORAGE_ROLE_ARN) params.ROLE_ARN = e.SNOWFLAKE_STORAGE_ROLE_ARN;
  return params;
}

/**
 * Fill `{{NAME}}` placeholders. Every placeholder the script uses must have a value of the right shape;
 * the error names them all, with the variable that sets each.
 */
export function renderScript(text: string, params: Record<string, string>, file = 'script'): string {
  const problems: string[] = [];
  const used = new Set([...text.matchAll(/\{\{([A-Z_]+)\}\}/g)].map((m) => m[1] as string));
  for (const name of used) {
    const value = params[name];
    const rule = PLACEHOLDER_RULES[name];
    const setBy = rule?.env ? ` (set ${rule.env})` : '';
    if (value === undefined) problems.push(`{{${name}}} has no value${setBy}`);
    else if (rule && !rule.pattern.test(value)) problems.push(`{{${name}}} = ${JSON.stringify(value)} is not ${rule.what}${setBy}`);
    else if (!rule && !IDENT.test(value)) problems.push(`{{${name}}} = ${JSON.stringify(value)} is not an identifier`);
  }
  if (problems.length > 0) throw new ConfigError(`${file}: ${problems.join('; ')}`);
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => params[name] as string);
}

/** Apply (or plan) the migrations of the warehouse's engine. */
export async function migrate(wh: Warehouse, opts: MigrateOptions = {}): Promise<MigrationReport> {
  const log = (opts.log ?? rootLogger).child({ step: 'migrate' });
  if (wh.dialect.selfMigrating) return verifyDuckDb(wh, opts, log);

  const params = opts.params ?? snowflakeParameters();
  const only = opts.only?.map((f) => (f.endsWith('.sql') ? f : `${f}.sql`));
  const scripts = snowflakeScripts(opts.registry).filter((s) => !only || only.includes(s.file));
  if (only) {
    const unknown = only.filter((f) => !scripts.some((s) => s.file === f));
    if (unknown.length > 0) throw new ConfigError(`no such migration: ${unknown.join(', ')}`);
  }
  const report: MigrationReport = { engine: 'snowflake', dryRun: Boolean(opts.dryRun), scripts: [], statements: [] };
  // render everything first: a bad placeholder stops the run before any statement is sent
  const rendered = scripts.map((s) => {
    if (s.admin && !opts.admin) return { script: s, statements: [] };
    const statements = splitStatements(renderScript(s.text, params, s.file));
    // admin scripts switch roles (USE ROLE ...); the scripts after them must run as the deploy role again
    if (s.admin && params.DEPLOY_ROLE) statements.push(renderScript('use role {{DEPLOY_ROLE}}', params, s.file));
    return { script: s, statements };
  });
  for (const { script, statements } of rendered) {
    if (script.admin && !opts.admin) {
      report.scripts.push({ file: script.file, admin: true, status: 'skipped (admin)', statements: 0 });
      continue;
    }
    if (!opts.dryRun) {
      for (const [i, sql] of statements.entries()) {
        try {
          await wh.execute(sql);
        } catch (err) {
          throw new TerminalError(
            `${script.file}, statement ${i + 1} of ${statements.length} failed: ${errorMessage(err)}\n${firstLine(sql)}`,
            { cause: err },
          );
        }
      }
      log.info('migration applied', { file: script.file, statements: statements.length });
    }
    report.statements.push(...statements);
    report.scripts.push({ file: script.file, admin: script.admin, status: opts.dryRun ? 'planned' : 'applied', statements: statements.length });
  }
  return report;
}

/** Tables declared by sql/duckdb/schema.sql, as schema.table. */
export function declaredTables(schemaSql: string): string[] {
  return [...stripComments(schemaSql).matchAll(/create\s+table\s+if\s+not\s+exists\s+([A-Za-z_][\w]*)\.([A-Za-z_][\w]*)/gi)].map(
    (m) => `${(m[1] as string).toLowerCase()}.${(m[2] as string).toLowerCase()}`,
  );
}

async function verifyDuckDb(wh: Warehouse, opts: MigrateOptions, log: Logger): Promise<MigrationReport> {
  const schema = listScripts('duckdb').find((s) => s.file === 'schema.sql');
  if (!schema) throw new ConfigError(`no schema.sql in ${path.join(sqlRoot(), 'duckdb')}`);
  // the schemas of schema.sql, and the ingest layer rendered from the dataset declarations
  const statements = [...splitStatements(schema.text), ...ingestSchemaStatements(duckdbDialect, defaultRegistry)];
  const report: MigrationReport = {
    engine: 'duckdb',
    dryRun: Boolean(opts.dryRun),
    scripts: [{ file: schema.file, admin: false, status: opts.dryRun ? 'planned' : 'verified', statements: statements.length }],
    statements,
  };
  if (opts.dryRun) return report;
  // opening the warehouse applied the schema; check that it did
  const present = await wh.query<{ name: string }>(
    `select lower(table_schema) || '.' || lower(table_name) as name from information_schema.tables`,
  );
  const names = new Set(present.map((r) => r.name));
  report.tables = declaredTables(statements.join(';\n')).map((table) => ({ table, exists: names.has(table) }));
  const missing = report.tables.filter((t) => !t.exists).map((t) => t.table);
  if (missing.length > 0) throw new TerminalError(`DuckDB schema incomplete, missing: ${missing.join(', ')}`);
  log.info('DuckDB schema verified', { tables: report.tables.length });
  return report;
}

function firstLine(sql: string): string {
  const line = stripComments(sql).split('\n')[0] ?? '';
  return line.length > 160 ? line.slice(0, 157) + '...' : line;
}

/** A readable summary for terminals and `sls invoke`. */
export function formatReport(report: MigrationReport): string {
  const lines = [`migrate (${report.engine}${report.dryRun ? ', dry run' : ''})`];
  for (const s of report.scripts) lines.push(`  ${s.file.padEnd(28)} ${s.status.padEnd(16)} ${s.statements} statements`);
  if (report.tables) for (const t of report.tables) lines.push(`  ${t.exists ? 'ok     ' : 'MISSING'} ${t.table}`);
  return lines.join('\n');
}
