/**
 * migrate through the real snowflake-sdk against the fake Snowflake REST API: every rendered
 * statement is sent once, in order; a failing statement stops the run and is named.
 */
import { loadConfig } from '../../shared/config';
import { TerminalError } from '../../shared/errors';
import { migrate, snowflakeParameters } from '../../shared/migrate';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { FakeSnowflake } from '../support/fake-snowflake';
import { generateKeyPair } from '../support/fake-snowflake/keys';

describe('migrate against the fake Snowflake', () => {
  const key = generateKeyPair();
  const env = {
    STAGE: 'dev',
    LANDING_BUCKET: 'sp-dev-landing',
    EXPORTS_BUCKET: 'sp-dev-exports',
    SNOWFLAKE_ACCOUNT: 'testaccount',
    SNOWFLAKE_USER: 'loader',
    SNOWFLAKE_ACCESS_URL: 'http://127.0.0.1:1', // replaced per test
  };
  let fake: FakeSnowflake;
  let wh: SnowflakeWarehouse;

  beforeEach(async () => {
    fake = await FakeSnowflake.start({ publicKeys: [key.publicKey] });
    const cfg = loadConfig({ ...env, SNOWFLAKE_ACCESS_URL: fake.url });
    wh = new SnowflakeWarehouse(cfg.warehouse as SnowflakeConfig, {
      credentials: async () => ({ privateKey: key.privateKey, privateKeyPassphrase: undefined, account: undefined, user: undefined, role: undefined, warehouse: undefined }),
    });
  });

  afterEach(async () => {
    await wh.close();
    await fake.close();
  });

  it('sends every planned statement once, in order', async () => {
    // Prepare
    const params = snowflakeParameters(loadConfig({ ...env, SNOWFLAKE_ACCESS_URL: fake.url }), env);
    const plan = await migrate(wh, { dryRun: true, params });

    // Act
    const applied = await migrate(wh, { params });

    // Assess
    const sent = fake.sql().filter((s) => !/^alter session set timezone/i.test(s));
    expect(sent).toEqual(plan.statements);
    expect(applied.scripts.every((s) => s.status === 'applied' || s.status === 'skipped (admin)')).toBe(true);
  });

  it('stops at a failing statement and names the script and statement', async () => {
    // Prepare
    const params = snowflakeParameters(loadConfig({ ...env, SNOWFLAKE_ACCESS_URL: fake.url }), env);
    fake.reply(/create stage if not exists/i, { error: { code: '003001', sqlState: '42501', message: 'SQL access control error: Insufficient privileges to operate on integration' } });

    // Act
    const run = migrate(wh, { params });

    // Assess
    await expect(run).rejects.toBeInstanceOf(TerminalError);
    await expect(run).rejects.toThrow(/30_stages\.sql, statement 1 of \d+ failed: SQL access control error/);
    expect(fake.sql().some((s) => /create table if not exists/i.test(s))).toBe(false);
  });
});
