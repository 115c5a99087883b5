import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { eventually } from '@distlog/collector/testing';
import { DISTLOG_BIN, collectorForFile, runFixtureOutput } from '../support/collector-process';
import { listenQueryApi } from '../support/query-api';

/**
 * Spans from any OpenTelemetry SDK: an app with only the official SDK (no Distlog package)
 * exports its traces to the collector — OTLP/HTTP protobuf, OTLP/HTTP JSON and OTLP/gRPC —
 * and its logs beside them. `distlog tree` then nests its spans, times them and shows their
 * failure and records, as it does for Distlog's own scopes.
 */
const started = collectorForFile('e2e_traces');
let api: { app: FastifyInstance; base: string };

beforeAll(async () => {
  api = await listenQueryApi(started.ch);
});
afterAll(() => api.app.close());

function distlog(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DISTLOG_BIN, ...args], {
      env: { ...process.env, DISTLOG_API: api.base, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Node {
  name: string;
  service: string;
  status: string;
  error?: string;
  durationMs?: number;
  children: Node[];
  records: Array<{ body: string; eventName: string; attributes: Record<string, string> }>;
}

describe.each([
  ['http/protobuf', 'none'],
  ['http/json', 'gzip'],
  ['grpc', 'gzip'],
])('spans of an OpenTelemetry app over %s, compression %s', (protocol, compression) => {
  it('are nested, timed and failed in `distlog tree`, with the records logged in them', async () => {
    const { collector } = started;
    const {
      lines: [{ traceId, distlogSpanId }],
    } = await runFixtureOutput('otel-traced-app.js', {
      FIXTURE_PROTOCOL: protocol,
      FIXTURE_TRACES_URL:
        protocol === 'grpc'
          ? `http://127.0.0.1:${collector.grpcPort}`
          : `http://127.0.0.1:${collector.httpPort}/v1/traces`,
      FIXTURE_LOGS_URL: `http://127.0.0.1:${collector.httpPort}/v1/logs`,
      // The exporters' own setting: gzip bodies over HTTP, gzip messages over gRPC.
      OTEL_EXPORTER_OTLP_COMPRESSION: compression,
    });
    const service = `otel-app-${protocol.replace('/', '-')}`;
    await eventually(
      async () => (await distlog(['tree', traceId])).stdout.includes('responding 500'),
      20_000,
      200,
      'the trace with its spans and records',
    );
    const text = await distlog(['tree', traceId]);
    expect({ code: text.code, stderr: text.stderr }).toEqual({ code: 0, stderr: '' });
    expect(text.stdout).toContain(`GET /orders/7 [${service}]`);
    expect(text.stdout).toMatch(
      new RegExp(`└─ SELECT orders \\[${service}\\] [\\d.]+ ms ✗ connection reset`),
    );

    const tree = JSON.parse((await distlog(['tree', traceId, '--json'])).stdout) as { roots: Node[] };
    expect(tree.roots.map((r) => r.name)).toEqual(['GET /orders/7']);
    const [root] = tree.roots;
    expect(root.status).toBe('ok');
    expect(root.records.map((r) => r.body)).toEqual(['request in', 'responding 500']);
    expect(root.children.map((c) => c.name)).toEqual(['SELECT orders']);
    const [db] = root.children;
    expect({ status: db.status, error: db.error }).toEqual({ status: 'error', error: 'connection reset' });
    expect(db.durationMs).toBeGreaterThanOrEqual(15);
    expect(root.durationMs).toBeGreaterThanOrEqual(db.durationMs!);
    // Logged in the span, then its events: one record each.
    expect(db.records.map((r) => [r.eventName, r.body])).toEqual([
      ['', 'querying orders'],
      ['retrying', 'retrying'],
      ['exception', 'connection reset'],
    ]);
    expect(db.records[1].attributes.attempt).toBe('2');

    // The span's attributes and kind are the scope record's attributes, searchable as any.
    const [end] = await started.ch.query<{ k: string[]; v: string[]; sev: number; scope: string }>(
      `SELECT LogAttributes.key AS k, LogAttributes.value AS v, SeverityNumber AS sev, ScopeName AS scope
       FROM ${started.ch.database}.all_logs
       WHERE TraceId = '${traceId}' AND EventName = 'distlog.scope.end' AND LogAttributes.value[indexOf(LogAttributes.key, 'scope.name')] = 'SELECT orders'`,
    );
    const attrs = Object.fromEntries(end.k.map((k, i) => [k, end.v[i]]));
    expect(attrs).toMatchObject({
      'db.system': 'postgresql',
      'span.kind': 'client',
      'exception.type': 'Error',
    });
    expect({ sev: end.sev, scope: end.scope }).toEqual({ sev: 17, scope: 'orders-http' });
    // The span of Distlog's scope tracer is not stored: its scope records come as logs.
    const [{ n }] = await started.ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${started.ch.database}.all_logs WHERE SpanId = '${distlogSpanId}'`,
    );
    expect(Number(n)).toBe(0);
  });
});

it('a span the tree cannot place is refused alone; a metrics export is told what Distlog stores', async () => {
  const { collector } = started;
  const now = String(BigInt(Date.now()) * 1_000_000n);
  const res = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/traces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'half-bad' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'ab'.repeat(16),
                  name: 'no span id',
                  startTimeUnixNano: now,
                  endTimeUnixNano: now,
                },
                {
                  traceId: 'ab'.repeat(16),
                  spanId: 'cd'.repeat(8),
                  name: 'kept',
                  kind: 'SPAN_KIND_SERVER',
                  startTimeUnixNano: now,
                  endTimeUnixNano: now,
                  status: { code: 'STATUS_CODE_OK' },
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    partialSuccess: {
      rejectedSpans: '1',
      errorMessage: '1 invalid: resourceSpans[0].scopeSpans[0].spans[0].spanId: a span needs a span id',
    },
  });
  await eventually(async () => {
    const [{ n }] = await started.ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${started.ch.database}.all_logs WHERE ServiceName = 'half-bad'`,
    );
    return Number(n) === 1;
  });

  const metrics = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/metrics`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf' },
    body: new Uint8Array(0),
  });
  expect(metrics.status).toBe(404);
  expect(await metrics.text()).toContain('Distlog stores no metrics: set OTEL_METRICS_EXPORTER=none');
});

it("an app with its own OTel SDK and Distlog's scopes: one tree, the SDK's spans around and inside the scopes", async () => {
  const { collector } = started;
  const file = path.resolve(__dirname, '../dist/fixtures', 'mixed-spans.cjs');
  writeFileSync(
    file,
    `const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'mixed' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.FIXTURE_TRACES_URL }))],
});
provider.register();
const { init, scope, shutdown, distlogDestination } = require('@distlog/sdk');
init({ serviceName: 'mixed' });
const { trace } = require('@opentelemetry/api');
const logger = require('pino')({ name: 'mixed' }, distlogDestination());
const tracer = trace.getTracer('http-instrumentation');
tracer.startActiveSpan('GET /mixed', async (http) => {
  logger.info('in the http span');
  await scope('handle order', { orderId: 'X-9' }, async () => {
    logger.info('in the scope');
    await tracer.startActiveSpan('pg.query', async (db) => {
      logger.info('in the db span');
      db.end();
    });
  });
  http.end();
  await provider.forceFlush();
  await shutdown();
  await provider.shutdown();
  console.log(JSON.stringify({ traceId: http.spanContext().traceId }));
});
`,
  );
  const {
    lines: [{ traceId }],
  } = await runFixtureOutput(file, {
    FIXTURE_TRACES_URL: `http://127.0.0.1:${collector.httpPort}/v1/traces`,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.grpcPort}`,
  });
  const tree = await eventually(async () => {
    const t = await distlog(['tree', traceId]);
    return t.stdout.includes('in the db span') && t.stdout.includes('GET /mixed') ? t.stdout : undefined;
  }, 20_000);
  expect(
    tree!
      .split('\n')
      .slice(1)
      .map((l) => l.replace(/ [\d.]+ ms/, '')),
  ).toEqual([
    'GET /mixed [mixed]',
    '│  · in the http span',
    '└─ handle order [mixed]',
    '   │  · in the scope',
    '   └─ pg.query [mixed]',
    '         · in the db span',
    '',
  ]);
  // The scope's span came as records only: its start, its end, nothing from the exported span.
  const [{ n }] = await started.ch.query<{ n: string }>(
    `SELECT count() AS n FROM ${started.ch.database}.all_logs WHERE TraceId = '${traceId}'`,
  );
  expect(Number(n)).toBe(7);
});
