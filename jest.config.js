/**
 * Jest with the SWC transform: fast TypeScript, and it rewrites middy's ESM-only
 * packages to CommonJS (they are excluded from transformIgnorePatterns below).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // the live tier runs only with `npm run test:live` (test/live/jest.config.js): it needs an account
  testPathIgnorePatterns: ['/node_modules/', '\\.live\\.test\\.ts$'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|uuid)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testTimeout: 60000,
};
