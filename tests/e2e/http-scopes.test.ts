import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually } from '@distlog/collector/testing';
import { FIXTURES, attr, scopeRecords, serviceStarter } from '../support/services';
import { collectorForFile, runFixtureOutput, runToEnd } from '../support/collector-process';

/**
 * Requests followed across services with no Distlog code (sdk/src/http.ts): apps started
 * with `-r`/`--import @distlog/sdk/register` — a bare node:http server in an ES module, an
 * express 5 app, a fastify app — calling each other with fetch, an ES-module named import
 * of node:http's `get`, and `http.get`. One trace, each request a scope under its caller's.
 */
const started = collectorForFile('e2e_http_scopes');

const scopeRows = (traceId: string, expected: number) =>
  scopeRecords<{ target: string; httpStatus: string }>(started.ch, traceId, expected, {
    target: 'http.target',
    httpStatus: 'http.status_code',
  });

async function lines(
  traceId: string,
  bodyPrefix: string,
): Promise<Array<{ service: string; spanId: string; body: string }>> {
  return started.ch.query(
    `SELECT ServiceName AS service, SpanId AS spanId, Body AS body FROM ${started.ch.database}.all_logs
     WHERE TraceId = '${traceId}' AND Body LIKE '${bodyPrefix}%' ORDER BY Body`,
  );
}

const startApp = serviceStarter(() => started.collector.grpcPort);

const fastifyBack = `
const fastify = require('fastify')({ logger: { level: 'info', transport: { target: '@distlog/sdk/pino' } } });
fastify.get('/stock/:sku', async (req) => { req.log.info({ sku: req.params.sku }, 'hs stock ' + req.params.sku); return { sku: req.params.sku, n: 3 }; });
fastify.get('/broken', async (req, reply) => { reply.code(503); return { down: true }; });
fastify.listen({ port: 0, host: '127.0.0.1' }).then(() => console.log('listening ' + fastify.server.address().port));
`;

const expressMid = `
const express = require('express');
const http = require('node:http');
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
const app = express();
app.get('/items/:id', (req, res) => {
  logger.info('hs item ' + req.params.id);
  http.get('http://127.0.0.1:' + process.env.BACK_PORT + '/stock/' + req.params.id, (answer) => {
    let body = '';
    answer.on('data', (c) => (body += c));
    answer.on('end', () => res.json({ id: req.params.id, stock: JSON.parse(body) }));
  });
});
app.get('/fails', async (req, res) => {
  const answer = await fetch('http://127.0.0.1:' + process.env.BACK_PORT + '/broken');
  res.status(answer.status === 503 ? 502 : 200).end();
});
const server = app.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

const bareFront = `
import { createServer, get } from 'node:http';
import pino from 'pino';
const logger = pino({ transport: { target: '@distlog/sdk/pino' } });
const mid = 'http://127.0.0.1:' + process.env.MID_PORT;
const viaGet = (url) => new Promise((resolve, reject) =>
  get(url, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b)); }).on('error', reject));
