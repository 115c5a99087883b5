import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually } from '@distlog/collector/testing';
import { FIXTURES, attr, scopeRecords, serviceStarter } from '../support/services';
import { collectorForFile, runFixtureOutput } from '../support/collector-process';

/**
 * gRPC calls followed across services with no Distlog code (sdk/src/grpc.ts), as HTTP
 * requests are (http-scopes.test.ts): an ES-module HTTP front (`--import` register) calls a
 * CommonJS service that loaded @grpc/grpc-js *before* calling init() (unary) and a CommonJS
 * service started with `-r` register (unary, server streaming, a call that fails). One trace;
 * each served call a scope under its caller's, named `package.Service/Method`.
 */
const started = collectorForFile('e2e_grpc_scopes');

const scopeEnds = (traceId: string, expected: number) =>
  scopeRecords<{ code: string; rpcService: string; rpcMethod: string; system: string }>(
    started.ch,
    traceId,
    expected,
    {
      code: 'rpc.grpc.status_code',
      rpcService: 'rpc.service',
      rpcMethod: 'rpc.method',
      system: 'rpc.system',
    },
    'distlog.scope.end',
  );

const startApp = serviceStarter(() => started.collector.grpcPort);

/** Method definitions without .proto files: JSON messages (what grpc-js serializes is up to the app). */
const definitions = `
const json = { s: (v) => Buffer.from(JSON.stringify(v)), d: (b) => JSON.parse(b.toString()) };
const method = (path, responseStream) => ({ path, requestStream: false, responseStream,
  requestSerialize: json.s, requestDeserialize: json.d, responseSerialize: json.s, responseDeserialize: json.d });
const Stock = { get: method('/shop.Stock/Get', false), watch: method('/shop.Stock/Watch', true),
  fail: method('/shop.Stock/Fail', false), count: { ...method('/shop.Stock/Count', false), requestStream: true } };
const Orders = { place: method('/shop.Orders/Place', false) };
`;

const serve = (name: string) => `
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log('listening ' + port + ' ${name}');
});`;

// -r register: grpc-js loaded after Distlog (the module-load hook).
const back = `
const grpc = require('@grpc/grpc-js');
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
${definitions}
const server = new grpc.Server();
server.addService(Stock, {
  get(call, callback) {
    logger.info('gs stock ' + call.request.sku);
    setTimeout(() => callback(null, { sku: call.request.sku, n: 3 }), 5);
  },
  async watch(call) {
    if (call.request.sku === 'slow') {
      call.write({ n: 1 });
      return; // until the client cancels
    }
    for (const n of [2, 1]) {
      await new Promise((r) => setTimeout(r, 5));
      logger.info('gs watch ' + call.request.sku + ' ' + n);
      call.write({ n });
    }
    call.end();
  },
  count(call, callback) {
    // A client stream's messages arrive as events, after the handler returned.
    let total = 0;
    call.on('data', (m) => { total += m.n; logger.info('gs count ' + m.n); });
    call.on('end', () => callback(null, { total }));
  },
  fail(call, callback) {
    callback({ code: grpc.status.NOT_FOUND, details: 'no sku ' + call.request.sku });
  },
});
${serve('back')}
`;

// grpc-js required, the server made and its service added before init(): grpc-js found in
// the module cache, the service when the server binds. Serves Orders, calls Stock.
const mid = `
const grpc = require('@grpc/grpc-js');
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
${definitions}
const Client = grpc.makeGenericClientConstructor(Stock, 'Stock');
const stock = new Client('127.0.0.1:' + process.env.BACK_PORT, grpc.credentials.createInsecure());
const server = new grpc.Server();
server.addService(Orders, {
  place(call, callback) {
    logger.info('gs place ' + call.request.sku);
    // The app's own Metadata, sent with another call too: Distlog adds to a copy of it.
    const shared = new grpc.Metadata();
    shared.set('x-tenant', 't1');
    stock.get({ sku: call.request.sku }, shared, (err, answer) => {
      logger.info('gs placed ' + call.request.sku + ' tenant metadata ' + JSON.stringify(shared.getMap()));
      callback(err, { ok: !err, stock: answer && answer.n });
    });
  },
});
require('@distlog/sdk').init();
${serve('mid')}
`;

