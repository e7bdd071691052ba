/**
 * One Snowflake user per function, each able to log in with exactly the role its function asks for.
 *
 * Two independent sources meet here: the functions' environment as serverless.yml resolves it for dev
 * (`sls print`, offline), and the grants the admin script sql/snowflake/00_account.sql writes out. The
 * fake Snowflake is given, for each user, only the roles those grants give it (Snowflake: "To use a
 * role, the role must have been granted to the user", https://docs.snowflake.com/en/sql-reference/sql/use-role),
 * and refuses a login with any other role, as the service does. The real snowflake-sdk logs in.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { printService } from '../../.ci/lib/sls-package';
import { migrateHandler } from '../../functions/migrate';
import { loadConfig, resetConfig } from '../../shared/config';
import { listScripts, renderScript, snowflakeParameters } from '../../shared/migrate';
import { clearSecretCache, setSecretsManager } from '../../shared/secrets';
import { SnowflakeWarehouse, type SnowflakeConfig } from '../../shared/warehouse/snowflake';
import { splitStatements, stripComments } from '../../shared/warehouse/split-statements';
import { FakeSnowflake } from '../support/fake-snowflake';
import { generateKeyPair } from '../support/fake-snowflake/keys';

jest.setTimeout(120_000);

const FUNCTIONS = ['ingest', 'rebuild', 'transfer', 'migrate'] as const;
const SYSTEM_ROLES = ['ACCOUNTADMIN', 'SECURITYADMIN', 'USERADMIN', 'SYSADMIN', 'ORGADMIN'];

type Printed = {
  provider: { environment: Record<string, unknown> };
  functions: Record<string, { environment?: Record<string, unknown> }>;
};
let printed: Printed;

/**
 * A function's environment as Lambda would see it in account 123456789012, eu-west-2: strings as they
 * are, an Fn::Sub of pseudo parameters filled in; nulls (dropped by osls) and other references left out.
 */
function functionEnv(fn: string): Record<string, string> {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': '123456789012',
    'AWS::Region': 'eu-west-2',
    'AWS::Partition': 'aws',
  };
  const all = { ...printed.provider.environment, ...printed.functions[fn]!.environment };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) {
    if (typeof value === 'string') out[name] = value;
    const sub = (value as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'];
    if (typeof sub === 'string') out[name] = sub.replace(/\$\{([^}]+)\}/g, (m, p: string) => pseudo[p] ?? m);
  }
  return out;
}

/** `grant role R to user U` / `to role P` of the rendered admin script. */
function adminGrants(env: Record<string, string>): {
  toUser: Map<string, string[]>;
  toRole: Map<string, string[]>;
} {
  const params = snowflakeParameters(loadConfig(env), {
    ...env,
    SNOWFLAKE_STORAGE_ROLE_ARN: 'arn:aws:iam::123456789012:role/sf',
  });
  const script = listScripts('snowflake').find((s) => s.file === '00_account.sql')!;
  const toUser = new Map<string, string[]>();
  const toRole = new Map<string, string[]>();
  for (const sql of splitStatements(renderScript(script.text, params, script.file))) {
    const m = /^\s*grant\s+role\s+(\w+)\s+to\s+(user|role)\s+(\w+)\s*$/i.exec(stripComments(sql));
    if (!m) continue;
    const [, role, kind, grantee] = m as unknown as [string, string, string, string];
    const map = kind.toLowerCase() === 'user' ? toUser : toRole;
    map.set(grantee.toUpperCase(), [...(map.get(grantee.toUpperCase()) ?? []), role.toUpperCase()]);
  }
  return { toUser, toRole };
}

/**
 * The roles a user may use: those granted to it and, through the hierarchy, the roles granted to
 * those (a role inherits the roles granted to it), plus PUBLIC, which every user has.
 */
function usableRoles(user: string, grants: ReturnType<typeof adminGrants>): string[] {
  const inherited = new Map<string, string[]>();
  for (const [grantee, roles] of grants.toRole) inherited.set(grantee, roles);
  const out = new Set<string>(['PUBLIC']);
  const visit = (role: string) => {
    if (out.has(role)) return;
    out.add(role);
    for (const r of inherited.get(role) ?? []) visit(r);
  };
  for (const role of grants.toUser.get(user.toUpperCase()) ?? []) visit(role);
  return [...out];
}

beforeAll(async () => {
  printed = (await printService({ stage: 'dev' })) as Printed;
});

