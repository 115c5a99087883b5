import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import { dropTestDatabase } from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { collectorWithShopData } from '../support/shop';

/** Every query of docs/sql.md, run against records the collector wrote from the three-service example. */
const DOC = path.resolve(__dirname, '../../docs/sql.md');

function queries(): Array<{ name: string; sql: string }> {
  const text = readFileSync(DOC, 'utf8');
  return [...text.matchAll(/```sql\n-- name: ([\w-]+)\n([\s\S]*?)```/g)].map((m) => ({
    name: m[1],
    sql: m[2],
  }));
}

let ch: ClickHouse;
let collector: CollectorProcess;
let traces: string[];

beforeAll(async () => {
  ({ ch, collector, traces } = await collectorWithShopData('e2e_sqldocs'));
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await dropTestDatabase(ch);
});

describe('docs/sql.md', () => {
  const all = queries();

  it('has the documented queries', () => {
    expect(all.map((q) => q.name)).toEqual([
      'trace',
      'errors',
      'attribute-values',
      'slowest-scopes',
      'failed-scopes',
      'volume',
      'metric-p95',
      'tiers',
    ]);
  });

  it.each(all.map((q) => [q.name, q.sql]))('%s runs and answers', async (name, sql) => {
    const ready = (sql as string)
      .replace(
        /\bdistlog\.(all_logs|trace_index|volume_by_minute|logs|debug|longterm|metric_minutes|metric_hours|metric_days)\b/g,
        `${ch.database}.$1`,
      )
      .replace(/database = 'distlog'/g, `database = '${ch.database}'`)
      .replace(/\{traceId\}/g, traces[4]);
    const rows = await ch.query<Record<string, unknown>>(ready);
    expect(rows.length).toBeGreaterThan(0);
    if (name === 'trace') {
      expect(new Set(rows.map((r) => r.ServiceName))).toEqual(new Set(['gateway', 'orders']));
      // Every record of the trace, also those in its last second (DateTime64 on current servers).
      const [all] = await ch.query<{ n: string }>(
        `SELECT count() AS n FROM ${ch.database}.all_logs WHERE TraceId = '${traces[4]}'`,
      );
      expect(rows.length).toBe(Number(all.n));
    }
    if (name === 'errors') expect(rows.map((r) => r.Body)).toContain('order failed');
    if (name === 'failed-scopes') expect(rows.map((r) => r.error)).toContain('unobtainium is out of stock');
    if (name === 'slowest-scopes')
      expect(rows.map((r) => r.scope_name)).toEqual(expect.arrayContaining(['GET /checkout', 'charge card']));
    if (name === 'tiers') expect(rows.map((r) => r.table)).toEqual(['debug', 'logs', 'longterm']);
  });
});
