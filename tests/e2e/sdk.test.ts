import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { ClickHouse } from '@distlog/collector/storage';
import { eventually } from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import {
  runFixture,
  runFixtureOutput,
  collectorWithDatabase,
  stopCollectorAndDatabase,
} from '../support/collector-process';

let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_sdk'));
});

afterAll(() => stopCollectorAndDatabase(collector, ch));

interface Row {
  ServiceName: string;
  SeverityNumber: number;
  SeverityText: string;
  ScopeName: string;
  EventName: string;
  Body: string;
  TraceId: string;
  SpanId: string;
  attrs: Record<string, string>;
}

async function rows(where: string): Promise<Row[]> {
  const found = await ch.query<Omit<Row, 'attrs'> & { k: string[]; v: string[] }>(
    `SELECT ServiceName, SeverityNumber, SeverityText, ScopeName, EventName, Body, TraceId, SpanId,
            LogAttributes.key AS k, LogAttributes.value AS v
     FROM ${ch.database}.all_logs WHERE ${where} ORDER BY TimeUnixNano`,
  );
  return found.map(({ k, v, ...row }) => ({
    ...row,
    attrs: Object.fromEntries(k.map((key, i) => [key, v[i]])),
  }));
}

function run(scenario: string, tag: string, nodeArgs: string[] = [], env: Record<string, string> = {}) {
  return runFixture(
    'sdk-app.js',
    {
      FIXTURE_SCENARIO: scenario,
      FIXTURE_TAG: tag,
      OTEL_SERVICE_NAME: `sdk-${scenario}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.grpcPort}`,
      ...env,
    },
    nodeArgs,
  );
}

