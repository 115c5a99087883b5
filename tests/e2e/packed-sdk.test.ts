import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '@distlog/collector/testing';
import {
  collectorForFile,
  REPO_ROOT,
  runFixture,
  setLevelRule,
  userNpmEnv,
} from '../support/collector-process';

/**
 * The SDK as a user gets it (issue 20): `npm pack` of @distlog/sdk, installed with pino into
 * an app outside the repository by the npm of the Node that runs the test — so on Node 22/24
 * npm resolves the SDK's OpenTelemetry ranges to the current OTel JS line, on Node 20 to the
 * 0.223 line. A CommonJS and an ES-module app then send to a real collector (records stored
 * with trace context, a level rule obeyed), and an app that runs the OpenTelemetry Node SDK
 * itself, started before or after Distlog, keeps one trace context.
 */
const run = promisify(execFile);
const started = collectorForFile('e2e_packed_sdk');
let app: string;
let tarballFiles: string[];

beforeAll(async () => {
  app = mkdtempSync(path.join(os.tmpdir(), 'distlog-packed-app-'));
  // The SDK and the protocol package it depends on (@distlog/proto), as they are published.
  const { stdout } = await run(
    'npm',
    [
      'pack',
      '--workspace',
      '@distlog/sdk',
      '--workspace',
      '@distlog/proto',
      '--pack-destination',
      app,
      '--json',
      '--loglevel=error',
    ],
    { cwd: REPO_ROOT, env: userNpmEnv() },
  );
  const tarballs = JSON.parse(stdout) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const packed = tarballs.find((p) => p.name === '@distlog/sdk')!;
  const protocol = tarballs.find((p) => p.name === '@distlog/proto')!;
  tarballFiles = [...packed.files, ...protocol.files].map((f) => f.path);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'packed-app', private: true }));
  // What a user types; @opentelemetry/sdk-node and sdk-trace only for the app that runs OTel itself.
  await run(
    'npm',
    [
      'install',
      // A registry that cannot be reached fails the test within a minute instead of hanging.
      '--fetch-timeout=30000',
      '--fetch-retries=1',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `./${protocol.filename}`,
      `./${packed.filename}`,
      'pino',
      '@opentelemetry/sdk-node',
      '@opentelemetry/sdk-trace',
    ],
    { cwd: app, env: userNpmEnv(), timeout: 240_000 },
  );
}, 300_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

