import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ClickHouse, dropTestDatabase } from '@distlog/collector';
import { CollectorProcess } from '../support/collector-process';
import { collectorWithShopData } from '../support/shop';
import { otlpJson, postJson } from '../support/otlp-json';

/**
 * Every SQL query of every Grafana dashboard in deploy/grafana/dashboards, with the
 * ClickHouse data source's macros expanded as the plugin expands them, run against
 * records the collector wrote. A dashboard that does not fit the schema fails here.
 */
const DASHBOARDS = path.resolve(__dirname, '../../deploy/grafana/dashboards');

interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; type: string; query: string }> };
  panels: Array<{ title: string; targets: Array<{ rawSql: string }> }>;
}

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
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await dropTestDatabase(ch);
});

/** The plugin's macros and Grafana's variables, for the last hour. */
function expand(sql: string, services: string[]): string {
  const to = Math.floor(Date.now() / 1000) + 60;
  const from = to - 3600 - 60;
  return sql
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_m, col) => `${col} >= toDateTime(${from}) AND ${col} <= toDateTime(${to})`,
    )
    .replace(/\$__interval_s/g, '60')
    .replace(/\$\{service:singlequote\}/g, services.map((s) => `'${s.replace(/'/g, "\\\\'")}'`).join(','))
    .replace(/\$min_severity/g, '1')
    .replace(
      /\bdistlog\.(all_logs|volume_by_minute|trace_index|logs|debug|longterm)\b/g,
      `${ch.database}.$1`,
    );
}

const dashboards: Dashboard[] = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join(DASHBOARDS, f), 'utf8')));

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
