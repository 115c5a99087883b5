// One jest preset for every package. TypeScript is transpiled per file by ts-jest
// (type errors are reported by `tsc -b` in the build, which runs before the tests).
const path = require('node:path');

/** @param {string} packageDir @param {{ clickhouse?: boolean }} [options] */
module.exports = function preset(packageDir, options = {}) {
  return {
    rootDir: packageDir,
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(packageDir, 'tsconfig.json') }],
    },
    testMatch: ['<rootDir>/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    testTimeout: 30_000,
    ...(options.clickhouse
      ? {
          globalSetup: path.join(__dirname, 'jest.clickhouse-setup.js'),
          globalTeardown: path.join(__dirname, 'jest.clickhouse-teardown.js'),
        }
      : {}),
  };
};
