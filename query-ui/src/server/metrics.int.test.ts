import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import type { RunningCollector } from '@distlog/collector';
import { Authenticator } from '@distlog/collector/auth';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '@distlog/collector/testing';
import { parseConfig } from '@distlog/collector/config';
import { startCollector } from '@distlog/collector';
import { buildApp } from './app';
import type { MetricResult } from './metrics';
import { chooseTable } from './metrics';

/**
 * The metrics API over rollups a real collector wrote: steps and tables chosen from the
 * range, groups, filters, quantiles, and a tenant-limited reader.
 */
const CONFIG = `
tiers: [{ name: logs, retentionDays: 30 }]
metrics:
  - { name: calls, kind: count, by: [service.name], retention: 400d }
  - name: latency_ms
    kind: distribution
    value: latency_ms
    by: [service.name, resource.distlog.tenant, http.route]
    retention: 5y
`;
const SUPPORT = 'support-token-0123456789abcdef';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
// Every record of a batch in one minute, an hour ago (and 100 days ago for service a).
const recent = Math.floor((now - HOUR) / 60_000) * 60_000 + 5_000;
const old = Math.floor((now - 100 * DAY) / 60_000) * 60_000 + 5_000;

let ch: ClickHouse;
let collector: RunningCollector;
let app: FastifyInstance;
let limited: FastifyInstance;

async function send(service: string, tenant: string, atMs: number, latencies: number[]): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      resourceLogs: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: service } },
              { key: 'distlog.tenant', value: { stringValue: tenant } },
            ],
          },
          scopeLogs: [
            {
              scope: { name: 'app' },
              logRecords: latencies.map((latency, i) => ({
                timeUnixNano: String(BigInt(atMs) * 1_000_000n + BigInt(i)),
                body: { stringValue: 'request done' },
                attributes: [
                  { key: 'latency_ms', value: { doubleValue: latency } },
                  { key: 'http.route', value: { stringValue: i % 2 ? '/cart' : '/checkout' } },
                ],
              })),
            },
          ],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

beforeAll(async () => {
  ch = await createTestDatabase('metrics_api');
  collector = await startCollector({
    config: parseConfig(CONFIG, 'metrics-api.yaml', {}),
    clickhouse: { url: testClickHouseUrl(), database: ch.database },
    grpc: { port: 0 },
    http: { port: 0 },
    batch: { maxDelayMs: 20 },
    spoolDir: false,
  });
  await send(
    'a',
    't1',
    recent,
    range(200, (i) => i + 1),
  );
  await send(
    'b',
    't2',
    recent,
    range(50, (i) => 1000 + i),
  );
  await send(
    'a',
    't1',
    old,
    range(10, () => 5),
  );
  await collector.flushMetrics();
  app = await buildApp({ ch });
  await app.listen({ host: '127.0.0.1', port: 0 });
  limited = await buildApp({
    ch,
    auth: new Authenticator({
      ingestKeys: [],
      users: [
        { name: 'admin', secret: 'admin-token-0123456789abcdef', role: 'admin' },
        { name: 'support', secret: SUPPORT, role: 'reader', tenants: ['t1'] },
      ],
    }),
  });
  await limited.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await limited?.close();
  await collector?.stop();
  await dropTestDatabase(ch);
});

async function get(path: string, target = app, token?: string) {
  const base = `http://127.0.0.1:${(target.server.address() as { port: number }).port}`;
  const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return {
    status: res.status,
    body: (await res.json()) as MetricResult & { error?: string; metrics?: unknown[] },
  };
}