// An ES module with --import register; an HTTP server whose requests make gRPC calls.
const front = `
import http from 'node:http';
import grpc from '@grpc/grpc-js';
import pino from 'pino';
const logger = pino({ transport: { target: '@distlog/sdk/pino' } });
${definitions}
const StockClient = grpc.makeGenericClientConstructor(Stock, 'Stock');
const OrdersClient = grpc.makeGenericClientConstructor(Orders, 'Orders');
const stock = new StockClient('127.0.0.1:' + process.env.BACK_PORT, grpc.credentials.createInsecure());
const orders = new OrdersClient('127.0.0.1:' + process.env.MID_PORT, grpc.credentials.createInsecure());
const unary = (client, name, request) =>
  new Promise((resolve, reject) => client[name](request, (err, answer) => {
    logger.info('gs answered ' + name);
    err ? reject(err) : resolve(answer);
  }));
const server = http.createServer(async (req, res) => {
  logger.info('gs order ' + req.url);
  try {
    if (req.url === '/cancels') {
      await new Promise((resolve) => {
        const call = stock.watch({ sku: 'slow' });
        call.on('data', () => call.cancel());
        call.on('error', resolve); // CANCELLED, on the client's side too
      });
      return res.end('cancelled');
    }
    if (req.url === '/fails') {
      await unary(stock, 'fail', { sku: 'nope' }).catch((err) => logger.warn('gs failed ' + err.code));
      res.statusCode = 502;
      return res.end();
    }
    const placed = await unary(orders, 'place', { sku: 'a1' });
    const counted = await new Promise((resolve, reject) => {
      const call = stock.count((err, answer) => (err ? reject(err) : resolve(answer.total)));
      call.write({ n: 1 });
      call.write({ n: 2 });
      call.end();
    });
    const seen = [];
    await new Promise((resolve, reject) => {
      const call = stock.watch({ sku: 'a1' });
      call.on('data', (m) => seen.push(m.n));
      call.on('error', reject);
      call.on('end', resolve);
    });
    res.end(JSON.stringify({ placed, counted, seen }));
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

describe('gRPC calls followed across services with no code (@grpc/grpc-js)', () => {
  const tag = randomUUID().slice(0, 8);
  const service = (name: string) => `gs-${name}-${tag}`;
  let frontPort: number;
  let midStderr: () => string;

  beforeAll(async () => {
    const backPort = (
      await startApp('gs-back.cjs', back, { OTEL_SERVICE_NAME: service('back') }, [
        '-r',
        '@distlog/sdk/register',
      ])
    ).port;
    const midService = await startApp(
      'gs-mid.cjs',
      mid,
      { OTEL_SERVICE_NAME: service('mid'), BACK_PORT: String(backPort) },
      [],
    );
    midStderr = midService.stderr;
    frontPort = (
      await startApp(
        'gs-front.mjs',
        front,
        {
          OTEL_SERVICE_NAME: service('front'),
          BACK_PORT: String(backPort),
          MID_PORT: String(midService.port),
        },
        ['--import', '@distlog/sdk/register'],
      )
    ).port;
  });

  it("one trace: each served call a scope under its caller's, with its rpc.* and status", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const answer = await fetch(`http://127.0.0.1:${frontPort}/orders/7`, {
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    expect(await answer.json()).toEqual({ placed: { ok: true, stock: 3 }, counted: 3, seen: [2, 1] });
    // front's request, mid's Place, back's Get, Count and Watch.
    const ends = await scopeEnds(traceId, 5);
    const of = (name: string) => ends.filter((r) => r.service === service(name));
    expect(of('front').map((r) => [r.name, r.parent])).toEqual([['GET /orders/:id', callerSpan]]);
    const frontSpan = of('front')[0].spanId;
    expect(of('mid')).toEqual([
      expect.objectContaining({
        name: 'shop.Orders/Place',
        parent: frontSpan,
        status: 'ok',
        code: '0',
        system: 'grpc',
        rpcService: 'shop.Orders',
        rpcMethod: 'Place',
      }),
    ]);
    const midSpan = of('mid')[0].spanId;
    expect(
      of('back')
        .map((r) => [r.name, r.parent, r.status, r.code])
        .sort(),
    ).toEqual([
      ['shop.Stock/Count', frontSpan, 'ok', '0'],
      ['shop.Stock/Get', midSpan, 'ok', '0'],
      ['shop.Stock/Watch', frontSpan, 'ok', '0'],
    ]);
    // Each line carries the span of the call (or request) it was logged in: in the handler,
    // in what it awaits, in a client stream's events; a client's callback, its caller's.
    const spanOf = (name: string, scope: string) =>
      ends.find((r) => r.service === service(name) && r.name === scope)!.spanId;
    const logged = await eventually(async () => {
      const rows = await started.ch.query<{ service: string; spanId: string; body: string }>(
        `SELECT ServiceName AS service, SpanId AS spanId, Body AS body FROM ${started.ch.database}.all_logs
         WHERE TraceId = '${traceId}' AND Body LIKE 'gs %' ORDER BY Body`,
      );
      return rows.length >= 9 ? rows : undefined;
    });
    expect(logged).toEqual([
      { service: service('front'), spanId: frontSpan, body: 'gs answered place' },
      { service: service('back'), spanId: spanOf('back', 'shop.Stock/Count'), body: 'gs count 1' },
      { service: service('back'), spanId: spanOf('back', 'shop.Stock/Count'), body: 'gs count 2' },
      { service: service('front'), spanId: frontSpan, body: 'gs order /orders/7' },
      { service: service('mid'), spanId: midSpan, body: 'gs place a1' },
      // The app's Metadata object is as it made it: the trace context went in a copy.
      { service: service('mid'), spanId: midSpan, body: 'gs placed a1 tenant metadata {"x-tenant":"t1"}' },
      { service: service('back'), spanId: spanOf('back', 'shop.Stock/Get'), body: 'gs stock a1' },
      { service: service('back'), spanId: spanOf('back', 'shop.Stock/Watch'), body: 'gs watch a1 1' },
      { service: service('back'), spanId: spanOf('back', 'shop.Stock/Watch'), body: 'gs watch a1 2' },
    ]);
    expect(midStderr()).not.toMatch(/grpc-js has no/);
  });

  it('a call answered with an error status ends its scope failed, with the code', async () => {
    const traceId = randomBytes(16).toString('hex');
    const answer = await fetch(`http://127.0.0.1:${frontPort}/fails`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(answer.status).toBe(502);
    const ends = await scopeEnds(traceId, 2);
    expect(ends.map((r) => [r.service, r.name, r.status, r.code]).sort()).toEqual(
      [
        [service('back'), 'shop.Stock/Fail', 'error', '5'],
        [service('front'), 'GET /fails', 'error', ''],
      ].sort(),
    );
    const [failed] = await started.ch.query<{ message: string }>(
      `SELECT ${attr('exception.message')} AS message FROM ${started.ch.database}.all_logs
       WHERE TraceId = '${traceId}' AND ServiceName = '${service('back')}' AND EventName = 'distlog.scope.end'`,
    );
    expect(failed.message).toBe('answered with gRPC status NOT_FOUND: no sku nope');
  });

  it('a stream the client cancels ends its scope failed, CANCELLED', async () => {
    const traceId = randomBytes(16).toString('hex');
    const answer = await fetch(`http://127.0.0.1:${frontPort}/cancels`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(await answer.text()).toBe('cancelled');
    const ends = await scopeEnds(traceId, 2);
    expect(ends.map((r) => [r.service, r.name, r.status, r.code]).sort()).toEqual(
      [
        [service('back'), 'shop.Stock/Watch', 'error', '1'],
        [service('front'), 'GET /cancels', 'ok', ''],
      ].sort(),
    );
  });
});

