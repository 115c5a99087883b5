import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { testClickHouseUrl } from '@distlog/collector/testing';
import { REPO_ROOT, collectorForFile } from '../support/collector-process';
import { scopeRecords } from '../support/services';

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
    const rows = await scopeRecords(started.ch, called.traceId, 3, {}, 'distlog.scope.end');
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    // Node's scope → the Python request scope (continuing traceparent) → its nested scope.
    expect(byName['check availability']).toMatchObject({ service: 'shop-node', spanId: called.spanId });
    expect(byName['GET /stock']).toMatchObject({ service: 'stock', parent: called.spanId });
    expect(byName['check stock']).toMatchObject({
      service: 'stock',
      parent: byName['GET /stock'].spanId,
    });
  } finally {
    stock.kill('SIGINT');
    await new Promise((resolve) => stock.once('close', resolve));
  }
}, 60_000);

it('a Node gRPC client calling a Python gRPC service: one trace, one tree', async () => {
  // grpcio on the Python side (Debian's python3-grpcio, which `npm run setup` installs), a
  // generated grpc-js client on the Node side; only Distlog connects them.
  const server = `
import json, logging, time
from concurrent import futures
import distlog
distlog.init()
import grpc
log = logging.getLogger("stock")
def get(request, context):
    with distlog.scope("count shelves"):
        log.info("py grpc stock %s", request["sku"])
    return {"n": 5}
handler = grpc.method_handlers_generic_handler("shop.Stock", {"Get": grpc.unary_unary_rpc_method_handler(
    get, request_deserializer=lambda b: json.loads(b), response_serializer=lambda v: json.dumps(v).encode())})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(json.dumps({"listening": port}), flush=True)
server.wait_for_termination()
`;
  const stock = spawn(PYTHON, ['-c', server], {
    env: {
      ...process.env,
      PYTHONPATH: path.join(REPO_ROOT, 'sdk/python'),
      OTEL_SERVICE_NAME: 'stock-grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.httpPort}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      stock.stdout!.once('data', (c: Buffer) => resolve(JSON.parse(c.toString()).listening));
      stock.once('exit', (code) => reject(new Error(`the Python gRPC service exited with ${code}`)));
    });
    const node = spawn(
      process.execPath,
      [
        '-r',
        '@distlog/sdk/register',
        '-e',
        `const grpc = require('@grpc/grpc-js');
         const { scope, shutdown } = require('@distlog/sdk');
         const { trace } = require('@opentelemetry/api');
         const json = { s: (v) => Buffer.from(JSON.stringify(v)), d: (b) => JSON.parse(b.toString()) };
         const Stock = grpc.makeGenericClientConstructor({ get: { path: '/shop.Stock/Get', requestStream: false,
           responseStream: false, requestSerialize: json.s, responseDeserialize: json.d } }, 'Stock');
         const client = new Stock('127.0.0.1:${port}', grpc.credentials.createInsecure());
         scope('reserve', {}, () => new Promise((resolve, reject) => client.get({ sku: 'b7' }, (err, answer) => {
           if (err) return reject(err);
           const sc = trace.getActiveSpan().spanContext();
           process.stdout.write(JSON.stringify({ n: answer.n, traceId: sc.traceId, spanId: sc.spanId }) + '\\n');
           resolve();
         }))).then(() => (client.close(), shutdown()));`,
      ],
      {
        cwd: path.join(REPO_ROOT, 'tests'),
        env: {
          ...process.env,
          OTEL_SERVICE_NAME: 'shop-node-grpc',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        },
      },
    );
    let out = '';
    node.stdout.on('data', (c) => (out += c));
    await new Promise((resolve) => node.on('close', resolve));
    const called = JSON.parse(out) as { n: number; traceId: string; spanId: string };
    expect(called.n).toBe(5);
    const rows = await scopeRecords<{ code: string }>(
      started.ch,
      called.traceId,
      3,
      { code: 'rpc.grpc.status_code' },
      'distlog.scope.end',
    );
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    // Node's scope → the Python call's scope (from the call's metadata) → its nested scope.
    expect(byName['reserve']).toMatchObject({ service: 'shop-node-grpc', spanId: called.spanId });
    expect(byName['shop.Stock/Get']).toMatchObject({
      service: 'stock-grpc',
      parent: called.spanId,
      code: '0',
    });
    expect(byName['count shelves']).toMatchObject({
      service: 'stock-grpc',
      parent: byName['shop.Stock/Get'].spanId,
    });
  } finally {
    stock.kill('SIGINT');
    await new Promise((resolve) => stock.once('close', resolve));
  }
}, 60_000);