function installed(name: string): string {
  return JSON.parse(readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
}

describe('the packed @distlog/sdk in an app outside the repository', () => {
  it('holds only what runs: no tests, benches or source maps; types, licence and README included', () => {
    expect(tarballFiles).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/pino/transport.js',
        'dist/pino/transport.d.ts',
        'dist/register.js',
      ]),
    );
    expect(
      tarballFiles.filter((f) => /\.test\.|\/bench\/|fixture|\.map$|tsbuildinfo|^src\//.test(f)),
    ).toEqual([]);
  });

  it('gets the OpenTelemetry JS line the running Node supports', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const line = { sdkLogs: installed('@opentelemetry/sdk-logs'), api: installed('@opentelemetry/api') };
    // One copy of the API (the SDK's peer dependency), shared with the app's OTel SDK.
    if (major >= 22)
      expect(line).toMatchObject({
        sdkLogs: expect.stringMatching(/^3\./),
        api: expect.stringMatching(/^1\.10\./),
      });
    else
      expect(line).toMatchObject({
        sdkLogs: expect.stringMatching(/^0\.223\./),
        api: expect.stringMatching(/^1\.9\./),
      });
  });

  const apps = {
    cjs: `const pino = require('pino');
const { init, scope, getDistlog, shutdown } = require('@distlog/sdk');
const { trace } = require('@opentelemetry/api');
async function main() {`,
    esm: `import pino from 'pino';
import { init, scope, getDistlog, shutdown } from '@distlog/sdk';
import * as everything from '@distlog/sdk';
import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';
// Every name the CommonJS build exports is importable by name from an ES module too.
const missing = Object.keys(createRequire(import.meta.url)('@distlog/sdk')).filter((k) => !(k in everything));
if (missing.length) throw new Error('not importable from ESM: ' + missing.join(', '));
{`,
  };

  it.each(['cjs', 'esm'] as const)(
    'a %s app: records stored with trace context, a level rule obeyed',
    async (kind) => {
      const service = `packed-${kind}-${randomUUID().slice(0, 8)}`;
      const tag = randomUUID();
      const file = path.join(app, kind === 'cjs' ? 'app.cjs' : 'app.mjs');
      writeFileSync(
        file,
        `${apps[kind]}
init();
const logger = pino({ name: 'packed', level: 'info', transport: { target: '@distlog/sdk/pino' } });
const deadline = Date.now() + 10000;
while (getDistlog().levels()['packed']?.level !== 'debug' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const ids = await scope('request', {}, async () => {
  logger.debug(process.env.FIXTURE_TAG + ' debug');
  return trace.getActiveSpan().spanContext();
});
process.stdout.write(JSON.stringify({ traceId: ids.traceId, spanId: ids.spanId }) + '\\n');
logger.flush(() => shutdown());
}
${kind === 'cjs' ? 'void main();' : ''}
`,
      );
      await setLevelRule(started.collector, { service, logger: 'packed', level: 'debug' });
      const [ids] = await runFixture(file, {
        FIXTURE_TAG: tag,
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
      });
      const rows = await eventually(async () => {
        const found = await started.ch.query<{
          Body: string;
          SeverityText: string;
          TraceId: string;
          SpanId: string;
        }>(
          `SELECT Body, SeverityText, TraceId, SpanId FROM ${started.ch.database}.all_logs
         WHERE ServiceName = '${service}' AND ScopeName = 'packed'`,
        );
        return found.length ? found : undefined;
      });
      expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(rows).toEqual([
        { Body: `${tag} debug`, SeverityText: 'DEBUG', TraceId: ids.traceId, SpanId: ids.spanId },
      ]);
    },
  );

  it.each(['OTel SDK first', 'Distlog first'] as const)(
    'an app running the OpenTelemetry Node SDK (%s) keeps one trace context',
    async (order) => {
      const service = `packed-otel-${randomUUID().slice(0, 8)}`;
      const tag = randomUUID();
      const file = path.join(app, 'otel-app.cjs');
      writeFileSync(
        file,
        `const { NodeSDK } = require('@opentelemetry/sdk-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace');
const { trace } = require('@opentelemetry/api');
const pino = require('pino');
const { init, scope, shutdown } = require('@distlog/sdk');
const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor({ exporter });
const otel = new NodeSDK({ spanProcessors: [processor], instrumentations: [] });
if (process.env.ORDER === 'OTel SDK first') { otel.start(); init(); } else { init(); otel.start(); }
const logger = pino({ name: 'coexist', transport: { target: '@distlog/sdk/pino' } });
const tag = process.env.FIXTURE_TAG;
trace.getTracer('app').startActiveSpan('handle', async (span) => {
  logger.info(tag + ' app span');
  const inner = await scope('inner', {}, async () => {
    logger.info(tag + ' scope');
    return trace.getActiveSpan().spanContext();
  });
  span.end();
  await processor.forceFlush(); // the SDK's resource detection is asynchronous: exports wait for it
  const spans = exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parent: (s.parentSpanContext && s.parentSpanContext.spanId) || s.parentSpanId,
  }));
  const { traceId, spanId } = span.spanContext();
  process.stdout.write(JSON.stringify({ traceId, spanId, recording: String(span.isRecording() || spans.length > 0), inner: inner.spanId, spans: JSON.stringify(spans) }) + '\\n');
  logger.flush(() => Promise.all([shutdown(), otel.shutdown()]));
});
`,
      );
      const [out] = await runFixture(file, {
        ORDER: order,
        FIXTURE_TAG: tag,
        OTEL_SERVICE_NAME: service,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
      });
      // The app's SDK recorded both spans — its own and Distlog's scope, a child of it: one trace.
      expect(JSON.parse(out.spans)).toEqual(
        expect.arrayContaining([
          { name: 'inner', traceId: out.traceId, spanId: out.inner, parent: out.spanId },
          { name: 'handle', traceId: out.traceId, spanId: out.spanId, parent: undefined },
        ]),
      );
      const rows = await eventually(async () => {
        const found = await started.ch.query<{ Body: string; TraceId: string; SpanId: string }>(
          `SELECT Body, TraceId, SpanId FROM ${started.ch.database}.all_logs
           WHERE ServiceName = '${service}' AND ScopeName = 'coexist' ORDER BY Body`,
        );
        return found.length === 2 ? found : undefined;
      });
      expect(rows).toEqual(
        [
          { Body: `${tag} app span`, TraceId: out.traceId, SpanId: out.spanId },
          { Body: `${tag} scope`, TraceId: out.traceId, SpanId: out.inner },
        ].sort((a, b) => a.Body.localeCompare(b.Body)),
      );
    },
  );
});
