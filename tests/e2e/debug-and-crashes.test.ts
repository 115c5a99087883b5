import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { eventually } from '@distlog/collector/testing';
import { collectorForFile, runToEnd, setLevelRule } from '../support/collector-process';

/**
 * Issue 17: the `debug` package's output as records under run-time level rules (a real
 * express app), and crashes and warnings as records — each against a real collector.
 */
const started = collectorForFile('e2e_debug_crashes');
const FIXTURES = path.resolve(__dirname, '../dist/fixtures');

function endpointEnv(service: string): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.httpPort}`,
  };
}

const ATTRIBUTES = ['warning.code', 'job', 'exception.type', 'exception.stacktrace'];

async function rows(where: string) {
  const attr = (k: string) => `LogAttributes.value[indexOf(LogAttributes.key, '${k}')] AS \`${k}\``;
  return started.ch.query<Record<string, string>>(
    `SELECT Body, ScopeName, SeverityText, TraceId, EventName, ${ATTRIBUTES.map(attr).join(', ')}
     FROM ${started.ch.database}.all_logs WHERE ${where} ORDER BY Timestamp`,
  );
}

describe('debug output as records, switched by level rules', () => {
  // express 5 logs routing through the `router` package's namespaces (debug 4.x); express 4
  // through `express:router*` with its own debug 2.6.9.
  const cases = [
    {
      name: 'express 5, CommonJS',
      esm: false,
      module: 'express',
      pattern: 'router*',
      router: 'router',
      route: 'router:route',
    },
    {
      name: 'express 5, ES module',
      esm: true,
      module: 'express',
      pattern: 'router*',
      router: 'router',
      route: 'router:route',
    },
    {
      name: 'express 4 (debug 2.6.9), CommonJS',
      esm: false,
      module: 'express4',
      pattern: 'express:*',
      router: 'express:router',
      route: 'express:router:route',
    },
  ];
  const load = (c: (typeof cases)[number]) =>
    c.esm
      ? `import express from '${c.module}';
import http from 'node:http';
import { scopedHandler, getDistlog } from '@distlog/sdk';
import { trace } from '@opentelemetry/api';`
      : `const express = require('${c.module}');
const http = require('node:http');
const { scopedHandler, getDistlog } = require('@distlog/sdk');
const { trace } = require('@opentelemetry/api');`;
  let app: ChildProcess | undefined;
  afterEach(() => app?.kill());

  it.each(cases)(
    '$name: router output is recorded only while a rule enables it, with trace context',
    async (c) => {
      const service = `debug-${c.module}-${c.esm ? 'esm' : 'cjs'}-${randomUUID().slice(0, 8)}`;
      const file = path.join(FIXTURES, `debug-${c.module}.${c.esm ? 'mjs' : 'cjs'}`);
      writeFileSync(
        file,
        `${load(c)}
const app = express();
app.get('/levels', (req, res) => res.json(getDistlog().levels()));
app.get('/hit/:n', (req, res) => res.json({ traceId: trace.getActiveSpan().spanContext().traceId }));
const server = http.createServer(scopedHandler(app)).listen(0, '127.0.0.1', () =>
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'),
);
`,
      );
      app = spawn(process.execPath, [c.esm ? '--import' : '-r', '@distlog/sdk/register', file], {
        env: { ...process.env, ...endpointEnv(service), DISTLOG_CAPTURE_DEBUG: '1', DEBUG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: FIXTURES,
      });
      let stderr = '';
      app.stderr!.on('data', (c) => (stderr += c));
      const { port } = JSON.parse(
        await new Promise<string>((resolve) =>
          readline.createInterface({ input: app!.stdout! }).once('line', resolve),
        ),
      ) as { port: number };
      const base = `http://127.0.0.1:${port}`;
      const hit = async (n: string) =>
        ((await (await fetch(`${base}/hit/${n}`)).json()) as { traceId: string }).traceId;
      const levels = async () =>
        (await (await fetch(`${base}/levels`)).json()) as Record<
          string,
          { level: string; configured: string }
        >;

      const before = await hit('before');
      await setLevelRule(started.collector, { service, logger: c.pattern, level: 'debug', for: '6s' });
      await eventually(async () => ((await levels())[c.router]?.level === 'debug' ? true : undefined));
      const during = await hit('during');
      // The namespaces the process created are listed, with their DEBUG setting as configured.
      expect((await levels())[c.route]).toMatchObject({ level: 'debug', configured: 'silent' });
      // …and `distlog level list` (the collector's GET /v1/levels) shows them for this process.
      const listed = await eventually(async () => {
        const json = (await (
          await fetch(`http://127.0.0.1:${started.collector.httpPort}/v1/levels`)
        ).json()) as {
          instances: Array<{ service: string; loggers: Record<string, { level: string }> }>;
        };
        const mine = json.instances.find((i) => i.service === service);
        // The process reports its levels debounced; until the report made for the rule arrives,
        // the listing may still show the start-up report (silent). Wait for it, not for presence.
        return mine?.loggers[c.route]?.level === 'debug' ? mine.loggers : undefined;
      });
      expect(listed![c.route]).toMatchObject({ level: 'debug' });
      await eventually(
        async () => ((await levels())[c.router]?.level === 'silent' ? true : undefined),
        15_000,
      );
      const after = await hit('after');

      const recorded = await eventually(async () => {
        const found = await rows(
          `ServiceName = '${service}' AND ScopeName = '${c.router}' AND Body LIKE 'dispatching GET /hit/%'`,
        );
        return found.length > 0 ? found : undefined;
      });
      // Give anything sent late the same chance, then look at what was stored for each request.
      await new Promise((r) => setTimeout(r, 1500));
      const all = await rows(`ServiceName = '${service}' AND ScopeName LIKE '${c.router}%'`);
      expect(recorded![0]).toMatchObject({
        SeverityText: 'DEBUG',
        TraceId: during,
        Body: 'dispatching GET /hit/during',
      });
      expect(all.filter((r) => r.TraceId === before || r.TraceId === after)).toEqual([]);
      expect(
        // (the test's own /levels requests were recorded too while the rule was on, under their traces)
        all.every(
          (r) => r.SeverityText === 'DEBUG' && !r.Body.includes('\\u001b') && r.TraceId.length === 32,
        ),
      ).toBe(true);
      expect(stderr).not.toMatch(/dispatching/); // a rule records; only DEBUG=… would print
      expect(stderr).not.toMatch(/Warning/); // capturing makes no sound (debug 4's destroy() warns)
    },
  );
});

describe('crashes and warnings as records', () => {
  function crashApp(kind: 'cjs' | 'esm', what: 'throw' | 'reject' | 'handled'): string {
    const file = path.join(FIXTURES, `crash-${what}.${kind === 'cjs' ? 'cjs' : 'mjs'}`);
    const load =
      kind === 'cjs'
        ? `const { init, scope } = require('@distlog/sdk');\nconst { trace } = require('@opentelemetry/api');`
        : `import { init, scope } from '@distlog/sdk';\nimport { trace } from '@opentelemetry/api';`;
    writeFileSync(
      file,
      `${load}
if (process.env.WITH_DISTLOG === '1') init();
${what === 'handled' ? "process.on('uncaughtException', (err) => { process.stderr.write('handled: ' + err.message + '\\n'); process.exit(3); });" : ''}
const run = process.env.WITH_DISTLOG === '1' ? (fn) => scope('job', { job: 'nightly' }, fn) : (fn) => fn();
run(() => {
  const span = trace.getActiveSpan();
  process.stdout.write(JSON.stringify({ traceId: span ? span.spanContext().traceId : '' }) + '\\n');
  process.emitWarning('careful ' + process.env.FIXTURE_TAG, { code: 'DL001' });
  setTimeout(() => {
    ${what === 'reject' ? "Promise.reject(new RangeError('nope ' + process.env.FIXTURE_TAG));" : "throw new TypeError('boom ' + process.env.FIXTURE_TAG);"}
  }, 10);
});
`,
    );
    return file;
  }

  /** What Node printed, without stack frames (Distlog's scope adds frames) or Distlog's own lines. */
  const printed = (stderr: string) =>
    stderr
      .split('\n')
      .filter((l) => !/^\s+at /.test(l) && !l.startsWith('distlog:'))
      .join('\n')
      .replace(/\(node:\d+\)/g, '(node:PID)');

  it.each([
    ['cjs', 'throw'],
    ['esm', 'throw'],
    ['cjs', 'reject'],
    ['esm', 'reject'],
    // The app's own handler runs and decides (here: exit 3); the record still gets out.
    ['cjs', 'handled'],
  ] as const)(
    '%s, %s: one record with the trace context, stored; exit code and output unchanged',
    async (kind, what) => {
      const file = crashApp(kind, what);
      const tag = randomUUID();
      const service = `crash-${kind}-${what}-${tag.slice(0, 8)}`;
      const without = await runToEnd(file, { FIXTURE_TAG: tag });
      const withDistlog = await runToEnd(file, {
        FIXTURE_TAG: tag,
        WITH_DISTLOG: '1',
        ...endpointEnv(service),
      });
      expect(withDistlog.code).toBe(without.code);
      expect(without.code).not.toBe(0);
      expect(printed(withDistlog.stderr)).toBe(printed(without.stderr));
      const { traceId } = JSON.parse(withDistlog.stdout.split('\n')[0]) as { traceId: string };
      const stored = await eventually(async () => {
        const found = await rows(`ServiceName = '${service}' AND ScopeName = 'distlog.process'`);
        return found.length === 2 ? found : undefined;
      });
      const [warning, crash] = stored!;
      expect(warning).toMatchObject({
        SeverityText: 'WARN',
        Body: `Warning: careful ${tag}`,
        TraceId: traceId,
      });
      expect(warning).toMatchObject({
        EventName: 'distlog.process.warning',
        'warning.code': 'DL001',
        job: 'nightly',
      });
      const type = what === 'reject' ? 'RangeError' : 'TypeError';
      expect(crash).toMatchObject({
        SeverityText: what === 'reject' ? 'ERROR' : 'FATAL',
        Body: `${type}: ${what === 'reject' ? 'nope' : 'boom'} ${tag}`,
        TraceId: traceId,
      });
      expect(crash).toMatchObject({
        EventName: `distlog.process.${what === 'reject' ? 'unhandled_rejection' : 'uncaught_exception'}`,
        'exception.type': type,
        'exception.stacktrace': expect.stringContaining(`${type}: `),
        job: 'nightly',
      });
    },
  );
});
