/**
 * `npm run test:live` without an account: it prints what it needs (variables, grants) and exits 2, as
 * `npm run smoke` does when it cannot run; and the default jest run never picks the live file up.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { missingNeeds } from '../live/needs';

const ROOT = path.resolve(__dirname, '../..');

describe('npm run test:live without credentials', () => {
  it('prints the variables and grants it needs and exits 2', () => {
    // Arrange: a clean environment, no Snowflake settings
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', npm_config_update_notifier: 'false' };

    // Act
    const run = spawnSync('npm', ['run', '--silent', 'test:live'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });

    // Assess
    expect(run.status).toBe(2);
    for (const need of ['SNOWFLAKE_ACCOUNT', 'SNOWFLAKE_USER', 'SNOWFLAKE_PRIVATE_KEY_PATH', 'SNOWFLAKE_SECRET_ARN', 'SNOWFLAKE_WAREHOUSE', 'CREATE DATABASE', 'USAGE on the warehouse']) {
      expect([need, run.stderr.includes(need)]).toEqual([need, true]);
    }
    expect(run.stderr).toMatch(/Missing: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_SECRET_ARN/);
  });

  it('names only what is missing', () => {
    expect(missingNeeds({ SNOWFLAKE_ACCOUNT: 'a', SNOWFLAKE_USER: 'u', SNOWFLAKE_SECRET_ARN: 'arn' })).toEqual([]);
    expect(missingNeeds({ SNOWFLAKE_ACCOUNT: 'a', SNOWFLAKE_PRIVATE_KEY_PATH: '/k.p8' })).toEqual(['SNOWFLAKE_USER']);
  });

  it('is left out of the default jest run and is the only thing the live config runs', () => {
    const list = (args: string[]) =>
      spawnSync('npx', ['jest', '--listTests', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 }).stdout.split('\n').filter(Boolean).map((f) => path.relative(ROOT, f));
    const all = list([]);
    expect(all).toContain('test/live/scenario.test.ts');
    expect(all.filter((f) => f.endsWith('.live.test.ts'))).toEqual([]);
    expect(list(['--config', 'test/live/jest.config.js'])).toEqual(['test/live/scenario.live.test.ts']);
  });
});
