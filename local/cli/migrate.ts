/**
 * npm run migrate -- [--stage local|dev|prod] [--dry-run] [--admin] [--only FILE]...
 *
 * Applies the warehouse schema, the same code as functions/migrate. With --dry-run it only prints
 * the rendered statements (no connection is opened), which also works offline for a cloud stage
 * (LANDING_BUCKET and EXPORTS_BUCKET set from the stack's outputs; no key needed).
 */
import '../env';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../shared/errors';
import { formatReport, migrate } from '../../shared/migrate';
import { setLogSink } from '../../shared/logger';
import { createWarehouse } from '../../shared/warehouse';

const USAGE = `Usage: npm run migrate -- [options]

Applies sql/<engine>/*.sql in order (Snowflake), or verifies the DuckDB schema (local).

Options:
  --stage local|dev|prod   default local (DuckDB); dev and prod use Snowflake
  --dry-run                print the statements, run nothing
  --admin                  include account setup (roles, warehouse, storage integration); needs an
                           administrator's key and SNOWFLAKE_STORAGE_ROLE_ARN
  --only FILE              only this script (repeatable), e.g. --only 40_tables.sql
  -h, --help               show this help

Snowflake settings: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_ROLE, SNOWFLAKE_DATABASE, and the key:
SNOWFLAKE_PRIVATE_KEY_PATH (your own PKCS#8 key file; SNOWFLAKE_PRIVATE_KEY_PASSPHRASE if encrypted)
or SNOWFLAKE_SECRET_ARN (a Secrets Manager secret). Role names SNOWFLAKE_DEPLOY_ROLE, SNOWFLAKE_LOAD_ROLE,
SNOWFLAKE_TRANSFORM_ROLE, SNOWFLAKE_READ_ROLE, SNOWFLAKE_PARTNER_ROLE, SNOWFLAKE_STORAGE_INTEGRATION;
service users (--admin) SNOWFLAKE_INGEST_USER, SNOWFLAKE_REBUILD_USER, SNOWFLAKE_TRANSFER_USER,
SNOWFLAKE_MIGRATE_USER (default <DATABASE>_INGEST, ...). A dry run needs no key.
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      admin: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.stage) process.env.STAGE = values.stage;
  // A dry run needs names, not credentials. The bucket names are not guessed: they carry the account
  // and region (serverless.yml), so LANDING_BUCKET and EXPORTS_BUCKET come from the stack's outputs.
  const dryRun = values['dry-run'];
  // statements go to stdout; progress and driver logs to stderr
  setLogSink((line) => process.stderr.write(line + '\n'));
  const wh = createWarehouse();
  try {
    const report = await migrate(wh, { dryRun, admin: values.admin, only: values.only });
    if (dryRun) for (const sql of report.statements) process.stdout.write(`${sql};\n\n`);
    process.stderr.write(`${formatReport(report)}\n`);
    return 0;
  } finally {
    await wh.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`migrate failed: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
