/**
 * Schema as code: the Snowflake scripts as text (idempotent, placeholders validated, raw tables equal
 * to the DuckDB schema), and migrate's planning and DuckDB verification.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { ConfigError } from '../../shared/errors';
import { declaredTables, listScripts, migrate, renderScript, snowflakeParameters, snowflakeScripts } from '../../shared/migrate';
import { defaultRegistry } from '../../shared/datasets';
import { ingestSchemaStatements } from '../../shared/ingest/schema';
import { duckdbDialect, snowflakeDialect } from '../../shared/warehouse/dialect';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Warehouse } from '../../shared/warehouse/port';
import { splitStatements, stripComments } from '../../shared/warehouse/split-statements';
import { parseMigrateEvent } from '../../functions/migrate';

const ROOT = path.join(__dirname, '..', '..');
const ENV = {
  STAGE: 'dev',
  LANDING_BUCKET: 'sp-dev-landing',
  EXPORTS_BUCKET: 'sp-dev-exports',
  SNOWFLAKE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:sf',
  SNOWFLAKE_STORAGE_ROLE_ARN: 'arn:aws:iam::123456789012:role/sp-snowflake-s3',
};

function params(extra: NodeJS.ProcessEnv = {}) {
  const env = { ...ENV, ...extra };
  return snowflakeParameters(loadConfig(env), env);
}

/** Columns of `create table if not exists schema.table (...)` statements, by table, in order. */
function tableColumns(sql: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const stmt of splitStatements(sql)) {
    const m = /create\s+(?:transient\s+)?table\s+if\s+not\s+exists\s+(?:\{\{DATABASE\}\}\.)?(\w+\.\w+)\s*\(([\s\S]*)\)\s*$/i.exec(stripComments(stmt));
    if (!m) continue;
    const columns = (m[2] as string)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z_]+\s+[a-z]/i.test(l) && !/^primary\s+key/i.test(l))
      .map((l) => (l.split(/\s+/)[0] as string).toLowerCase());
    out.set((m[1] as string).toLowerCase(), columns);
  }
  return out;
}

describe('Snowflake schema scripts', () => {
  // the files of sql/snowflake/ and the scripts rendered from the dataset declarations
  const scripts = snowflakeScripts();

  it('are idempotent: CREATE ... IF NOT EXISTS, CREATE OR REPLACE only for functions and views (no data), never for pipes', () => {
    // Act
    const offenders = scripts.flatMap((s) =>
      splitStatements(s.text)
        .map((stmt) => stripComments(stmt))
        .filter((stmt) => /^create\b/i.test(stmt))
        .filter((stmt) => !/^create\s+(transient\s+)?[\w ]+?\s+if\s+not\s+exists\b/i.test(stmt))
        .filter((stmt) => !/^create\s+or\s+replace\s+(function|view)\b/i.test(stmt))
        .map((stmt) => `${s.file}: ${stmt.split('\n')[0]}`),
    );

    // Assess
    expect(offenders).toEqual([]);
    expect(scripts.map((s) => s.text).join('\n')).not.toMatch(/create\s+or\s+replace\s+pipe/i);
  });

  it('load with ON_ERROR = CONTINUE and never FORCE or LOAD_UNCERTAIN_FILES', () => {
    // Prepare
    const copies = scripts.flatMap((s) => splitStatements(s.text).filter((stmt) => /copy\s+into/i.test(stripComments(stmt))));

    // Assess
    expect(copies.length).toBe(3); // one pipe per dataset
    for (const stmt of copies) {
      expect(stmt).toMatch(/on_error\s*=\s*continue/i);
      expect(stmt).not.toMatch(/\bforce\b|load_uncertain_files/i);
    }
  });

  it('declare the ingest layer exactly as DuckDB does: one rendering of the declarations, two dialects', () => {
    // Prepare
    const duck = tableColumns(ingestSchemaStatements(duckdbDialect, defaultRegistry).join(';\n'));
    const snow = tableColumns(scripts.find((s) => s.file === '40_ingest.sql')!.text.replace(/\{\{DATABASE\}\}\./g, ''));

    // Assess
    expect([...duck.keys()]).toEqual(
      expect.arrayContaining(['raw.customers_appended', 'raw.products_appended', 'raw.transactions_appended', 'raw.transaction_items_appended', 'raw.file_events', 'raw.quarantine_appended']),
    );
    for (const [table, columns] of duck) expect([table, snow.get(table)]).toEqual([table, columns]);
    expect(snow.get('raw.landing_lines')).toBeDefined(); // Snowflake's own: what COPY lands
  });

  it('render with every placeholder filled from the configuration', () => {
    // Act
    const rendered = scripts.map((s) => renderScript(s.text, params(), s.file));

    // Assess
    for (const text of rendered) expect(text).not.toMatch(/\{\{|\}\}/);
    const all = rendered.join('\n');
    expect(all).toContain("url = 's3://sp-dev-landing/'");
    expect(all).toContain('create stage if not exists SHOPPING_PATTERNS.RAW.LANDING_STAGE');
    expect(all).toContain("storage_aws_role_arn = 'arn:aws:iam::123456789012:role/sp-snowflake-s3'");
    expect(all).toContain('grant usage on schema SHOPPING_PATTERNS.raw to role SHOPPING_PATTERNS_LOADER');
  });

  it('refuse a placeholder value that is not what it stands for, naming the variable', () => {
    // Act
    const attempt = () => params({ SNOWFLAKE_LOAD_ROLE: 'LOADER; drop database x' });
    const render = () => renderScript("url = '{{LANDING_URL}}'", { LANDING_URL: "s3://bucket/'; drop" }, '30_stages.sql');
    const missing = () => renderScript("role = '{{ROLE_ARN}}'", {}, '00_account.sql');

    // Assess
    expect(attempt).toThrow(/SNOWFLAKE_LOAD_ROLE: must be an identifier/);
    expect(render).toThrow(ConfigError);
    expect(render).toThrow(/30_stages\.sql: \{\{LANDING_URL\}\}.*is not an s3:\/\/bucket\/ URL/);
    expect(missing).toThrow(/\{\{ROLE_ARN\}\} has no value \(set SNOWFLAKE_STORAGE_ROLE_ARN\)/);
  });

  it('marks the account setup as admin-only', () => {
    expect(scripts.filter((s) => s.admin).map((s) => s.file)).toContain('00_account.sql');
    expect(scripts.find((s) => s.file === '40_ingest.sql')?.admin).toBe(false);
  });
});