const server = createServer(async (req, res) => {
  logger.info('hs order ' + req.url);
  if (req.url.startsWith('/fails')) {
    const answer = await fetch(mid + '/fails');
    res.statusCode = answer.status;
    return res.end();
  }
  const a = await (await fetch(mid + '/items/42')).text();
  const b = await viaGet(mid + '/items/43');
  res.end(JSON.stringify([a, b]));
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

describe('requests followed across services with no code (-r / --import @distlog/sdk/register)', () => {
  let front: number;
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    const back = await startApp('hs-back.cjs', fastifyBack, { OTEL_SERVICE_NAME: `hs-back-${tag}` }, [
      '-r',
      '@distlog/sdk/register',
    ]);
    const mid = await startApp(
      'hs-mid.cjs',
      expressMid,
      { OTEL_SERVICE_NAME: `hs-mid-${tag}`, BACK_PORT: String(back.port) },
      ['-r', '@distlog/sdk/register'],
    );
    front = (
      await startApp(
        'hs-front.mjs',
        bareFront,
        {
          OTEL_SERVICE_NAME: `hs-front-${tag}`,
          MID_PORT: String(mid.port),
          // Its exporter's own requests go through the node:http Distlog wraps.
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.httpPort}`,
        },
        ['--import', '@distlog/sdk/register'],
      )
    ).port;
  });

  it("one trace: each request a scope under its caller's, named by its route, with its status", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const answer = await fetch(`http://127.0.0.1:${front}/orders/1042?x=1`, {
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    expect(answer.status).toBe(200);
    // front, two mid requests, two back requests: a start and an end record each.
    const rows = await scopeRows(traceId, 10);
    const ends = rows.filter((r) => r.event === 'distlog.scope.end');
    const of = (service: string) => ends.filter((r) => r.service === `hs-${service}-${tag}`);
    expect(of('front')).toEqual([
      expect.objectContaining({
        name: 'GET /orders/:id',
        parent: callerSpan,
        target: '/orders/1042',
        status: 'ok',
        httpStatus: '200',
      }),
    ]);
    const frontSpan = of('front')[0].spanId;
    expect(
      of('mid')
        .map((r) => [r.name, r.target, r.parent, r.httpStatus])
        .sort(),
    ).toEqual([
      ['GET /items/:id', '/items/42', frontSpan, '200'],
      ['GET /items/:id', '/items/43', frontSpan, '200'],
    ]);
    const midSpans = of('mid').map((r) => r.spanId);
    expect(of('back').map((r) => [r.name, r.parent, r.httpStatus])).toEqual(
      expect.arrayContaining([
        ['GET /stock/:id', midSpans[0], '200'],
        ['GET /stock/:id', midSpans[1], '200'],
      ]),
    );
    // Each app's own lines carry the span of the request they were logged in.
    const logged = await eventually(async () => {
      const found = await lines(traceId, 'hs ');
      return found.length === 5 ? found : undefined;
    });
    expect(logged).toBeDefined();
    const spanOf = (service: string, target: string) =>
      ends.find((r) => r.service === `hs-${service}-${tag}` && r.target === target)!.spanId;
    // The request's http.* are on its scope's records, not on every line the app logged in it.
    const [httpOnLines] = await started.ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${started.ch.database}.all_logs
       WHERE TraceId = '${traceId}' AND Body LIKE 'hs %' AND has(LogAttributes.key, 'http.target')`,
    );
    expect(httpOnLines.n).toBe('0');
    expect(logged).toEqual([
      { service: `hs-mid-${tag}`, spanId: spanOf('mid', '/items/42'), body: 'hs item 42' },
      { service: `hs-mid-${tag}`, spanId: spanOf('mid', '/items/43'), body: 'hs item 43' },
      { service: `hs-front-${tag}`, spanId: frontSpan, body: 'hs order /orders/1042?x=1' },
      { service: `hs-back-${tag}`, spanId: spanOf('back', '/stock/42'), body: 'hs stock 42' },
      { service: `hs-back-${tag}`, spanId: spanOf('back', '/stock/43'), body: 'hs stock 43' },
    ]);
  });

  it('a request that answers 5xx ends its scope as failed, with the status code', async () => {
    const traceId = randomBytes(16).toString('hex');
    const answer = await fetch(`http://127.0.0.1:${front}/fails`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(answer.status).toBe(502);
    const rows = await scopeRows(traceId, 6);
    const ends = rows.filter((r) => r.event === 'distlog.scope.end');
    expect(ends.map((r) => [r.service, r.name, r.status, r.httpStatus]).sort()).toEqual(
      [
        [`hs-back-${tag}`, 'GET /broken', 'error', '503'],
        [`hs-front-${tag}`, 'GET /fails', 'error', '502'],
        [`hs-mid-${tag}`, 'GET /fails', 'error', '502'],
      ].sort(),
    );
  });
});

/**
 * An app that makes its own request spans with OpenTelemetry's http instrumentation, with
 * Distlog started before it (-r register) or after it (init() in the code): one span per
 * request — Distlog adds no scope and no second `traceparent` — and the app's lines carry
 * the instrumentation's span ids. And DISTLOG_CAPTURE_HTTP=0: nothing added at all.
 */
const selfCallingApp = (distlogFirst: boolean) => `
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const instrumented = process.env.WITH_OTEL_HTTP === '1';
const spans = new InMemorySpanExporter();
if (instrumented) {
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
}
${distlogFirst ? '' : "require('@distlog/sdk').init();"}
const http = require('node:http');
const { trace } = require('@opentelemetry/api');
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
const seen = {};
const server = http.createServer((req, res) => {
  seen[req.url] = req.headers.traceparent ?? '';
  logger.info('sc ' + req.url);
  const span = trace.getActiveSpan()?.spanContext().spanId ?? '';
  if (req.url === '/outer') {
    http.get('http://127.0.0.1:' + server.address().port + '/inner', (inner) => {
      inner.resume();
      inner.on('end', () => res.end(span));
    });
  } else res.end(span);
});
server.listen(0, '127.0.0.1', async () => {
  const traceId = process.env.TRACE_ID;
  await new Promise((resolve) =>
    http.get({ port: server.address().port, path: '/outer', headers: { traceparent: '00-' + traceId + '-' + '1'.repeat(16) + '-01' } }, (r) => { r.resume(); r.on('end', resolve); }));
  server.close();
  const serverSpans = spans.getFinishedSpans().filter((s) => s.kind === 1).map((s) => s.spanContext().spanId);
  process.stdout.write(JSON.stringify({ seen: JSON.stringify(seen), serverSpans: JSON.stringify(serverSpans) }) + '\\n');
  await require('@distlog/sdk').shutdown();
});
`;

describe('another instrumentation makes the request spans, or the capture is off', () => {
  const run = async (file: string, distlogFirst: boolean, env: Record<string, string>) => {
    writeFileSync(path.join(FIXTURES, file), selfCallingApp(distlogFirst));
    const traceId = randomBytes(16).toString('hex');
    const service = `hs-self-${randomUUID().slice(0, 8)}`;
    const { lines: out } = await runFixtureOutput(
      file,
      {
        OTEL_SERVICE_NAME: service,
        TRACE_ID: traceId,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        ...env,
      },
      distlogFirst ? ['-r', '@distlog/sdk/register'] : [],
    );
    const logged = await eventually(async () => {
      const found = await started.ch.query<{ body: string; spanId: string; traceId: string }>(
        `SELECT Body AS body, SpanId AS spanId, TraceId AS traceId FROM ${started.ch.database}.all_logs
         WHERE ServiceName = '${service}' AND Body LIKE 'sc %' ORDER BY Body`,
      );
      return found.length === 2 ? found : undefined;
    });
    const [scopes] = await started.ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${started.ch.database}.all_logs
       WHERE ServiceName = '${service}' AND EventName LIKE 'distlog.scope.%'`,
    );
    return {
      traceId,
      seen: JSON.parse(out[0].seen) as Record<string, string>,
      serverSpans: JSON.parse(out[0].serverSpans) as string[],
      logged: logged!,
      scopes: Number(scopes.n),
    };
  };

  it.each([
    ['Distlog first (-r register)', true],
    ['Distlog after the instrumentation (init() in the code)', false],
  ])('%s: one span per request, the instrumentation’s', async (_label, distlogFirst) => {
    const r = await run(`hs-otel-${distlogFirst ? 'first' : 'after'}.cjs`, distlogFirst, {
      WITH_OTEL_HTTP: '1',
    });
    expect(r.serverSpans).toHaveLength(2);
    expect(r.scopes).toBe(0);
    // (the instrumentation's client span replaces the traceparent the app gave /outer: a trace of its own)
    const traceId = r.logged[0].traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // One traceparent on the inner request (not two joined by a comma), the instrumentation's.
    expect(r.seen['/inner']).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(r.logged.map((l) => [l.body, l.traceId])).toEqual([
      ['sc /inner', traceId],
      ['sc /outer', traceId],
    ]);
    expect(r.serverSpans).toContain(r.logged[0].spanId);
    expect(r.serverSpans).toContain(r.logged[1].spanId);
  });

  it('fetch with OpenTelemetry’s undici instrumentation registered after Distlog: one traceparent, in the scope’s trace', async () => {
    // Both added one; the server got them joined by a comma, which no propagator reads.
    const file = 'hs-undici.cjs';
    writeFileSync(
      path.join(FIXTURES, file),
      `
const http = require('node:http');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici');
registerInstrumentations({ instrumentations: [new UndiciInstrumentation()] });
const { scope, shutdown } = require('@distlog/sdk');
const { trace } = require('@opentelemetry/api');
const received = [];
const server = http.createServer((req, res) => {
  received.push(req.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'traceparent').length + ' ' + req.headers.traceparent);
  res.end('ok');
});
server.listen(0, '127.0.0.1', async () => {
  let traceId = '';
  await scope('call', async () => {
    traceId = trace.getActiveSpan().spanContext().traceId;
    await (await fetch('http://127.0.0.1:' + server.address().port + '/x')).text();
  });
  server.close();
  process.stdout.write(JSON.stringify({ traceId, received }) + '\\n');
  await shutdown();
});
`,
    );
    const { lines: out } = await runFixtureOutput(
      file,
      {
        OTEL_SERVICE_NAME: `hs-undici-${randomUUID().slice(0, 8)}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        DISTLOG_LEVELS: 'off',
      },
      ['-r', '@distlog/sdk/register'],
    );
    const { traceId, received } = out[0] as unknown as { traceId: string; received: string[] };
    expect(received).toHaveLength(1);
    expect(received[0]).toMatch(new RegExp(`^1 00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('DISTLOG_CAPTURE_HTTP=0: no request scopes, no trace headers added', async () => {
    const r = await run('hs-off.cjs', true, { DISTLOG_CAPTURE_HTTP: '0' });
    expect(r.scopes).toBe(0);
    expect(r.seen['/inner']).toBe('');
    expect(r.logged.map((l) => l.traceId)).toEqual(['', '']);
  });
});

describe('an app that names its request scopes itself (scopedHandler with options)', () => {
  it('keeps its name and attributes: one scope per request, not a second one', async () => {
    const service = `hs-named-${randomUUID().slice(0, 8)}`;
    const traceId = randomBytes(16).toString('hex');
    writeFileSync(
      path.join(FIXTURES, 'hs-named.cjs'),
      `
const http = require('node:http');
const { scopedHandler, shutdown } = require('@distlog/sdk');
const server = http.createServer(
  scopedHandler((req, res) => res.end('ok'), { name: (req) => 'checkout ' + req.method, attributes: { team: 'payments' } }),
);
server.listen(0, '127.0.0.1', async () => {
  await (await fetch('http://127.0.0.1:' + server.address().port + '/pay/77', {
    headers: { traceparent: '00-${traceId}-${'2'.repeat(16)}-01' },
  })).text();
  server.close();
  await shutdown();
});
`,
    );
    await runFixtureOutput(
      'hs-named.cjs',
      {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
      },
      ['-r', '@distlog/sdk/register'],
    );
    const rows = await scopeRows(traceId, 2);
    expect(rows.map((r) => [r.event, r.name, r.target, r.parent])).toEqual([
      ['distlog.scope.start', 'checkout GET', '/pay/77', '2'.repeat(16)],
      ['distlog.scope.end', 'checkout GET', '/pay/77', '2'.repeat(16)],
    ]);
    const [team] = await started.ch.query<{ team: string }>(
      `SELECT ${attr('team')} AS team FROM ${started.ch.database}.all_logs
       WHERE TraceId = '${traceId}' AND EventName = 'distlog.scope.end'`,
    );
    expect(team.team).toBe('payments');
  });
});

describe('a request handler that throws', () => {
  it('crashes the app as it would without Distlog, its report pointing at the app’s line; the scope ends failed', async () => {
    const service = `hs-throws-${randomUUID().slice(0, 8)}`;
    const traceId = randomBytes(16).toString('hex');
    const file = path.join(FIXTURES, 'hs-throws.cjs');
    writeFileSync(
      file,
      `const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/boom') throw new Error('handler blew up');
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => {
  fetch('http://127.0.0.1:' + server.address().port + '/boom', {
    headers: { traceparent: '00-${traceId}-${'3'.repeat(16)}-01' },
  }).catch(() => undefined);
});
`,
    );
    const { code, stderr } = await runToEnd(
      file,
      {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
      },
      ['-r', '@distlog/sdk/register'],
    );
    expect(code).toBe(1);
    // Node's report starts with the line that threw: the app's, not Distlog's.
    expect(stderr.split('\n').slice(0, 2)).toEqual([
      `${file}:3`,
      "  if (req.url === '/boom') throw new Error('handler blew up');",
    ]);
    const rows = await scopeRows(traceId, 2);
    expect(rows.map((r) => [r.event, r.name, r.status])).toEqual([
      ['distlog.scope.start', 'GET /boom', ''],
      ['distlog.scope.end', 'GET /boom', 'error'],
    ]);
  });
});
