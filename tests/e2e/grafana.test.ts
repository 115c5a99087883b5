import type { ClickHouse } from '@distlog/collector/storage';
import { dropTestDatabase, eventually } from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { collectorWithShopData } from '../support/shop';
import { otlpJson, postJson } from '../support/otlp-json';
import { expandPanelSql, loadDashboards } from '../support/grafana';

/**
 * Every SQL query of every Grafana dashboard in deploy/grafana/dashboards, with the
 * ClickHouse data source's macros expanded as the plugin expands them, run against
 * records the collector wrote. A dashboard that does not fit the schema fails here.
 */
let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithShopData('e2e_grafana'));
  await postJson(
    collector.httpPort,
    otlpJson('shop', [
      { body: 'checkout', eventName: 'usage.checkout' },
      { body: 'debugging', severityNumber: 5 },
    ]),
  );
  // Rolled up within the collector's metric flush (half a second here).
  await eventually(async () => {
    const [r] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.metric_minutes WHERE Metric = 'usage_events'`,
    );
    return Number(r.n) > 0;
  });
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await dropTestDatabase(ch);
});

const expand = (sql: string, services: string[]) => expandPanelSql(sql, ch.database, services);
const dashboards = loadDashboards();

describe('Grafana dashboards', () => {
  it('are the overview, usage/performance and debug-tier dashboards, each with a service variable', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual([
      'distlog-debug',
      'distlog-overview',
      'distlog-usage',
    ]);
    for (const d of dashboards) expect(d.templating.list.map((v) => v.name)).toContain('service');
    expect(
      dashboards.find((d) => d.uid === 'distlog-overview')!.templating.list.map((v) => v.name),
    ).toContain('min_severity');
  });

  it('link to the web UI through the distlog_ui variable, never a fixed address', async () => {
    const overview = dashboards.find((d) => d.uid === 'distlog-overview')!;
    const variable = overview.templating.list.find((v) => v.name === 'distlog_ui')!;
    expect(variable).toMatchObject({ type: 'textbox', query: 'http://127.0.0.1:4320' });
    for (const d of dashboards)
      for (const p of d.panels)
        for (const t of p.targets)
          expect({ panel: p.title, sql: t.rawSql }).not.toMatchObject({
            sql: expect.stringMatching(/https?:\/\//),
          });
    const newest = overview.panels.find((p) => p.title === 'Newest errors')!;
    const services = ['gateway', 'orders', 'payments', 'shop'];
    const rows = await ch.query<{ TraceId: string; trace_link: string }>(
      expandPanelSql(newest.targets[0].rawSql, ch.database, services, 'https://logs.example.com'),
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.trace_link).toBe(`https://logs.example.com/trace/${row.TraceId}`);
  });

  it('read usage and performance from the metric rollups, never raw rows, with the numbers the raw rows give', async () => {
    const usage = dashboards.find((d) => d.uid === 'distlog-usage')!;
    for (const sql of [
      ...usage.panels.flatMap((p) => p.targets.map((t) => t.rawSql)),
      ...usage.templating.list.map((v) => v.query),
    ])
      expect(sql).not.toMatch(/\bdistlog\.(all_logs|logs|debug|longterm)\b/);
    const durations = usage.panels.find((p) => p.title.startsWith('Scope durations'))!;
    const services = ['gateway', 'orders', 'payments', 'shop'];
    const fromRollups = await ch.query<{
      service: string;
      scope_name: string;
      calls: string;
      p95_ms: number;
    }>(expand(durations.targets[0].rawSql, services));
    const fromRaw = await ch.query<{ service: string; scope_name: string; calls: string; v: number[] }>(
      `SELECT ServiceName AS service, LogAttributes.value[indexOf(LogAttributes.key, 'scope.name')] AS scope_name,
              count() AS calls, groupArray(toFloat64(LogAttributes.value[indexOf(LogAttributes.key, 'scope.duration_ms')])) AS v
       FROM ${ch.database}.all_logs WHERE EventName = 'distlog.scope.end' GROUP BY service, scope_name`,
    );
    expect(fromRollups).toHaveLength(fromRaw.length);
    for (const raw of fromRaw) {
      const rolled = fromRollups.find((r) => r.service === raw.service && r.scope_name === raw.scope_name)!;
      expect(Number(rolled.calls)).toBe(Number(raw.calls));
      const sorted = [...raw.v].sort((a, b) => a - b);
      const exact = sorted[Math.floor(0.95 * (sorted.length - 1))];
      // Within the sketch's 1 %, and the panel's rounding to 3 decimals.
      expect(Math.abs(rolled.p95_ms - exact)).toBeLessThanOrEqual(exact * 0.01 + 0.0005);
    }
  });

  const cases = dashboards.flatMap((d) =>
    d.panels.flatMap((p) => p.targets.map((t) => [`${d.title}: ${p.title}`, t.rawSql] as [string, string])),
  );
  it.each(cases)('%s returns rows', async (_title, sql) => {
    const service = dashboards[0].templating.list.find((v) => v.name === 'service')!;
    const services = (await ch.query<{ ServiceName: string }>(expand(service.query, []))).map(
      (r) => r.ServiceName,
    );
    expect(services).toEqual(expect.arrayContaining(['gateway', 'orders', 'payments', 'shop']));
    const rows = await ch.query<Record<string, unknown>>(expand(sql, services));
    expect(rows.length).toBeGreaterThan(0);
  });
});
