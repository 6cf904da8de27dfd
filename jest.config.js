/** Tests run against real Redis processes started by test/harness/global-setup.ts. */
// Nest 12 ships ES modules only and jest on Node 20 loads CommonJS: these packages go
// through test/harness/esm-to-cjs.js on the way in.
const esmPackages = ['@nestjs', 'uid', 'file-type', 'load-esm', 'strtok3', 'token-types', 'peek-readable', '@tokenizer', 'uint8array-extras'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    // Transpiled file by file, not type-checked: a type-checking ts-jest builds a program in each
    // worker and checks the lib/ files every spec loads, which on a cold cache (a fresh clone) took
    // 37 s of CPU time for test/core/semaphore.spec.ts and token-bucket-redis.spec.ts, 14 s
    // transpiled. Types are checked once, over lib, test and sample-app, by `npm run typecheck`
    // (tsc), which .ci/run runs before the tests.
    '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }],
    '^.+\\.m?js$': '<rootDir>/test/harness/esm-to-cjs.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  // The longest spec files first when jest has no durations from an earlier run (a fresh clone).
  testSequencer: '<rootDir>/test/harness/sequencer.js',
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
