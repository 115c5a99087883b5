// One jest preset for every package. TypeScript is transpiled per file by ts-jest
// (type errors are reported by `tsc -b` in the build, which runs before the tests).
//
// A package with ClickHouse-backed tests gets two jest projects, both run by `npm test`:
//   unit         `*.test.ts`      — no ClickHouse is started (pure code, in-process sockets);
//   integration  `*.int.test.ts`  — one private ClickHouse per run (jest.clickhouse-setup.js),
//                                    or the server CLICKHOUSE_URL names.
// `npx jest --selectProjects unit` runs the unit tests alone, in seconds.
const path = require('node:path');

/**
 * @param {string} packageDir
 * @param {{ clickhouse?: boolean, endToEnd?: boolean }} [options] endToEnd: every test file
 *   (tests/e2e: real processes) needs ClickHouse, whatever its name.
 */
module.exports = function preset(packageDir, options = {}) {
  const common = {
    rootDir: packageDir,
    testEnvironment: 'node',
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(packageDir, 'tsconfig.json') }],
    },
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  };
  const clickhouse = {
    globalSetup: path.join(__dirname, 'jest.clickhouse-setup.js'),
    globalTeardown: path.join(__dirname, 'jest.clickhouse-teardown.js'),
  };
  if (!options.clickhouse || options.endToEnd) {
    return {
      ...common,
      testMatch: ['<rootDir>/**/*.test.ts'],
      testTimeout: 30_000,
      ...(options.clickhouse ? clickhouse : {}),
      // End-to-end files remove the folders they made (tests/support/temp-dir.ts) when they finish.
      ...(options.endToEnd
        ? { setupFilesAfterEnv: [path.join(packageDir, 'support', 'jest-cleanup.ts')] }
        : {}),
    };
  }
  return {
    testTimeout: 30_000,
    projects: [
      {
        ...common,
        displayName: 'unit',
        testMatch: ['<rootDir>/**/*.test.ts'],
        testPathIgnorePatterns: [...common.testPathIgnorePatterns, '\\.int\\.test\\.ts$'],
      },
      {
        ...common,
        displayName: 'integration',
        testMatch: ['<rootDir>/**/*.int.test.ts'],
        ...clickhouse,
      },
    ],
  };
};
