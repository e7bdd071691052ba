/**
 * `npm run test:live` first runs this: without a Snowflake account to talk to it prints what the live
 * tier needs and exits 2 (it could not run), as `npm run smoke` does; with one it exits 0 and the jest
 * run of test/live/*.live.test.ts follows (test/live/jest.config.js).
 */
export const NEEDS = `npm run test:live needs a Snowflake account, and none is configured. Set:
  SNOWFLAKE_ACCOUNT            the account identifier, <orgname>-<account_name>
  SNOWFLAKE_USER               a user with a registered key pair (ALTER USER ... SET RSA_PUBLIC_KEY = '...')
  SNOWFLAKE_PRIVATE_KEY_PATH   its PKCS#8 private key file (SNOWFLAKE_PRIVATE_KEY_PASSPHRASE if encrypted),
    or SNOWFLAKE_SECRET_ARN    a Secrets Manager secret holding it (then AWS credentials too)
  SNOWFLAKE_ROLE               optional: the session role (default: the user's default role)
  SNOWFLAKE_WAREHOUSE          the virtual warehouse to run on (default: the user's default warehouse)
The role needs CREATE DATABASE on the account (SYSADMIN has it) and USAGE on the warehouse; Enterprise
Edition for the masking policy (a trial has it). The test creates SHOPPING_PATTERNS_LIVE_<random>, loads a
small corpus through an internal stage (PUT), rebuilds, transfers, compares with DuckDB, and drops the
database at the end. Nothing else in the account is touched: no roles, users, integrations or buckets.
`;

export function missingNeeds(env: NodeJS.ProcessEnv): string[] {
  const missing: string[] = [];
  if (!env.SNOWFLAKE_ACCOUNT) missing.push('SNOWFLAKE_ACCOUNT');
  if (!env.SNOWFLAKE_USER) missing.push('SNOWFLAKE_USER');
  if (!env.SNOWFLAKE_PRIVATE_KEY_PATH && !env.SNOWFLAKE_PRIVATE_KEY && !env.SNOWFLAKE_SECRET_ARN) missing.push('SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_SECRET_ARN');
  return missing;
}

if (require.main === module) {
  const missing = missingNeeds(process.env);
  if (missing.length > 0) {
    process.stderr.write(`${NEEDS}\nMissing: ${missing.join(', ')}\n`);
    process.exit(2);
  }
}
