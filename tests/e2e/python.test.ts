import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { eventually, testClickHouseUrl } from '@distlog/collector/testing';
import { REPO_ROOT, collectorForFile } from '../support/collector-process';

/**
 * The Python SDK's own tests (sdk/python/tests, pytest) against a real collector process
 * and ClickHouse started here: run by `npm test` like every other test. Debian's python3
 * with its python3-pytest, which `npm run setup` installs.
 */
const started = collectorForFile('e2e_python');

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

it('sdk/python: logging, scopes, trace context, run-time levels and the bounded queue (pytest)', async () => {
  const child = spawn(
    PYTHON,
    ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(REPO_ROOT, 'sdk/python/tests')],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DISTLOG_TEST_OTLP: `http://127.0.0.1:${started.collector.httpPort}`,
        DISTLOG_TEST_OTLP_GRPC: `http://127.0.0.1:${started.collector.grpcPort}`,
        DISTLOG_TEST_CLICKHOUSE_URL: testClickHouseUrl(),
        DISTLOG_TEST_DATABASE: started.ch.database,
        // pytest colours its report whenever FORCE_COLOR is set, even to 0: plain text to read.
        NO_COLOR: '1',
      },
    },
  );
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // pytest's own report names each failure (shown whole when it fails); `N passed` proves they ran.
  if (code !== 0) throw new Error(`pytest exited with ${code}:\n${output}`);
  expect(output).toMatch(/\b\d+ passed\b/);
}, 180_000);

it('a Node service calling a Python service: one trace, one tree', async () => {
  const stock = spawn(PYTHON, [path.join(REPO_ROOT, 'sdk/examples/python/stock.py')], {
    env: {
      ...process.env,
      PYTHONPATH: path.join(REPO_ROOT, 'sdk/python'),
      STOCK_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.httpPort}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve) =>
      stock.stdout!.once('data', (c: Buffer) => resolve(JSON.parse(c.toString()).listening)),
    );
    // The Node side: a scope that calls the Python service with tracedFetch.
    const node = spawn(
      process.execPath,
      [
        '-e',
        `const { init, scope, tracedFetch, shutdown } = require('@distlog/sdk');
         const { trace } = require('@opentelemetry/api');
         init({ serviceName: 'shop-node' });
         scope('check availability', {}, async () => {
           const res = await (await tracedFetch('http://127.0.0.1:${port}/stock?item=book')).json();
           const sc = trace.getActiveSpan().spanContext();
           process.stdout.write(JSON.stringify({ ...res, traceId: sc.traceId, spanId: sc.spanId }) + '\\n');
         }).then(() => shutdown());`,
      ],
      {
        cwd: path.join(REPO_ROOT, 'tests'),
        env: {
          ...process.env,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        },
      },
    );
    let out = '';
    node.stdout.on('data', (c) => (out += c));
    await new Promise((resolve) => node.on('close', resolve));
    const called = JSON.parse(out) as { quantity: number; traceId: string; spanId: string };
    expect(called.quantity).toBe(7);
    const rows = await eventually(async () => {
      const r = await started.ch.query<{
        ServiceName: string;
        EventName: string;
        SpanId: string;
        name: string;
        parent: string;
      }>(
        `SELECT ServiceName, EventName, SpanId,
                LogAttributes.value[indexOf(LogAttributes.key, 'scope.name')] AS name,
                LogAttributes.value[indexOf(LogAttributes.key, 'scope.parent_span_id')] AS parent
         FROM ${started.ch.database}.all_logs WHERE TraceId = '${called.traceId}' AND EventName = 'distlog.scope.end'`,
      );
      return r.length >= 3 ? r : undefined;
    });
    const byName = Object.fromEntries(rows!.map((r) => [r.name, r]));
    // Node's scope → the Python request scope (continuing traceparent) → its nested scope.
    expect(byName['check availability']).toMatchObject({ ServiceName: 'shop-node', SpanId: called.spanId });
    expect(byName['GET /stock']).toMatchObject({ ServiceName: 'stock', parent: called.spanId });
    expect(byName['check stock']).toMatchObject({
      ServiceName: 'stock',
      parent: byName['GET /stock'].SpanId,
    });
  } finally {
    stock.kill('SIGINT');
    await new Promise((resolve) => stock.once('close', resolve));
  }
}, 60_000);
