import type { RunningCollector } from '../collector';
import { startCollector } from '../collector';
import { parseConfig } from '../config/collector-config';
import type { ClickHouse } from '../storage/clickhouse';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '../testing/test-database';
import { enforceRetention } from '../storage/retention';
import {
  BUCKET_WIDTHS,
  RELATIVE_ACCURACY,
  accuracyOf,
  bucketOf,
  bucketValue,
  coarseBucket,
  quantileSql,
} from './sketch';

/**
 * Declared metrics end to end on a real ClickHouse (18.16 server or chDB 26.7): records
 * sent to a collector over OTLP/HTTP, rollups compared with the same numbers computed
 * from the raw rows — counts and sums exactly, quantiles within the sketch's 1 % — across
 * a restart and a reload, with records a rule drops counted too.
 */
const CONFIG = `
tiers: [{ name: logs, retentionDays: 30 }]
rules:
  - { name: health, match: { attributes: { http.target: /health } }, drop: true }
default: { store: logs }
metrics:
  - { name: calls, kind: count, by: [service.name, severity], retention: 400d }
  - { name: health_checks, match: { attributes: { http.target: /health } }, kind: count, by: [service.name], retention: 30d }
  - { name: amount, kind: sum, value: amount, by: [service.name], retention: 5y }
  - name: latency_ms
    match: { eventName: request.done }
    kind: distribution
    value: latency_ms
    by: [service.name, http.route]
    retention: 5y
metricOptions: { flushInterval: 1m }
`;

let ch: ClickHouse;
let collector: RunningCollector | undefined;
const SERVICES = ['orders', 'payments', 'gateway'];
const ROUTES = ['/checkout', '/cart'];
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const baseMinute = Math.floor(Date.now() / 60_000) * 60 - 3 * 3600;

async function start(config = CONFIG): Promise<RunningCollector> {
  return startCollector({
    config: parseConfig(config, 'metrics-test.yaml', {}),
    clickhouse: { url: testClickHouseUrl(), database: ch.database },
    grpc: { port: 0 },
    http: { port: 0 },
    batch: { maxDelayMs: 20 },
    spoolDir: false,
  });
}

/** What the rule dropped, per service; per service and severity; and their amounts per service. */
const sent = {
  healthChecks: new Map<string, number>(),
  droppedByGroup: new Map<string, number>(),
  droppedAmount: new Map<string, number>(),
};
const SEVERITY_NAMES: Record<number, string> = { 9: 'INFO', 13: 'WARN', 17: 'ERROR' };
const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);

