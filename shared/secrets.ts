/**
 * Secrets Manager, read once per cold start and cached for the life of the process.
 *
 * Rotation-friendly: nothing here assumes a secret never changes. A caller that learns the cached
 * value is stale (Snowflake rejects the key pair after a rotation) calls `getSecret(arn, { refresh:
 * true })` once, which fetches the AWSCURRENT version again and replaces the cache. Concurrent callers
 * share one in-flight request, so a cold start with ten parallel records makes one API call.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets.html
 *
 * The Snowflake secret is JSON:
 *   { "privateKey": "-----BEGIN PRIVATE KEY-----...", "privateKeyPassphrase": "...",   (passphrase optional)
 *     "account": "...", "user": "...", "role": "...", "warehouse": "..." }           (all optional)
 * snake_case names (`private_key`, `private_key_passphrase`) are accepted too. Rotating the key pair:
 * set the new public key as the user's RSA_PUBLIC_KEY_2, put the new private key in the secret, wait
 * for warm Lambdas to hit the old key's rejection and refresh, then unset the old RSA_PUBLIC_KEY.
 * https://docs.snowflake.com/en/user-guide/key-pair-auth#configuring-key-pair-rotation
 *
 * Without an ARN (an operator's CLI run, never Lambda: shared/config.ts refuses it there) the key comes
 * from the environment: SNOWFLAKE_PRIVATE_KEY_PATH (a PKCS#8 PEM file) or SNOWFLAKE_PRIVATE_KEY (its
 * text), with SNOWFLAKE_PRIVATE_KEY_PASSPHRASE for an encrypted key; never from a committed file.
 */
import fs from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { config } from './config';
import { ConfigError, classifyError, errorMessage } from './errors';
import { formatIssues } from './zod-issues';

let client: SecretsManagerClient | undefined;

/** The process-wide Secrets Manager client (regional endpoint, default credential chain). */
export function secretsManager(): SecretsManagerClient {
  client ??= new SecretsManagerClient({ region: config().region, maxAttempts: 4 });
  return client;
}

/** Replace the client (tests); also clears the cache so no value outlives its client. */
export function setSecretsManager(next: SecretsManagerClient | undefined): void {
  client = next;
  cache.clear();
}

const cache = new Map<string, Promise<string>>();

/** Errors that no retry will fix: a wrong ARN or a missing permission is a configuration problem. */
const TERMINAL_SECRET_ERRORS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'InvalidParameterException',
  'InvalidRequestException',
  'DecryptionFailure',
]);

/**
 * The secret's string value. Cached per ARN; `refresh: true` fetches again (once, shared by
 * concurrent callers that ask at the same moment).
 */
export async function getSecret(arn: string, opts: { refresh?: boolean } = {}): Promise<string> {
  if (!arn) throw new ConfigError('secret ARN is empty');
  const cached = cache.get(arn);
  if (cached && !opts.refresh) return cached;
  const pending = fetchSecret(arn);
  cache.set(arn, pending);
  // a failed fetch must not poison the cache: the next caller tries again
  pending.catch(() => {
    if (cache.get(arn) === pending) cache.delete(arn);
  });
  return pending;
}

async function fetchSecret(arn: string): Promise<string> {
  let res;
  try {
    res = await secretsManager().send(new GetSecretValueCommand({ SecretId: arn }));
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (TERMINAL_SECRET_ERRORS.has(name)) {
      throw new ConfigError(`cannot read secret ${arn}: ${name}: ${errorMessage(err)}`, { cause: err });
    }
    throw classifyError(err);
  }
  if (typeof res.SecretString === 'string') return res.SecretString;
  if (res.SecretBinary) return Buffer.from(res.SecretBinary).toString('utf8');
  throw new ConfigError(`secret ${arn} has no value`);
}

/** Forget every cached secret (tests; a long-lived local process after rotating a key). */
export function clearSecretCache(): void {
  cache.clear();
}

/** What the Snowflake adapter needs to log in. */
export interface SnowflakeCredentials {
  privateKey: string;
  privateKeyPassphrase: string | undefined;
  account: string | undefined;
  user: string | undefined;
  role: string | undefined;
  warehouse: string | undefined;
}

const pem = z
  .string()
  .refine((s) => /-----BEGIN (ENCRYPTED |RSA )?PRIVATE KEY-----/.test(s), {
    message: 'must be a PEM private key (-----BEGIN PRIVATE KEY-----)',
  });

const snowflakeSecretSchema = z
  .object({
    privateKey: pem.optional(),
    private_key: pem.optional(),
    privateKeyPassphrase: z.string().optional(),
    private_key_passphrase: z.string().optional(),
    account: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    role: z.string().min(1).optional(),
    warehouse: z.string().min(1).optional(),
  })
  .refine((s) => s.privateKey !== undefined || s.private_key !== undefined, {
    message: 'privateKey is required',
    path: ['privateKey'],
  });

/** Parse the JSON secret; errors name the field and never echo the key material. */
export function parseSnowflakeSecret(text: string, source: string): SnowflakeCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${source}: the Snowflake secret must be JSON with a privateKey field`);
  }
  const parsed = snowflakeSecretSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(`${source}: invalid Snowflake secret: ${formatIssues(parsed.error, '(secret)')}`);
  }
  const s = parsed.data;
  return {
    privateKey: (s.privateKey ?? s.private_key) as string,
    privateKeyPassphrase: s.privateKeyPassphrase ?? s.private_key_passphrase,
    account: s.account,
    user: s.user,
    role: s.role,
    warehouse: s.warehouse,
  };
}

/**
 * Snowflake key pair and connection settings: from Secrets Manager when an ARN is configured,
 * else from SNOWFLAKE_PRIVATE_KEY / SNOWFLAKE_PRIVATE_KEY_PATH (local runs only).
 */
export async function getSnowflakeCredentials(
  secretArn: string | undefined,
  opts: { refresh?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<SnowflakeCredentials> {
  if (secretArn) return parseSnowflakeSecret(await getSecret(secretArn, opts), secretArn);
  const env = opts.env ?? process.env;
  const passphrase = env.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE || undefined;
  if (env.SNOWFLAKE_PRIVATE_KEY) {
    return parseSnowflakeSecret(
      JSON.stringify({ privateKey: env.SNOWFLAKE_PRIVATE_KEY.replace(/\\n/g, '\n'), privateKeyPassphrase: passphrase }),
      'SNOWFLAKE_PRIVATE_KEY',
    );
  }
  if (env.SNOWFLAKE_PRIVATE_KEY_PATH) {
    let text: string;
    try {
      text = fs.readFileSync(env.SNOWFLAKE_PRIVATE_KEY_PATH, 'utf8');
    } catch (err) {
      throw new ConfigError(`SNOWFLAKE_PRIVATE_KEY_PATH: cannot read ${env.SNOWFLAKE_PRIVATE_KEY_PATH}: ${errorMessage(err)}`);
    }
    return parseSnowflakeSecret(JSON.stringify({ privateKey: text, privateKeyPassphrase: passphrase }), 'SNOWFLAKE_PRIVATE_KEY_PATH');
  }
  throw new ConfigError(
    'no Snowflake key: set SNOWFLAKE_SECRET_ARN (a Secrets Manager secret; the only source in Lambda) or, ' +
      "on an operator's machine, SNOWFLAKE_PRIVATE_KEY_PATH (a PKCS#8 PEM file; SNOWFLAKE_PRIVATE_KEY_PASSPHRASE " +
      'when it is encrypted)',
  );
}
