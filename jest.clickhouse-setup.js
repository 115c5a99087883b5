// Jest global setup: one private ClickHouse per test run (each test file then creates its
// own database), unless CLICKHOUSE_URL names a server to use instead. Which ClickHouse:
// DISTLOG_TEST_CLICKHOUSE=server (default; the clickhouse-server installed here, 18.16) or
// chdb (the embedded store: current ClickHouse through chDB, in its own process).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LocalClickHouse } = require('./collector/dist/storage/local-clickhouse');
const { LocalChdb } = require('./collector/dist/storage/embedded/local-chdb');

module.exports = async function startTestClickHouse() {
  if (process.env.CLICKHOUSE_URL) {
    process.env.DISTLOG_TEST_CLICKHOUSE_URL = process.env.CLICKHOUSE_URL;
    return;
  }
  const kind = process.env.DISTLOG_TEST_CLICKHOUSE ?? 'server';
  if (kind !== 'server' && kind !== 'chdb')
    throw new Error(`DISTLOG_TEST_CLICKHOUSE=${kind}: expected server or chdb`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `distlog-test-${kind}-`));
  const server = kind === 'chdb' ? await LocalChdb.start({ dir }) : await LocalClickHouse.start({ dir });
  globalThis.__distlogClickHouse = { server, dir };
  process.env.DISTLOG_TEST_CLICKHOUSE_URL = server.url;
};