/** `n` records of every service over 5 minutes; a tenth are health checks (dropped by rule). */
async function send(c: RunningCollector, n: number): Promise<void> {
  for (const service of SERVICES) {
    const records = [];
    for (let i = 0; i < n; i++) {
      const t = BigInt(baseMinute + Math.floor(random() * 300)) * 1_000_000_000n + BigInt(i);
      const health = i % 10 === 0;
      const severity = [9, 13, 17][i % 3];
      const amount = (i % 7) * 2.5;
      if (health) {
        add(sent.healthChecks, service, 1);
        add(sent.droppedByGroup, `${service},${SEVERITY_NAMES[severity]}`, 1);
        add(sent.droppedAmount, service, amount);
      }
      const route = ROUTES[i % 2];
      // Long-tailed: most calls fast, some very slow, and some zero.
      const latency = i % 37 === 0 ? 0 : Math.round(Math.exp(random() * 8) * 100) / 100;
      records.push({
        timeUnixNano: String(t),
        severityNumber: severity,
        body: { stringValue: health ? 'GET /health' : `done ${i}` },
        eventName: health ? '' : 'request.done',
        attributes: [
          ...(health ? [{ key: 'http.target', value: { stringValue: '/health' } }] : []),
          { key: 'http.route', value: { stringValue: route } },
          { key: 'latency_ms', value: { doubleValue: latency } },
          { key: 'amount', value: { stringValue: String(amount) } },
        ],
      });
    }
    const res = await fetch(`http://127.0.0.1:${c.httpPort}/v1/logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
            scopeLogs: [{ scope: { name: 'app' }, logRecords: records }],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
  }
}

const severityOf = `multiIf(SeverityNumber >= 21, 'FATAL', SeverityNumber >= 17, 'ERROR', SeverityNumber >= 13, 'WARN', SeverityNumber >= 9, 'INFO', SeverityNumber >= 5, 'DEBUG', SeverityNumber >= 1, 'TRACE', 'UNSPECIFIED')`;

async function countsFromRollups(table: string, metric: string) {
  const rows = await ch.query<{ labels: string[]; n: string; s: number }>(
    `SELECT LabelValues AS labels, sum(Count) AS n, sum(Sum) AS s FROM ${ch.database}.${table}
     WHERE Metric = '${metric}' GROUP BY labels ORDER BY labels`,
  );
  return rows.map((r) => ({ labels: r.labels, n: Number(r.n), s: r.s }));
}

beforeAll(async () => {
  ch = await createTestDatabase('metrics');
});

afterAll(async () => {
  await collector?.stop();
  await dropTestDatabase(ch);
});

describe('declared metrics, rolled up as records arrive', () => {
  it('equal the numbers computed from the raw rows, across a restart; dropped records are counted', async () => {
    collector = await start();
    await send(collector, 300);
    await collector.stop();
    // A second collector process life: the same tables go on summing.
    collector = await start();
    await send(collector, 200);
    await collector.flushMetrics();

    const raw = await ch.query<{ labels: string[]; n: string; s: number }>(
      `SELECT [ServiceName, ${severityOf}] AS labels, count() AS n, 0 AS s FROM ${ch.database}.logs
       GROUP BY labels ORDER BY labels`,
    );
    const calls = await countsFromRollups('metric_minutes', 'calls');
    expect(calls.reduce((n, r) => n + r.n, 0)).toBe(SERVICES.length * 500);
    // Per group: the stored rows of that group + the health checks the rule dropped before storing.
    expect(calls.map((r) => ({ labels: r.labels, n: r.n }))).toEqual(
      raw.map((r) => ({
        labels: r.labels,
        n: Number(r.n) + (sent.droppedByGroup.get(r.labels.join()) ?? 0),
      })),
    );
    const health = await countsFromRollups('metric_minutes', 'health_checks');
    expect(health.map((r) => [r.labels[0], r.n])).toEqual(
      [...sent.healthChecks].sort(([a], [b]) => a.localeCompare(b)),
    );

    // Sums, exactly as the raw rows sum them (health checks are not stored: compare the stored part).
    const amount = await countsFromRollups('metric_minutes', 'amount');
    const rawAmount = await ch.query<{ service: string; n: string; s: number }>(
      `SELECT ServiceName AS service, count() AS n,
              sum(toFloat64(LogAttributes.value[indexOf(LogAttributes.key, 'amount')])) AS s
       FROM ${ch.database}.logs GROUP BY service ORDER BY service`,
    );
    for (const r of rawAmount) {
      const rolled = amount.find((a) => a.labels[0] === r.service)!;
      expect(rolled.n).toBe(Number(r.n) + sent.healthChecks.get(r.service)!);
      expect(rolled.s).toBeCloseTo(r.s + sent.droppedAmount.get(r.service)!, 6);
    }

    // Hour and day rollups (materialized views) hold the same totals.
    for (const table of ['metric_hours', 'metric_days']) {
      expect(await countsFromRollups(table, 'calls')).toEqual(calls);
      expect(await countsFromRollups(table, 'amount')).toEqual(amount);
    }

    // Quantiles of latency_ms per service and route within 1 % of the exact ones over the raw rows.
    const values = await ch.query<{ service: string; route: string; v: number[] }>(
      `SELECT ServiceName AS service, LogAttributes.value[indexOf(LogAttributes.key, 'http.route')] AS route,
              groupArray(toFloat64(LogAttributes.value[indexOf(LogAttributes.key, 'latency_ms')])) AS v
       FROM ${ch.database}.logs WHERE EventName = 'request.done' GROUP BY service, route`,
    );
    expect(values).toHaveLength(SERVICES.length * ROUTES.length);
    // Hours and days keep coarser buckets (2 % and 4 %): each level within its own accuracy.
    for (const table of ['metric_minutes', 'metric_hours', 'metric_days']) {
      const width = BUCKET_WIDTHS[table];
      for (const { service, route, v } of values) {
        const sorted = [...v].sort((a, b) => a - b);
        const [row] = await ch.query<{ n: string; p50: number; p95: number; p99: number; p0: number }>(
          `SELECT n, ${quantileSql(0.5, width)} AS p50, ${quantileSql(0.95, width)} AS p95,
                  ${quantileSql(0.99, width)} AS p99, ${quantileSql(0, width)} AS p0
           FROM (SELECT groupArrayArray(HistogramMap.Bucket) AS bs, groupArrayArray(HistogramMap.Records) AS rs, sum(Count) AS n
                 FROM ${ch.database}.${table}
                 WHERE Metric = 'latency_ms' AND LabelValues = ['${service}', '${route}'])`,
        );
        expect(Number(row.n)).toBe(sorted.length);
        for (const [q, got] of [
          [0.5, row.p50],
          [0.95, row.p95],
          [0.99, row.p99],
          [0, row.p0],
        ] as const) {
          const exact = sorted[Math.floor(q * (sorted.length - 1))];
          expect({
            table,
            q,
            got,
            within: Math.abs(got - exact) <= exact * accuracyOf(width) * 1.0001 + 1e-9,
          }).toEqual({
            table,
            q,
            got,
            within: true,
          });
        }
      }
    }
  });

  it('shows the current values on /metrics for Prometheus', async () => {
    await collector!.flushMetrics();
    const text = await (await fetch(`http://127.0.0.1:${collector!.httpPort}/metrics`)).text();
    // Since this collector started: 200 records per service, a third of them at each severity.
    expect(text).toMatch(/^# TYPE calls_total counter$/m);
    const orders = [...text.matchAll(/^calls_total\{service_name="orders",severity="(\w+)"\} (\d+)$/gm)];
    expect(orders.reduce((a, m) => a + Number(m[2]), 0)).toBe(200);
    expect(text).toMatch(/^# TYPE latency_ms summary$/m);
    expect(text).toMatch(
      /^latency_ms\{service_name="orders",http_route="\/checkout",quantile="0.95"\} [\d.]+$/m,
    );
    expect(text).toMatch(/^amount_sum_total\{service_name="payments"\} [\d.]+$/m);
    expect(text).toMatch(/^health_checks_total\{service_name="gateway"\} 20$/m);
  });

  it('a reload that adds a metric starts it without touching what is stored', async () => {
    const before = await ch.query<Record<string, unknown>>(
      `SELECT Metric, sum(Count) AS n, round(sum(Sum), 6) AS s FROM ${ch.database}.metric_minutes GROUP BY Metric ORDER BY Metric`,
    );
    await collector!.reload(
      parseConfig(
        CONFIG.replace(
          'metricOptions:',
          `  - { name: errors, match: { severity: { atLeast: ERROR } }, kind: count, by: [logger], retention: 90d }
metricOptions:`,
        ),
        'metrics-test.yaml',
        {},
      ),
    );
    const after = await ch.query<Record<string, unknown>>(
      `SELECT Metric, sum(Count) AS n, round(sum(Sum), 6) AS s FROM ${ch.database}.metric_minutes GROUP BY Metric ORDER BY Metric`,
    );
    expect(after).toEqual(before);
    await send(collector!, 30);
    await collector!.flushMetrics();
    const errors = await countsFromRollups('metric_minutes', 'errors');
    // [9, 13, 17][i % 3]: i = 2, 5, …, 29 → 10 ERROR records per service.
    expect(errors).toEqual([{ labels: ['app'], n: 30, s: 0 }]);
    const defs = await ch.query<{ Name: string; By: string[]; RetentionDays: number }>(
      `SELECT Name, argMax(By, Version) AS By, argMax(RetentionDays, Version) AS RetentionDays
       FROM ${ch.database}.metric_definitions GROUP BY Name ORDER BY Name`,
    );
    expect(defs.map((d) => d.Name)).toEqual(['amount', 'calls', 'errors', 'health_checks', 'latency_ms']);
    expect(defs.find((d) => d.Name === 'errors')).toEqual({
      Name: 'errors',
      By: ['logger'],
      RetentionDays: 90,
    });
  });
});

describe('metric retention', () => {
  it('keeps minutes 15 days, hours 400, days the metric’s own retention: raw records can go while metrics stay', async () => {
    const day = 86_400;
    const now = Math.floor(Date.now() / 1000);
    const row = (metric: string, retentionDays: number, ageDays: number) => ({
      Metric: metric,
      Time: now - ageDays * day,
      Series: '',
      LabelKeys: [],
      LabelValues: [],
      RetentionDays: retentionDays,
      Count: 1,
      Sum: 0,
      'HistogramMap.Bucket': [],
      'HistogramMap.Records': [],
    });
    // Straight into every level.
    for (const table of ['metric_minutes', 'metric_hours', 'metric_days'])
      await ch.insertJson(table, [
        row('kept_long', 2000, 40),
        row('kept_long', 2000, 500),
        row('short', 30, 70),
        row('short', 30, 3),
      ]);
    await enforceRetention(ch, [{ name: 'logs', table: 'logs', retentionDays: 30 }]);
    const left = async (table: string) =>
      (
        await ch.query<{ k: string }>(
          `SELECT DISTINCT concat(Metric, ':', toString(intDiv(${now} - toUInt32(Time), ${day}))) AS k
           FROM ${ch.database}.${table} WHERE Metric IN ('kept_long', 'short') ORDER BY k`,
        )
      ).map((r) => r.k);
    expect(await left('metric_minutes')).toEqual(['short:3']);
    expect(await left('metric_hours')).toEqual(['kept_long:40', 'short:3']);
    // Hours and days are kept in month partitions: a partition goes once all of its month is past.
    expect(await left('metric_days')).toEqual(['kept_long:40', 'kept_long:500', 'short:3']);
  });
});

describe('the distribution sketch', () => {
  it('puts every value within 1 % of its bucket’s value (2 % and 4 % in the coarser levels)', () => {
    expect(accuracyOf(1)).toBeCloseTo(RELATIVE_ACCURACY, 12);
    for (const v of [1e-6, 0.003, 0.5, 1, 1.5, 99.9, 1234.5, 86_400_000, 1e12]) {
      const got = bucketValue(bucketOf(v));
      expect(Math.abs(got - v) / v).toBeLessThanOrEqual(RELATIVE_ACCURACY * 1.0001);
      for (const width of [2, 4]) {
        const coarse = bucketValue(coarseBucket(bucketOf(v), width), width);
        expect(Math.abs(coarse - v) / v).toBeLessThanOrEqual(accuracyOf(width) * 1.0001);
      }
    }
    expect(accuracyOf(2)).toBeCloseTo(0.02, 3);
    expect(accuracyOf(4)).toBeCloseTo(0.04, 2);
    expect(bucketValue(bucketOf(0))).toBe(0);
    expect(bucketValue(bucketOf(-5))).toBe(0);
  });
});