/**
 * One process serving and calling itself inside a Distlog scope. With OpenTelemetry's grpc
 * instrumentation registered, before Distlog (init() in the code) or after it (-r register),
 * the instrumentation makes the call spans: the server sees one `traceparent`, Distlog adds
 * no scope, and the handler's line carries the instrumentation's server span. With
 * DISTLOG_CAPTURE_GRPC=0 nothing is added at all.
 */
const selfCalling = (distlogFirst: boolean) => `
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc');
const spans = new InMemorySpanExporter();
if (process.env.WITH_OTEL_GRPC === '1') {
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register();
  registerInstrumentations({ instrumentations: [new GrpcInstrumentation()] });
}
const grpc = require('@grpc/grpc-js');
${distlogFirst ? '' : "require('@distlog/sdk').init();"}
const { scope, shutdown } = require('@distlog/sdk');
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
${definitions}
const seen = [];
const server = new grpc.Server();
server.addService(Stock, {
  get(call, callback) {
    seen.push(call.metadata.get('traceparent').join(' , '));
    logger.info('gc served');
    callback(null, { n: 1 });
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), async (err, port) => {
  const Client = grpc.makeGenericClientConstructor(Stock, 'Stock');
  const client = new Client('127.0.0.1:' + port, grpc.credentials.createInsecure());
  await scope('gc call', () => new Promise((resolve, reject) => client.get({ sku: 'x' }, (e) => (e ? reject(e) : resolve()))));
  client.close();
  server.forceShutdown();
  const serverSpans = spans.getFinishedSpans().filter((s) => s.kind === 1).map((s) => s.spanContext().spanId);
  process.stdout.write(JSON.stringify({ seen: JSON.stringify(seen), serverSpans: JSON.stringify(serverSpans) }) + '\\n');
  await shutdown();
});
`;

