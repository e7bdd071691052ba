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
