/**
 * The long fault tests (npm run test:chaos): test/chaos/**\/*.chaos.ts. Each starts its
 * own Redis, so the shared servers of global-setup are not needed; one file at a time,
 * as each loads the machine on purpose.
 */
const base = require('./jest.config');

const { globalSetup, globalTeardown, ...rest } = base;
module.exports = {
  ...rest,
  testMatch: ['**/chaos/**/*.chaos.ts'],
  testTimeout: 300_000,
  maxWorkers: 1,
};