describe('a Snowflake user per function', () => {
  it('gives each function its own user, granted exactly its own role and no system role', () => {
    const users = FUNCTIONS.map((fn) => functionEnv(fn).SNOWFLAKE_USER);
    expect(users.every((u) => typeof u === 'string' && u.length > 0)).toBe(true);
    expect(new Set(users).size).toBe(FUNCTIONS.length);
    const grants = adminGrants(functionEnv('migrate'));
    for (const fn of FUNCTIONS) {
      const env = functionEnv(fn);
      expect([fn, grants.toUser.get(env.SNOWFLAKE_USER!.toUpperCase())]).toEqual([
        fn,
        [env.SNOWFLAKE_ROLE!.toUpperCase()],
      ]);
      for (const role of usableRoles(env.SNOWFLAKE_USER!, grants)) expect(SYSTEM_ROLES).not.toContain(role);
    }
  });

  it.each(FUNCTIONS)('%s logs in as its user with its role, which the admin script granted', async (fn) => {
    // Prepare
    const env = functionEnv(fn);
    const key = generateKeyPair();
    const fake = await FakeSnowflake.start({
      publicKeys: [key.publicKey],
      user: env.SNOWFLAKE_USER,
      roles: usableRoles(env.SNOWFLAKE_USER!, adminGrants(functionEnv('migrate'))),
    });
    const cfg = loadConfig({ ...env, SNOWFLAKE_ACCOUNT: 'testaccount', SNOWFLAKE_ACCESS_URL: fake.url });
    const wh = new SnowflakeWarehouse(cfg.warehouse as SnowflakeConfig, {
      credentials: async () => ({
        privateKey: key.privateKey,
        privateKeyPassphrase: undefined,
        account: undefined,
        user: undefined,
        role: undefined,
        warehouse: undefined,
      }),
    });
    try {
      // Act
      await wh.query('select 1 as one');

      // Assess
      expect(fake.logins).toEqual([
        expect.objectContaining({ user: env.SNOWFLAKE_USER!.toUpperCase(), ok: true }),
      ]);
    } finally {
      await wh.close();
      await fake.close();
    }
  });

  it('a login with a role the user was not granted is refused (the stand-in is as strict as Snowflake)', async () => {
    // Prepare: the ingest user asks for the transform role
    const env = functionEnv('ingest');
    const key = generateKeyPair();
    const fake = await FakeSnowflake.start({
      publicKeys: [key.publicKey],
      user: env.SNOWFLAKE_USER,
      roles: usableRoles(env.SNOWFLAKE_USER!, adminGrants(functionEnv('migrate'))),
    });
    const cfg = loadConfig({
      ...env,
      SNOWFLAKE_ROLE: functionEnv('rebuild').SNOWFLAKE_ROLE,
      SNOWFLAKE_ACCOUNT: 'testaccount',
      SNOWFLAKE_ACCESS_URL: fake.url,
    });
    const wh = new SnowflakeWarehouse(cfg.warehouse as SnowflakeConfig, {
      credentials: async () => ({
        privateKey: key.privateKey,
        privateKeyPassphrase: undefined,
        account: undefined,
        user: undefined,
        role: undefined,
        warehouse: undefined,
      }),
      connectionOptions: { sfRetryMaxLoginRetries: 0 },
    });
    try {
      // Act / Assess
      await expect(wh.query('select 1 as one')).rejects.toThrow(/not granted to this user/);
    } finally {
      await wh.close();
      await fake.close();
    }
  });
});

describe('the migrate function as deployed', () => {
  const sm = mockClient(SecretsManagerClient);
  const saved = { ...process.env };

  afterEach(() => {
    process.env = { ...saved };
    resetConfig();
    clearSecretCache();
    setSecretsManager(undefined);
    sm.reset();
  });

  it('applies the schema scripts as its own user and role, reading only its own secret', async () => {
    // Prepare: the function's environment, its secret in (mocked) Secrets Manager, the fake with the
    // grants of the admin script
    const env = functionEnv('migrate');
    const key = generateKeyPair();
    const fake = await FakeSnowflake.start({
      publicKeys: [key.publicKey],
      user: env.SNOWFLAKE_USER,
      roles: usableRoles(env.SNOWFLAKE_USER!, adminGrants(env)),
    });
    sm.on(GetSecretValueCommand, { SecretId: env.SNOWFLAKE_SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ privateKey: key.privateKey, account: 'testaccount' }),
    });
    setSecretsManager(new SecretsManagerClient({ region: 'eu-west-2' }));
    process.env = {
      ...saved,
      ...env,
      AWS_LAMBDA_FUNCTION_NAME: 'shopping-patterns-dev-migrate',
      SNOWFLAKE_ACCESS_URL: fake.url,
    };
    resetConfig();
    try {
      // Act
      const report = await migrateHandler({});

      // Assess
      expect(report.scripts.filter((s) => s.status === 'applied').length).toBeGreaterThan(3);
      expect(fake.logins.every((l) => l.ok)).toBe(true);
      expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
        env.SNOWFLAKE_SECRET_ARN,
      ]);
    } finally {
      await fake.close();
    }
  });
});