describe('another instrumentation makes the call spans, or the capture is off', () => {
  const run = async (file: string, distlogFirst: boolean, env: Record<string, string>) => {
    writeFileSync(path.join(FIXTURES, file), selfCalling(distlogFirst));
    const service = `gs-self-${randomUUID().slice(0, 8)}`;
    const { lines: out } = await runFixtureOutput(
      file,
      {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
        DISTLOG_LEVELS: 'off',
        ...env,
      },
      distlogFirst ? ['-r', '@distlog/sdk/register'] : [],
    );
    // The scope's two records and the handler's line.
    const rows = await eventually(async () => {
      const found = await started.ch.query<{ body: string; spanId: string; name: string }>(
        `SELECT Body AS body, SpanId AS spanId, ${attr('scope.name')} AS name FROM ${started.ch.database}.all_logs
         WHERE ServiceName = '${service}' AND (Body = 'gc served' OR EventName = 'distlog.scope.end') ORDER BY Body`,
      );
      return found.length >= 2 ? found : undefined;
    });
    return {
      seen: JSON.parse(out[0].seen) as string[],
      serverSpans: JSON.parse(out[0].serverSpans) as string[],
      scopes: rows!.filter((r) => r.body !== 'gc served').map((r) => r.name),
      served: rows!.find((r) => r.body === 'gc served')!,
    };
  };

  it.each([
    ['Distlog first (-r register)', true],
    ['Distlog after the instrumentation (init() in the code)', false],
  ])('%s: one span per call, the instrumentation’s', async (_label, distlogFirst) => {
    const r = await run(`gs-otel-${distlogFirst ? 'first' : 'after'}.cjs`, distlogFirst, {
      WITH_OTEL_GRPC: '1',
    });
    expect(r.serverSpans).toHaveLength(1);
    expect(r.seen).toHaveLength(1);
    expect(r.seen[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(r.scopes).toEqual(['gc call']);
    expect(r.served.spanId).toBe(r.serverSpans[0]);
  });

  it('Distlog alone: the call is a scope under the caller’s', async () => {
    const r = await run('gs-alone.cjs', true, {});
    expect(r.seen).toEqual([expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)]);
    expect(r.scopes.sort()).toEqual(['gc call', 'shop.Stock/Get']);
  });

  it('DISTLOG_CAPTURE_GRPC=0: no trace context sent, no scope made', async () => {
    const r = await run('gs-off.cjs', true, { DISTLOG_CAPTURE_GRPC: '0' });
    expect(r.seen).toEqual(['']);
    expect(r.scopes).toEqual(['gc call']);
    expect(r.served.spanId).toBe('');
  });
});
