// Jest global setup: one private ClickHouse server per test run (each test file then
// creates its own database), unless CLICKHOUSE_URL names a server to use instead.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LocalClickHouse } = require('./collector/dist/storage/local-clickhouse');

module.exports = async function startTestClickHouse() {
  if (process.env.CLICKHOUSE_URL) {
    process.env.DISTLOG_TEST_CLICKHOUSE_URL = process.env.CLICKHOUSE_URL;
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distlog-test-clickhouse-'));
  const server = await LocalClickHouse.start({ dir });
  globalThis.__distlogClickHouse = { server, dir };
  process.env.DISTLOG_TEST_CLICKHOUSE_URL = server.url;
};
