import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../config/collector-config';
import type { LogRow } from '../model/log-row';
import { makeRow } from '../model/log-row';
import { Router } from '../router/router';
import { ClickHouse } from '../storage/clickhouse';
import { freePort } from '../storage/local-clickhouse';
import { Spool } from '../helpers/spool';
import { CollectorMetrics } from '../telemetry/metrics';
import { TableWriter } from '../sinks/clickhouse/table-writer';
import { ForwardSink } from '../sinks/otlp/forward-sink';
import { OtlpHttpReceiver } from '../receivers/otlp/http-receiver';
import { DEFAULT_RECEIVER_LIMITS } from '../receivers/otlp/limits';
import type { Routes } from './pipeline';
import { RoutingPipeline } from './pipeline';

// The routing pipeline with its real parts: rules from a configuration, table writers
// (ClickHouse down — a closed port — so each tier's batches land in the spool, where they
// can be counted per table) and a forward sink to a real OTLP/HTTP receiver.
const config = parseConfig(
  `
tiers:
  - { name: logs, retentionDays: 30 }
  - { name: debug, retentionDays: 3 }
destinations:
  - { name: audit, endpoint: "http://127.0.0.1:1", protocol: http/protobuf }
rules:
  - { name: health, match: { body: { contains: "health" } }, drop: true }
  - { name: secrets, match: { attributes: { password: { exists: true } } }, reject: "records must not carry passwords" }
  - { name: errors-copy, match: { severity: { atLeast: ERROR } }, forward: audit, continue: true }
  - { name: debug, match: { severity: { atMost: DEBUG4 } }, store: debug }
default: { store: logs }
`,
  'pipeline-test.yaml',
  {},
);

const OPTIONS = { ...config.batch, maxDelayMs: 5, retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 } };
let ch: ClickHouse;
let dir: string;
let spool: Spool;
let forwarded: LogRow[];
let destination: OtlpHttpReceiver;
let metrics: CollectorMetrics;
let observed: LogRow[];

beforeAll(async () => {
  ch = ClickHouse.withKnownVersion(
    { url: `http://127.0.0.1:${await freePort()}`, database: 'distlog' },
    '18.16.1',
  );
  destination = new OtlpHttpReceiver(
    { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS },
    { consume: async (rows) => void forwarded.push(...rows) },
  );
  await destination.start();
});
afterAll(async () => {
  await destination.shutdown();
  await ch.close();
});
beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-pipeline-unit-'));
  spool = new Spool(dir, 1 << 20);
  await spool.start();
  forwarded = [];
  observed = [];
  metrics = new CollectorMetrics();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function routes(): Routes {
  const state = { spool, metrics };
  return {
    router: new Router(config.rules, config.defaultAction),
    writers: new Map(config.tiers.map((t) => [t.name, new TableWriter(ch, t.table, OPTIONS, state)])),
    forwards: new Map([
      [
        'audit',
        new ForwardSink(
          { ...config.destinations[0], endpoint: `http://127.0.0.1:${destination.port}` },
          metrics,
        ),
      ],
    ]),
  };
}

async function spooledRowsByTable(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let e = spool.oldest(); e; e = spool.oldest()) {
    out[e.table] = (out[e.table] ?? 0) + e.batch!.rows;
    await spool.remove(e);
  }
  return out;
}

