/**
 * `npm run test:live`: only the live tier (test/live/*.live.test.ts), which the default jest run leaves
 * out (testPathIgnorePatterns in ../../jest.config.js). test/live/needs.ts runs first and stops with
 * exit 2 when no Snowflake account is configured.
 * @type {import('jest').Config}
 */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/live'],
  testMatch: ['**/*.live.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // the live run talks to Snowflake: the loopback-only environment of the other tiers does not apply
  setupFiles: [],
  testTimeout: 1_800_000,
};
