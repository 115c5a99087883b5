// `@distlog/collector/testing`: helpers for the project's own tests (a database per test
// file on the test run's ClickHouse, waiting for a condition). Not in the package's main
// entry point, and not published (package.json `files` leaves dist/testing out).
export {
  createTestDatabase,
  dropTestDatabase,
  holdExpiredRows,
  testClickHouseUrl,
  eventually,
} from './test-database';
export { captureStderr } from './stderr';
