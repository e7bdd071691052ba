/**
 * The live tier: ./scenario.ts on a real Snowflake account (`npm run test:live`, never `npm test`).
 * Credentials and the warehouse come from the environment (./needs.ts says which); the scratch database
 * is SHOPPING_PATTERNS_LIVE_<random>, dropped at the end. The DuckDB comparison run, the loopback S3 API
 * the transfers write to and the corpus live in a temporary directory.
 *
 * Reaches the network: Snowflake's endpoint for the account (and, for PUT, the cloud storage of the
 * account's internal stages, with the short-lived credentials Snowflake hands the driver), and Secrets
 * Manager when SNOWFLAKE_SECRET_ARN names the key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { setS3Client } from '../../shared/storage/object-store';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { startLocalS3 } from '../support/local-s3';
import { EXPORTS_BUCKET, LANDING_LABEL, runLiveScenario, scratchDatabaseName } from './scenario';
import { missingNeeds, NEEDS } from './needs';
import { putStageLoader } from './stages';

it('runs the pipeline on a scratch database and gets what DuckDB gets', async () => {
  const missing = missingNeeds(process.env);
  if (missing.length > 0) throw new Error(`${NEEDS}\nMissing: ${missing.join(', ')}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-live-'));
  const s3 = await startLocalS3({ buckets: [LANDING_LABEL, EXPORTS_BUCKET] });
  setS3Client(s3.client());
  const database = scratchDatabaseName();
  const cfg = loadConfig({
    ...process.env,
    STAGE: 'dev',
    WAREHOUSE_ENGINE: 'snowflake',
    SNOWFLAKE_DATABASE: database,
    SNOWFLAKE_STAGE: 'RAW.LANDING_STAGE',
    SNOWFLAKE_EXPORT_STAGE: 'RAW.EXPORT_STAGE',
    LANDING_BUCKET: LANDING_LABEL,
    EXPORTS_BUCKET,
    S3_ENDPOINT: s3.endpoint,
    TRANSFER_ALLOWED_BUCKETS: EXPORTS_BUCKET,
    ACCOUNT_ID: '000000000000',
    INGEST_MODE: 'copy',
  });
  const wh = new SnowflakeWarehouse(cfg.warehouse as SnowflakeConfig);
  const duckdb = new DuckDbWarehouse(path.join(work, 'live.duckdb'));
  try {
    const report = await runLiveScenario({
      snowflake: wh,
      config: cfg,
      stage: putStageLoader,
      duckdb,
      s3: s3.client(),
      workDir: work,
      ...(process.env.LIVE_GRANT_ROLE ? { grantRole: process.env.LIVE_GRANT_ROLE } : {}),
      say: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    expect(report.steps.filter((s) => s.status === 'fail')).toEqual([]);
    expect(report.dropped).toBe(true);
  } finally {
    setS3Client(undefined);
    await wh.close();
    await duckdb.close();
    await s3.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});