describe('SDK against a real collector and ClickHouse', () => {
  it('an ES module app (`import pino from "pino"`, `node --import @distlog/sdk/register`) gets trace context too', async () => {
    const tag = `esm-${randomUUID()}`;
    // Written next to the built fixtures so that its imports resolve from this package.
    writeFileSync(
      path.resolve(__dirname, '../dist/fixtures/esm-app.mjs'),
      `import pino from 'pino';
import { trace } from '@opentelemetry/api';
import { shutdown } from '@distlog/sdk';
const logger = pino({ name: 'esm', transport: { target: '@distlog/sdk/pino' } });
const ids = trace.getTracer('esm').startActiveSpan('request', (span) => {
  logger.info(process.env.FIXTURE_TAG);
  span.end();
  return span.spanContext();
});
process.stdout.write(JSON.stringify({ traceId: ids.traceId, spanId: ids.spanId }) + '\\n');
logger.flush(() => shutdown());
`,
    );
    const [ids] = await runFixture(
      'esm-app.mjs',
      {
        FIXTURE_TAG: tag,
        OTEL_SERVICE_NAME: 'sdk-esm',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.grpcPort}`,
      },
      ['--import', '@distlog/sdk/register'],
    );
    const found = await eventually(async () => {
      const r = await rows(`Body = '${tag}'`);
      return r.length > 0 ? r : undefined;
    });
    expect(found).toEqual([
      expect.objectContaining({ ScopeName: 'esm', TraceId: ids.traceId, SpanId: ids.spanId }),
    ]);
  });

  it('pino transport: keeps trace context across the worker thread and maps levels, children, errors', async () => {
    const tag = `tr-${randomUUID()}`;
    // `-r @distlog/sdk/register`: the app's code only names the transport.
    const [where] = await run('transport', tag, ['-r', '@distlog/sdk/register']);
    const found = await eventually(async () => {
      const r = await rows(`Body LIKE '${tag}%'`);
      return r.length === 4 ? r : undefined;
    });
    expect(found).toBeDefined();
    const byBody = Object.fromEntries(found!.map((r) => [r.Body.slice(tag.length + 1), r]));
    for (const row of found!) {
      expect(row.TraceId).toBe(where.traceId);
      expect(row.SpanId).toBe(where.spanId);
      // Trace ids go into the record's fields, not into attributes.
      expect(row.attrs).not.toHaveProperty('trace_id');
      expect(row.attrs).not.toHaveProperty('distlog_scope');
      // The scope's attribute, except where the line has its own value of it.
      expect(row.attrs.tenant).toBe(row === byBody.child ? 'globex' : 'acme');
    }
    expect(byBody.plain).toMatchObject({
      SeverityNumber: SeverityNumber.INFO,
      SeverityText: 'INFO',
      ScopeName: 'shop',
    });
    expect(byBody.plain.attrs.cart).toBe('{"items":2,"total":9.5}');
    expect(byBody.child).toMatchObject({ SeverityNumber: SeverityNumber.DEBUG, ScopeName: 'db' });
    expect(byBody.child.attrs.sql).toBe('select 1');
    expect(byBody.custom).toMatchObject({ SeverityNumber: SeverityNumber.INFO3, SeverityText: 'NOTICE' });
    expect(byBody.error).toMatchObject({ SeverityNumber: SeverityNumber.ERROR });
    expect(byBody.error.attrs['exception.type']).toBe('TypeError');
    expect(byBody.error.attrs['exception.message']).toBe('card declined');
    expect(byBody.error.attrs['exception.stacktrace']).toMatch(/^TypeError: card declined\n +at /);
  });

  it('a logger whose formatters.level renames `level` (Google Cloud `severity`, its own key) keeps each record’s severity', async () => {
    const tag = `lf-${randomUUID()}`;
    await run('levelFormatters', tag, ['-r', '@distlog/sdk/register']);
    const found = await eventually(async () => {
      const r = await rows(`Body LIKE '${tag}%'`);
      return r.length === 12 ? r : undefined;
    });
    expect(found).toBeDefined();
    const severities = Object.fromEntries(found!.map((r) => [r.Body.slice(tag.length + 1), r.SeverityText]));
    for (const name of ['gcp-destination', 'own-destination', 'gcp-transport', 'own-transport'])
      expect([severities[`${name} failed`], severities[`${name} low`], severities[`${name} fine`]]).toEqual([
        'ERROR',
        'WARN',
        'INFO',
      ]);
    for (const row of found!) {
      // The key the formatter wrote the level to is the record's severity, not an attribute.
      expect(row.attrs).not.toHaveProperty('severity');
      expect(row.attrs).not.toHaveProperty('distlog_level');
    }
    // A key of the app's own stays as it wrote it.
    expect(found!.find((r) => r.Body === `${tag} own-transport failed`)!.attrs.lvl).toBe('error/50');
    expect(found!.find((r) => r.Body === `${tag} gcp-destination failed`)!.attrs.orderId).toBe('7');

    // pino loaded before init() (no -r): the transport's lines carry only what the formatter
    // wrote; Google Cloud's `severity` is still read as the level (a key of the app's own
    // cannot be; the in-process destination is told the level by pino either way).
    const early = `lf-early-${randomUUID()}`;
    await run('levelFormatters', early);
    const earlyRows = await eventually(async () => {
      const r = await rows(`Body LIKE '${early}%'`);
      return r.length === 12 ? r : undefined;
    });
    const earlySeverity = (body: string) =>
      earlyRows!.find((r) => r.Body === `${early} ${body}`)!.SeverityText;
    for (const name of ['gcp-destination', 'own-destination', 'gcp-transport'])
      expect([earlySeverity(`${name} failed`), earlySeverity(`${name} low`)]).toEqual(['ERROR', 'WARN']);
  });

  it('pino times in seconds (stdTimeFunctions.unixTime) are dated now, not in January 1970', async () => {
    const tag = `unix-${randomUUID()}`;
    const started = Date.now();
    await run('unixTime', tag, ['-r', '@distlog/sdk/register']);
    const found = await eventually(async () => {
      const r = await ch.query<{ Body: string; ms: string }>(
        `SELECT Body, toUnixTimestamp(Timestamp) * 1000 AS ms FROM ${ch.database}.all_logs WHERE Body LIKE '${tag}%'`,
      );
      return r.length === 2 ? r : undefined;
    });
    for (const row of found!) {
      expect(Number(row.ms)).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 1000);
      expect(Number(row.ms)).toBeLessThanOrEqual(Date.now());
    }
  });

  it.each([
    ['transport options', '0'],
    ['pino.transport() stream', '1'],
  ])(
    'pino transport (%s): interleaved spans, long and multi-byte lines, then process.exit() — every line arrives in its span, in order',
    async (_form, explicit) => {
      const tag = `ex-${randomUUID()}`;
      const [out] = await run('transportExit', tag, ['-r', '@distlog/sdk/register'], {
        FIXTURE_EXPLICIT: explicit,
      });
      const found = await eventually(async () => {
        const r = await rows(`Body LIKE '${tag}%'`);
        return r.length === Number(out.lines) ? r : undefined;
      });
      expect(found).toBeDefined();
      const seqs = found!.map((r) => Number(r.attrs.seq)).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: Number(out.lines) }, (_, i) => i));
      for (const row of found!) {
        const span = row.attrs.span;
        expect({ seq: row.attrs.seq, spanId: row.SpanId }).toEqual({
          seq: row.attrs.seq,
          spanId: span === 'none' ? '' : span === 'scope' ? row.attrs.own : out[span],
        });
        expect(row.attrs).not.toHaveProperty('distlog_ctx');
        if (span === 'scope') expect(row.attrs.tenant).toBe('acme');
        else expect(row.attrs).not.toHaveProperty('tenant');
        if (span === 'b' && !row.attrs.big) expect(row.Body).toBe(`${tag} b ✓ ünïcödé 🚀`);
      }
      expect(found!.find((r) => r.attrs.big)?.attrs.big).toHaveLength(40_000);
    },
  );

  it.each(['transport', 'targets', 'destination'])(
    'pino with its own messageKey and errorKey (%s): the message is the body, the error the exception',
    async (integration) => {
      const tag = `keys-${integration}-${randomUUID()}`;
      const file = path.resolve(__dirname, '../dist/fixtures', `keys-${integration}.cjs`);
      const stream =
        integration === 'destination'
          ? 'require("@distlog/sdk").distlogDestination()'
          : `pino.transport(${
              integration === 'targets'
                ? "{ targets: [{ target: '@distlog/sdk/pino', level: 'info' }] }"
                : "{ target: '@distlog/sdk/pino' }"
            })`;
      writeFileSync(
        file,
        [
          `const pino = require('pino');`,
          // GCP- and Bunyan-style keys, as apps configure them.
          `const logger = pino({ name: 'keys', messageKey: 'message', errorKey: 'error' }, ${stream});`,
          `logger.warn({ msg: 'a field called msg' }, '${tag} warned');`,
          `logger.error(new RangeError('${tag} out of range'));`,
          `setTimeout(() => require('@distlog/sdk').shutdown(), 300);`,
        ].join('\n'),
      );
      await runFixtureOutput(
        file,
        {
          OTEL_SERVICE_NAME: 'sdk-keys',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.grpcPort}`,
        },
        ['-r', '@distlog/sdk/register'],
      );
      const found = await eventually(async () => {
        const r = await rows(
          `ServiceName = 'sdk-keys' AND (Body LIKE '${tag}%' OR has(LogAttributes.value, '${tag} out of range'))`,
        );
        return r.length === 2 ? r : undefined;
      });
      const [warned, failed] = found!;
      expect(warned.Body).toBe(`${tag} warned`);
      expect(warned.attrs).toEqual({ msg: 'a field called msg' });
      expect(failed.Body).toBe(`${tag} out of range`);
      expect(failed.attrs).toMatchObject({
        'exception.type': 'RangeError',
        'exception.message': `${tag} out of range`,
      });
      expect(failed.attrs).not.toHaveProperty('error');
    },
  );

  it('scopes: records carry the scope span, attributes nest, start/end records rebuild the tree', async () => {
    const tag = `sc-${randomUUID()}`;
    const [out] = await run('scopes', tag);
    const outer = out.outer as unknown as { traceId: string; spanId: string };
    const inner = out.inner as unknown as { traceId: string; spanId: string };
    expect(out.caught).toBe('out of stock');
    const logged = await rows(`Body LIKE '${tag}%'`);
    expect(logged.map((r) => [r.Body.slice(tag.length + 1), r.SpanId === outer.spanId, r.TraceId])).toEqual([
      ['in outer', true, outer.traceId],
      ['in inner', false, outer.traceId],
      ['in async', false, outer.traceId],
    ]);
    expect(logged[1].SpanId).toBe(inner.spanId);
    expect(logged[1].attrs).toMatchObject({ request: 'r-1', step: '1' });
    expect(logged[0].attrs).toEqual({ request: 'r-1' });

    const scopeRecords = await rows(`TraceId = '${outer.traceId}' AND EventName LIKE 'distlog.scope.%'`);
    const ends = scopeRecords.filter((r) => r.EventName === 'distlog.scope.end');
    const starts = scopeRecords.filter((r) => r.EventName === 'distlog.scope.start');
    expect(starts).toHaveLength(4);
    expect(ends).toHaveLength(4);
    const tree = Object.fromEntries(ends.map((r) => [r.attrs['scope.name'], r]));
    expect(tree.outer.attrs['scope.parent_span_id']).toBeUndefined();
    expect(tree.outer.SpanId).toBe(outer.spanId);
    for (const child of ['inner-sync', 'inner-async', 'failing']) {
      expect(tree[child].attrs['scope.parent_span_id']).toBe(outer.spanId);
      expect(tree[child].ScopeName).toBe('distlog.scope');
    }
    expect(Number(tree['inner-async'].attrs['scope.duration_ms'])).toBeGreaterThanOrEqual(15);
    expect(tree['inner-async'].attrs['scope.status']).toBe('ok');
    expect(tree.failing).toMatchObject({ SeverityNumber: SeverityNumber.ERROR });
    expect(tree.failing.attrs).toMatchObject({
      'scope.status': 'error',
      'exception.type': 'RangeError',
      'exception.message': 'out of stock',
    });
  });

  it('console capture: formats like Node, maps severities, stops after release', async () => {
    const tag = `co-${randomUUID()}`;
    const [where] = await run('console', tag);
    const found = await rows(`Body LIKE '%${tag}%'`);
    // Records of one millisecond may come back in any order (DEBUG lives in another tier): key by severity.
    const bySeverity = Object.fromEntries(found.map((r) => [r.SeverityText, r]));
    expect(found).toHaveLength(4);
    expect(Object.values(bySeverity).map((r) => [r.SeverityText, r.SeverityNumber, r.ScopeName])).toEqual(
      expect.arrayContaining([
        ['INFO', SeverityNumber.INFO, 'console'],
        ['WARN', SeverityNumber.WARN, 'console'],
        ['ERROR', SeverityNumber.ERROR, 'console'],
        ['DEBUG', SeverityNumber.DEBUG, 'console'],
      ]),
    );
    expect(bySeverity.INFO.Body).toBe(`${tag} cart has 3 items`);
    expect(bySeverity.WARN.Body).toBe(`${tag} warn { a: 1 }`);
    expect(bySeverity.ERROR.Body).toMatch(new RegExp(`^Error: ${tag} error\\n +at `));
    expect(bySeverity.DEBUG.Body).toBe(`${tag} debug`);
    expect(found.every((r) => r.TraceId === where.traceId && r.attrs.feature === 'console')).toBe(true);
  });

  it.each(['http/protobuf', 'http/json'])(
    'honours OTEL_EXPORTER_OTLP_PROTOCOL=%s and the OTEL_* resource variables',
    async (protocol) => {
      const tag = `pr-${randomUUID()}`;
      await run('console', tag, [], {
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.httpPort}`,
        OTEL_SERVICE_NAME: `sdk-${protocol}`,
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=checkout',
      });
      const found = await ch.query<{ ServiceName: string; k: string[]; v: string[] }>(
        `SELECT ServiceName, ResourceAttributes.key AS k, ResourceAttributes.value AS v
       FROM ${ch.database}.all_logs WHERE Body LIKE '%${tag}%'`,
      );
      expect(found).toHaveLength(4);
      const resource = Object.fromEntries(found[0].k.map((key, i) => [key, found[0].v[i]]));
      expect(found[0].ServiceName).toBe(`sdk-${protocol}`);
      expect(resource).toMatchObject({
        'deployment.environment': 'test',
        team: 'checkout',
        'process.pid': expect.stringMatching(/^\d+$/),
      });
      expect(resource['host.name']).toBeTruthy();
      expect(resource['service.instance.id']).toBeTruthy();
    },
  );

  it('sends each pino record once when @opentelemetry/instrumentation-pino is active too', async () => {
    const tag = `in-${randomUUID()}`;
    await run('instrumented', tag);
    const found = await eventually(async () => {
      const r = await rows(`Body LIKE '${tag}%'`);
      return r.length >= 2 ? r : undefined;
    });
    // Give a duplicate the time to arrive before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const all = await rows(`Body LIKE '${tag}%'`);
    expect(found).toBeDefined();
    // Logged in the same millisecond or so: their order in time is not what is tested.
    expect(all.map((r) => [r.Body.slice(tag.length + 1), r.ScopeName]).sort()).toEqual([
      ['destination', 'dest'],
      ['transport', 'transport'],
    ]);
    expect(all.every((r) => /^[0-9a-f]{32}$/.test(r.TraceId))).toBe(true);
  });

  it('a burst beyond the queue keeps the newest records and reports the drops as a record', async () => {
    const tag = `bu-${randomUUID()}`;
    await run('burst', tag);
    const kept = await rows(`Body LIKE '${tag}%'`);
    // The last records of the burst survive (oldest dropped first), plus the one logged after.
    expect(kept.length).toBeGreaterThanOrEqual(50);
    expect(kept.length).toBeLessThan(501);
    expect(kept.some((r) => r.Body === `${tag} 499`)).toBe(true);
    expect(kept.some((r) => r.Body === `${tag} after`)).toBe(true);
    const reports = await rows(`ServiceName = 'sdk-burst' AND EventName = 'distlog.sdk.dropped'`);
    const reportedDrops = reports.reduce((sum, r) => sum + Number(r.attrs['distlog.dropped_records']), 0);
    expect(reportedDrops).toBe(501 - kept.length);
    expect(reports[0]).toMatchObject({ SeverityText: 'WARN', ScopeName: '@distlog/sdk' });
  });

  it('a collector that is down costs the app only the dropped records, which are counted', async () => {
    const [result] = await run('unreachable', 'x');
    const r = result as unknown as { loggingMs: number; queued: number; dropped: number };
    expect(r.queued).toBe(10);
    expect(r.dropped).toBe(990);
  });

  it('OTEL_SDK_DISABLED=true: the app runs and logs, and nothing is sent', async () => {
    const off = `off-${randomUUID()}`;
    const on = `on-${randomUUID()}`;
    await run('transport', off, ['-r', '@distlog/sdk/register'], { OTEL_SDK_DISABLED: 'true' });
    await run('transport', on, ['-r', '@distlog/sdk/register']);
    // The second app's records arrive; the first one's, sent earlier if at all, would be there too.
    expect(
      await eventually(async () => ((await rows(`Body LIKE '${on}%'`)).length === 4 ? true : undefined)),
    ).toBe(true);
    expect(await rows(`Body LIKE '${off}%'`)).toEqual([]);
  });

  it.each([
    [
      'gRPC to the OTLP/HTTP port',
      'grpc',
      'http',
      /answers HTTP\/1\.1, not gRPC: is it the collector's OTLP\/HTTP port \(4318\)\?/,
    ],
    [
      'OTLP/HTTP to the gRPC port',
      'http/protobuf',
      'grpc',
      /does not answer HTTP\/1\.1: is it the collector's OTLP\/gRPC port \(4317\)\?/,
    ],
  ])('%s: the failure says which port it is and what to set', async (_, protocol, port, hint) => {
    const { stderr } = await runFixtureOutput('sdk-app.js', {
      FIXTURE_SCENARIO: 'oneLine',
      FIXTURE_TAG: 'wrong-port',
      OTEL_SERVICE_NAME: 'sdk-wrong-port',
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port === 'grpc' ? collector.grpcPort : collector.httpPort}`,
      DISTLOG_LEVELS: 'off',
    });
    expect(stderr).toMatch(/cannot send log records to the collector/);
    expect(stderr).toMatch(hint);
  });

  it('OTEL_LOG_LEVEL shows the SDK’s own diagnostics on stderr (silent without it)', async () => {
    const scenario = { FIXTURE_SCENARIO: 'unreachable', FIXTURE_TAG: 'x', OTEL_SERVICE_NAME: 'sdk-diag' };
    const loud = await runFixtureOutput('sdk-app.js', { ...scenario, OTEL_LOG_LEVEL: 'error' });
    expect(loud.stderr).toMatch(/\[otel error\] distlog: export of \d+ log records (failed|timed out)/);
    const quiet = await runFixtureOutput('sdk-app.js', scenario);
    expect(quiet.stderr).not.toContain('[otel');
    const bad = await runFixtureOutput('sdk-app.js', { ...scenario, OTEL_LOG_LEVEL: 'chatty' });
    expect(bad.stderr).toContain(
      'OTEL_LOG_LEVEL="chatty" is not one of none, error, warn, info, debug, verbose, all',
    );
  });

  const unreachable = (env: Record<string, string>) =>
    runFixtureOutput('sdk-app.js', {
      FIXTURE_SCENARIO: 'transportUnreachable',
      FIXTURE_TAG: 'x',
      OTEL_SERVICE_NAME: 'sdk-transportUnreachable',
      ...env,
    });

  it('a pino transport app whose collector is down still exits promptly (the last flush is bounded), and says what it lost', async () => {
    const {
      lines: [result],
      stderr,
    } = await unreachable({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    const exitedAfterMs = Date.now() - Number(result.loggedAt);
    // Unbounded, the HTTP exporter's retries held the exit ~8.5 s here (pino gives up at 10 s);
    // the bound is 3 s. The margin is for a loaded machine.
    expect(exitedAfterMs).toBeLessThan(6500);
    expect(exitedAfterMs).toBeGreaterThan(0);
    // Said from pino's worker as the process ends (before: only with OTEL_LOG_LEVEL, and lost at exit).
    expect(stderr).toContain(
      'distlog: 100 log records not sent at exit: the collector did not take them within 3 s (is OTEL_EXPORTER_OTLP_ENDPOINT right, and the collector up?)',
    );
  });

  it('a short-lived app over gRPC whose collector cannot be reached says so before it ends', async () => {
    const { stderr } = await unreachable({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(stderr).toMatch(
      /distlog: cannot send log records to the collector at http:\/\/127\.0\.0\.1:9 \(gRPC\): .*ECONNREFUSED/,
    );
  });

  it('an endpoint without a scheme is said at start, with what it means and what to write', async () => {
    const { stderr } = await unreachable({
      OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:9',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    expect(stderr).toContain(
      'distlog: OTEL_EXPORTER_OTLP_ENDPOINT "127.0.0.1:9" has no scheme: over gRPC that means TLS, as https://127.0.0.1:9; for a collector without TLS write http://127.0.0.1:9',
    );
  });
});