describe('migrate', () => {
  const noWarehouse = { engine: 'snowflake', dialect: snowflakeDialect } as unknown as Warehouse; // a dry run never runs a statement

  it('plans the Snowflake scripts in order, skipping admin scripts unless asked', async () => {
    // Act
    const plan = await migrate(noWarehouse, { dryRun: true, params: params() });
    const withAdmin = await migrate(noWarehouse, { dryRun: true, admin: true, params: params() });

    // Assess
    const files = snowflakeScripts().map((s) => s.file);
    expect(plan.scripts.map((s) => s.file)).toEqual(files);
    // the hand-written files and the scripts rendered from the declarations, in file-name order
    expect(files).toEqual([...listScripts('snowflake').map((s) => s.file), '40_ingest.sql', '50_rules.sql', '60_pipes.sql', '85_dataset_grants.sql'].sort());
    expect(plan.scripts.find((s) => s.file === '00_account.sql')?.status).toBe('skipped (admin)');
    expect(plan.statements.some((s) => /use role accountadmin/i.test(s))).toBe(false);
    expect(withAdmin.statements.some((s) => /use role accountadmin/i.test(s))).toBe(true);
    // every admin script hands the session back to the deploy role before the next script runs
    let at = 0;
    for (const s of withAdmin.scripts) {
      at += s.statements;
      if (s.admin) expect(withAdmin.statements[at - 1]).toBe('use role SHOPPING_PATTERNS_DEPLOYER');
    }
    const expectedCount = snowflakeScripts()
      .filter((s) => !s.admin)
      .reduce((n, s) => n + splitStatements(s.text).length, 0);
    expect(plan.statements).toHaveLength(expectedCount);
  });

  it('rejects an unknown script name', async () => {
    await expect(migrate(noWarehouse, { dryRun: true, only: ['99_nope'], params: params() })).rejects.toThrow(/no such migration: 99_nope\.sql/);
  });

  it('on DuckDB verifies every table the schema declares, applying nothing', async () => {
    // Prepare
    const wh = new DuckDbWarehouse(':memory:');

    // Act
    const report = await migrate(wh);
    await wh.close();

    // Assess
    const declared = declaredTables(ingestSchemaStatements(duckdbDialect, defaultRegistry).join(';\n'));
    expect(declared).toContain('raw.file_events');
    expect(report.tables).toEqual(declared.map((table) => ({ table, exists: true })));
    expect(report.scripts[0]?.status).toBe('verified');
  });

  it('the Lambda accepts only {dryRun, only}', () => {
    expect(parseMigrateEvent({ dryRun: true, only: ['40_tables.sql'] })).toEqual({ dryRun: true, only: ['40_tables.sql'] });
    expect(parseMigrateEvent(undefined)).toEqual({});
    expect(() => parseMigrateEvent({ admin: true })).toThrow(/invalid migrate event/);
  });

  it('refuses a system role as the deploy role: its key lives in the migrate Lambda', () => {
    for (const role of ['SYSADMIN', 'accountadmin', 'SECURITYADMIN', 'USERADMIN']) {
      expect(() => snowflakeParameters(loadConfig(ENV), { ...ENV, SNOWFLAKE_DEPLOY_ROLE: role })).toThrow(
        /SNOWFLAKE_DEPLOY_ROLE: .* is a system role/,
      );
    }
    expect(snowflakeParameters(loadConfig(ENV), ENV).DEPLOY_ROLE).toBe('SHOPPING_PATTERNS_DEPLOYER');
  });

  it('takes the unload prefix from its one definition, which serverless.yml reads too', () => {
    // Prepare: every place that could restate it
    const { unloadPrefix } = JSON.parse(fs.readFileSync(path.join(ROOT, 'infra/prefixes.json'), 'utf8')) as { unloadPrefix: string };
    const sources = [
      path.join(ROOT, 'serverless.yml'),
      ...fs.readdirSync(path.join(ROOT, 'shared'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(ROOT, 'shared', f)),
    ];

    // Assess: no restated literal, and the export stage's URL ends in it
    for (const file of sources) expect([file, fs.readFileSync(file, 'utf8').includes(unloadPrefix)]).toEqual([file, false]);
    expect(fs.readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8')).toContain('${file(./infra/prefixes.json):unloadPrefix}');
    expect(snowflakeParameters(loadConfig(ENV), ENV).EXPORT_URL).toBe(`s3://${ENV.EXPORTS_BUCKET}/${unloadPrefix}`);
  });
});