describe('RoutingPipeline', () => {
  it('stores each record in its tier, copies errors to the destination, drops and refuses by rule', async () => {
    const current = routes();
    const pipeline = new RoutingPipeline(current, metrics, undefined, {
      tally: (rows) => () => observed.push(...rows),
    });
    const partial = await pipeline.consume(
      [
        makeRow({ body: 'order placed' }),
        makeRow({ body: 'query plan', severityNumber: 5, severityText: 'DEBUG' }),
        makeRow({ body: 'card declined', severityNumber: 17, severityText: 'ERROR' }),
        makeRow({ body: 'GET /health' }),
        makeRow({ body: 'login', attrs: { password: 'hunter2' } }),
      ],
      42n,
    );
    expect(partial).toEqual({
      rejectedLogRecords: 1,
      errorMessage: '1 refused by rule: records must not carry passwords',
    });
    expect(await spooledRowsByTable()).toEqual({ logs: 2, debug: 1 });
    await current.forwards.get('audit')!.shutdown();
    expect(forwarded.map((r) => r.body)).toEqual(['card declined']);
    // Declared metrics see every accepted record, the dropped one too; not the refused one.
    expect(observed.map((r) => r.body).sort()).toEqual([
      'GET /health',
      'card declined',
      'order placed',
      'query plan',
    ]);
    expect(metrics.dropped.get({ reason: 'rule' })).toBe(1);
    expect(metrics.refused.get({ reason: 'rule' })).toBe(1);
    expect(metrics.accepted.get()).toBe(4);
    expect(metrics.routed.get({ rule: 'health' })).toBe(1);
  });

  it('a request whose records all match the same rules is routed whole, with the same outcome', async () => {
    const current = routes();
    const pipeline = new RoutingPipeline(current, metrics, undefined, {
      tally: (rows) => () => observed.push(...rows),
    });
    const three = (fields: NonNullable<Parameters<typeof makeRow>[0]>) =>
      [1, 2, 3].map((i) => makeRow({ ...fields, body: `${fields.body} ${i}` }));
    expect(await pipeline.consume(three({ body: 'card declined', severityNumber: 17 }), 1n)).toBeUndefined();
    expect(await pipeline.consume(three({ body: 'query plan', severityNumber: 5 }), 2n)).toBeUndefined();
    expect(await pipeline.consume(three({ body: 'GET /health' }), 3n)).toBeUndefined();
    expect(await pipeline.consume(three({ body: 'login', attrs: { password: 'x' } }), 4n)).toEqual({
      rejectedLogRecords: 3,
      errorMessage: '3 refused by rule: records must not carry passwords',
    });
    expect(await spooledRowsByTable()).toEqual({ logs: 3, debug: 3 });
    await current.forwards.get('audit')!.shutdown();
    expect(forwarded.map((r) => r.body)).toEqual(['card declined 1', 'card declined 2', 'card declined 3']);
    expect(observed).toHaveLength(9);
    expect(metrics.routed.get({ rule: 'errors-copy' })).toBe(3);
    expect(metrics.routed.get({ rule: 'debug' })).toBe(3);
    expect(metrics.routed.get({ rule: 'health' })).toBe(3);
    expect(metrics.routed.get({ rule: 'secrets' })).toBe(3);
    expect(metrics.dropped.get({ reason: 'rule' })).toBe(3);
    expect(metrics.accepted.get()).toBe(9);
  });

  it('a request sent again while its first copy is pending is stored once and not counted again', async () => {
    const pipeline = new RoutingPipeline(routes(), metrics, undefined, {
      tally: (rows) => () => observed.push(...rows),
    });
    const rows = [makeRow({ body: 'once' })];
    const [first, again] = await Promise.all([pipeline.consume(rows, 7n), pipeline.consume(rows, 7n)]);
    expect([first, again]).toEqual([undefined, undefined]);
    expect(await spooledRowsByTable()).toEqual({ logs: 1 });
    expect(observed).toHaveLength(1);
  });

  it('takes new routes for the next request; the old writers finish what they hold', async () => {
    const pipeline = new RoutingPipeline(routes(), metrics);
    const old = pipeline.current;
    const everythingToDebug = routes();
    everythingToDebug.router = new Router([], { store: 'debug', forward: [], drop: false });
    pipeline.replaceRoutes(everythingToDebug);
    await pipeline.consume([makeRow({ body: 'after reload' })]);
    await Promise.all([...old.writers.values()].map((w) => w.shutdown()));
    expect(await spooledRowsByTable()).toEqual({ debug: 1 });
  });
});
