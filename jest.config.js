const os = require('os');

/** @type {import('jest').Config} */
module.exports = {
  // Two workers even on 2 cores (jest's default there is one): the whole-app tests spend most of their time
  // waiting for `cdk synth` child processes and the service tests for their servers.
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Sucrase strips the types (it keeps line numbers, so stack traces point at the source); `npm test` type-checks
    // with tsc alongside. A cold run transforms in a fraction of ts-jest's time.
    '^.+\\.tsx?$': '@sucrase/jest-plugin',
  },
  snapshotSerializers: ['<rootDir>/test/asset-hash-serializer.js'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // Whole-app tests after the rest, so the background syntheses never hold both workers idle.
  testSequencer: '<rootDir>/test/sequencer.js',
  testTimeout: 120000,
};