describe('GET /api/metrics', () => {
  it('lists the declared metrics as the collector wrote them', async () => {
    const { status, body } = await get('/api/metrics');
    expect(status).toBe(200);
    expect(body.metrics).toEqual([
      expect.objectContaining({ name: 'calls', kind: 'count', by: ['service.name'], retentionDays: 400 }),
      expect.objectContaining({
        name: 'latency_ms',
        kind: 'distribution',
        value: 'latency_ms',
        by: ['service.name', 'resource.distlog.tenant', 'http.route'],
        retentionDays: 5 * 366,
      }),
    ]);
  });

  it('one metric per group over the last hours: minute steps from metric_minutes, quantiles within 1 %', async () => {
    const { status, body } = await get('/api/metrics/latency_ms?since=6h&by=service.name');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      stepSeconds: 60,
      table: 'metric_minutes',
      by: ['service.name'],
      omittedSeries: 0,
    });
    expect(body.series.map((s) => [s.labels, s.total])).toEqual([
      [{ 'service.name': 'a' }, 200],
      [{ 'service.name': 'b' }, 50],
    ]);
    const [point] = body.series[0].points;
    expect(point.t).toBe(Math.floor(recent / 60_000) * 60_000);
    // 1…200: exact p50 = 100, p95 = 190, p99 = 198 (value at rank floor(q·(n−1))).
    for (const [got, exact] of [
      [point.p50!, 100],
      [point.p95!, 190],
      [point.p99!, 198],
    ])
      expect(Math.abs(got - exact)).toBeLessThanOrEqual(exact * 0.01);
  });

  it('computes only the quantiles asked for', async () => {
    const { body } = await get('/api/metrics/latency_ms?since=6h&by=service.name&quantiles=p95');
    const [point] = body.series[0].points;
    expect(Object.keys(point).sort()).toEqual(['count', 'p95', 'sum', 't']);
    expect((await get('/api/metrics/latency_ms?quantiles=p42')).body.error).toBe(
      'quantiles: expected p50, p95 or p99, got "p42"',
    );
  });

  it('a year at day steps from metric_days, with the point of 100 days ago', async () => {
    const { body } = await get('/api/metrics/calls?since=400d');
    expect(body).toMatchObject({ stepSeconds: 86_400, table: 'metric_days' });
    const a = body.series.find((s) => s.labels['service.name'] === 'a')!;
    expect(a.total).toBe(210);
    expect(a.points).toHaveLength(2);
    expect(chooseTable(60, now - 20 * DAY, 400, now)).toBe('metric_hours');
    expect(chooseTable(60, now - 500 * DAY, 2000, now)).toBe('metric_days');
    expect(chooseTable(3600, now - DAY, 400, now)).toBe('metric_hours');
  });

  it('filters by group values, sums every group with by=, and names what was wrong', async () => {
    const only = await get('/api/metrics/latency_ms?since=6h&where=service.name=b&by=http.route');
    expect(only.body.series.map((s) => [s.labels, s.total])).toEqual([
      [{ 'http.route': '/cart' }, 25],
      [{ 'http.route': '/checkout' }, 25],
    ]);
    const all = await get('/api/metrics/latency_ms?since=6h&by=');
    expect(all.body.series).toEqual([expect.objectContaining({ labels: {}, total: 250 })]);
    const bad = await get('/api/metrics/latency_ms?by=http.method');
    expect(bad).toEqual({
      status: 400,
      body: {
        error:
          'metric latency_ms is grouped by service.name, resource.distlog.tenant, http.route; "http.method" is not one of them',
      },
    });
    const unknown = await get('/api/metrics/nope');
    expect(unknown).toEqual({
      status: 404,
      body: { error: 'no metric named "nope" (declared: calls, latency_ms)' },
    });
    expect((await get('/api/metrics/calls?where=service.name')).status).toBe(400);
  });

  it('a reader limited to tenants sees only their groups, and no metric without a tenant grouping', async () => {
    const mine = await get('/api/metrics/latency_ms?since=6h&by=service.name', limited, SUPPORT);
    expect(mine.body.series.map((s) => s.labels['service.name'])).toEqual(['a']);
    const listed = await get('/api/metrics', limited, SUPPORT);
    expect((listed.body.metrics as Array<{ name: string }>).map((m) => m.name)).toEqual(['latency_ms']);
    const calls = await get('/api/metrics/calls?since=6h', limited, SUPPORT);
    expect(calls.status).toBe(403);
    expect(calls.body.error).toMatch(/not grouped by resource\.distlog\.tenant/);
  });
});
