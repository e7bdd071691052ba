/** The Snowflake adapter's settings and credentials for tests against the loopback fake. */
import type { SnowflakeCredentials } from '../../../shared/secrets';
import type { SnowflakeConfig } from '../../../shared/warehouse/snowflake';
import type { FakeSnowflake } from './index';

export function fakeSnowflakeConfig(fake: FakeSnowflake, overrides: Partial<SnowflakeConfig> = {}): SnowflakeConfig {
  return {
    engine: 'snowflake',
    account: 'testaccount',
    user: 'loader',
    role: 'SP_LOADER',
    computeWarehouse: 'SP_WH',
    database: 'SHOPPING_PATTERNS',
    secretArn: '',
    accessUrl: fake.url,
    landingStage: 'RAW.LANDING_STAGE',
    exportStage: 'RAW.EXPORT_STAGE',
    ingestMode: 'copy',
    ...overrides,
  };
}

/** The environment of a dev stage whose warehouse is the fake at `accessUrl` (the loader's user). */
export function fakeSnowflakeEnv(accessUrl: string): Record<string, string> {
  return {
    STAGE: 'dev',
    WAREHOUSE_ENGINE: 'snowflake',
    LANDING_BUCKET: 'landing',
    EXPORTS_BUCKET: 'exports',
    SNOWFLAKE_ACCOUNT: 'testaccount',
    SNOWFLAKE_USER: 'loader',
    SNOWFLAKE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:test',
    SNOWFLAKE_ACCESS_URL: accessUrl,
    SNOWFLAKE_STORAGE_ROLE_ARN: 'arn:aws:iam::123456789012:role/snowflake-integration',
  };
}

/** Credentials as the secret would give them: only the private key; the rest from the config. */
export function keyPairCredentials(key: { privateKey: string }): () => Promise<SnowflakeCredentials> {
  return async () => ({
    privateKey: key.privateKey,
    privateKeyPassphrase: undefined,
    account: undefined,
    user: undefined,
    role: undefined,
    warehouse: undefined,
  });
}
