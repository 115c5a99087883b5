import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ClickHouse, testClickHouseUrl } from '@distlog/collector';
import {
  CollectorProcess,
  REPO_ROOT,
  collectorWithDatabase,
  stopCollectorAndDatabase,
} from '../support/collector-process';

/**
 * The Python SDK's own tests (sdk/python/tests, pytest) against a real collector process
 * and ClickHouse started here: run by `npm test` like every other test. Debian's python3
 * with its python3-pytest, which `npm run setup` installs.
 */
let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_python'));
});

afterAll(() => stopCollectorAndDatabase(collector, ch));

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

it('sdk/python: logging, scopes, trace context, run-time levels and the bounded queue (pytest)', async () => {
  const child = spawn(
    PYTHON,
    ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(REPO_ROOT, 'sdk/python/tests')],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DISTLOG_TEST_OTLP: `http://127.0.0.1:${collector.httpPort}`,
        DISTLOG_TEST_CLICKHOUSE_URL: testClickHouseUrl(),
        DISTLOG_TEST_DATABASE: ch.database,
      },
    },
  );
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // pytest's own summary names each failure; the line `N passed` proves they ran.
  expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/\b\d+ passed\b/) });
}, 180_000);
