/**
 * shared/secrets.ts: Secrets Manager read once and cached, refreshed on demand, clear errors.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError, TransientError } from '../../shared/errors';
import { getSecret, getSnowflakeCredentials, parseSnowflakeSecret, setSecretsManager } from '../../shared/secrets';
import { generateKeyPair } from '../support/fake-snowflake/keys';

const ARN = 'arn:aws:secretsmanager:eu-west-2:123456789012:secret:snowflake-abc';

describe('secrets', () => {
  const sm = mockClient(SecretsManagerClient);
  const key = generateKeyPair();

  beforeEach(() => {
    sm.reset();
    setSecretsManager(new SecretsManagerClient({ region: 'eu-west-2' }));
  });

  afterAll(() => setSecretsManager(undefined));

  it('reads a secret once and serves later (and concurrent) calls from the cache', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 'v1' });

    // Act
    const values = await Promise.all([getSecret(ARN), getSecret(ARN), getSecret(ARN)]);
    const later = await getSecret(ARN);

    // Assess
    expect([...values, later]).toEqual(['v1', 'v1', 'v1', 'v1']);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('fetches again on refresh and keeps the new value', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old' }).resolves({ SecretString: 'new' });
    await getSecret(ARN);

    // Act
    const refreshed = await getSecret(ARN, { refresh: true });
    const after = await getSecret(ARN);

    // Assess
    expect([refreshed, after]).toEqual(['new', 'new']);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('does not cache a failure: the next call tries again', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sm.on(GetSecretValueCommand).rejectsOnce(throttled).resolves({ SecretString: 'ok' });

    // Act / Assess
    await expect(getSecret(ARN)).rejects.toBeInstanceOf(TransientError);
    await expect(getSecret(ARN)).resolves.toBe('ok');
  });

  it('turns a missing secret or a missing permission into a configuration error naming the ARN', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));

    // Act / Assess
    await expect(getSecret(ARN)).rejects.toThrow(ConfigError);
    await expect(getSecret(ARN)).rejects.toThrow(ARN);
  });

  it('parses the Snowflake secret in either naming style', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ private_key: key.privateKey, private_key_passphrase: 'pw', account: 'acme-prod', user: 'LOADER' }),
    });

    // Act
    const creds = await getSnowflakeCredentials(ARN);

    // Assess
    expect(creds).toEqual({
      privateKey: key.privateKey,
      privateKeyPassphrase: 'pw',
      account: 'acme-prod',
      user: 'LOADER',
      role: undefined,
      warehouse: undefined,
    });
  });

  it('rejects a secret without a PEM key, without echoing the secret', () => {
    // Act
    const attempt = () => parseSnowflakeSecret(JSON.stringify({ privateKey: 'hunter2-not-a-key' }), ARN);

    // Assess
    expect(attempt).toThrow(/privateKey: must be a PEM private key/);
    expect(attempt).not.toThrow(/hunter2/);
    expect(() => parseSnowflakeSecret('not json', ARN)).toThrow(/must be JSON/);
  });

  it('without an ARN, reads the key from the environment (local runs)', async () => {
    // Act
    const creds = await getSnowflakeCredentials(undefined, {
      env: { SNOWFLAKE_PRIVATE_KEY: key.privateKey.replace(/\n/g, '\\n') },
    });

    // Assess
    expect(creds.privateKey).toBe(key.privateKey);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    await expect(getSnowflakeCredentials(undefined, { env: {} })).rejects.toThrow(/SNOWFLAKE_SECRET_ARN/);
  });
});
