import { ClickHouse } from './clickhouse';
import { applySchema, loadMigrations } from './schema';
import { createTestDatabase, dropTestDatabase } from './testing';
import { TierConfig } from '../config/tiers';

/** Migrations on a real server: applied once, nothing the second time, a new tier joins all_logs. */
let ch: ClickHouse;
const ONE: TierConfig[] = [{ name: 'logs', table: 'logs', retentionDays: 30 }];
const TWO: TierConfig[] = [...ONE, { name: 'audit', table: 'audit_logs', retentionDays: 90 }];

beforeAll(async () => {
  ch = await createTestDatabase('schema', ONE);
});
afterAll(() => dropTestDatabase(ch));

async function allLogsEngine(): Promise<string> {
  const [t] = await ch.query<{ engine_full: string }>(
    `SELECT engine_full FROM system.tables WHERE database = '${ch.database}' AND name = 'all_logs'`,
  );
  return t.engine_full;
}

describe('schema migrations', () => {
  it('reads the tier/database scope and the Distributed header of each migration', () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => [m.id, m.scope, m.distributed])).toEqual([
      ['0001_tier_table', 'tier', '{{table}}'],
      ['0002_trace_index', 'database', '{{db}}.trace_index'],
      ['0003_trace_index_view', 'tier', undefined],
      ['0004_volume_by_minute', 'database', '{{db}}.volume_by_minute'],
      ['0005_volume_by_minute_view', 'tier', undefined],
    ]);
  });

  it('does nothing the second time, not even recreating all_logs', async () => {
    const [before] = await ch.query<{ metadata_modification_time: string }>(
      `SELECT metadata_modification_time FROM system.tables WHERE database = '${ch.database}' AND name = 'all_logs'`,
    );
    await new Promise((r) => setTimeout(r, 1100));
    expect(await applySchema(ch, ONE)).toEqual([]);
    const [after] = await ch.query<{ metadata_modification_time: string }>(
      `SELECT metadata_modification_time FROM system.tables WHERE database = '${ch.database}' AND name = 'all_logs'`,
    );
    expect(after).toEqual(before);
  });

  it('a tier added later gets its tables and views, and all_logs reads it', async () => {
    const steps = await applySchema(ch, TWO);
    expect(steps.map((s) => `${s.migration}:${s.target}`)).toEqual([
      '0001_tier_table:audit_logs',
      '0003_trace_index_view:audit_logs',
      '0005_volume_by_minute_view:audit_logs',
    ]);
    expect(await allLogsEngine()).toContain('^(logs|audit_logs)$');
    await ch.command(
      `INSERT INTO ${ch.database}.audit_logs (Timestamp, ServiceName, Body, TraceId) VALUES (now(), 'svc', 'audited', 'abc')`,
    );
    const rows = await ch.query<{ Body: string; _table: string }>(
      `SELECT Body, _table FROM ${ch.database}.all_logs WHERE ServiceName = 'svc'`,
    );
    expect(rows).toEqual([{ Body: 'audited', _table: 'audit_logs' }]);
    const [index] = await ch.query<{ Tier: string }>(
      `SELECT Tier FROM ${ch.database}.trace_index WHERE TraceId = 'abc'`,
    );
    expect(index.Tier).toBe('audit');
  });
});
