/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Transpile only: type-checking is tsc --noEmit's job in npm test.
    '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true }],
  },
  snapshotSerializers: ['<rootDir>/test/asset-hash-serializer.js'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 120000,
};
