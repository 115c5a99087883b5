import { ClickHouse } from './clickhouse';
import { applySchema, loadMigrations, timeColumnTypes } from './schema';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '../testing/test-database';
import type { TierConfig } from '../config/tiers';
import { stringLiteral } from './sql';

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
      ['0006_body_index', 'tier', undefined],
      ['0007_body_tokens', 'tier', '{{table_name}}_tokens'],
      ['0008_batch_ids', 'tier', undefined],
      ['0009_request_ids', 'database', '{{db}}.request_ids'],
      ['0010_request_ids_view', 'tier', undefined],
      ['0011_revoked_sessions', 'database', '{{db}}.revoked_sessions'],
      ['0012_level_rule_changes', 'database', '{{db}}.level_rule_changes'],
      ['0013_level_processes', 'database', '{{db}}.level_processes'],
      ['0014_collectors', 'database', '{{db}}.collectors'],
      ['0015_metric_rollups', 'database', '{{db}}.metric_minutes'],
      ['0016_metric_hours', 'database', '{{db}}.metric_hours'],
      ['0017_metric_days', 'database', '{{db}}.metric_days'],
      ['0018_metric_definitions', 'database', '{{db}}.metric_definitions'],
      ['0019_pattern_ids', 'tier', undefined],
      ['0020_patterns', 'database', '{{db}}.patterns'],
      ['0021_patterns_view', 'tier', undefined],
    ]);
    expect(migrations.find((m) => m.id === '0008_batch_ids')).toMatchObject({ redistributed: '{{table}}' });
    // The body's n-gram index where the server has skip indexes, the word index table where not.
    expect(migrations.find((m) => m.id === '0006_body_index')).toMatchObject({ requires: 'skipIndexes' });
    expect(migrations.find((m) => m.id === '0007_body_tokens')).toMatchObject({ unless: 'skipIndexes' });
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
      ch.features.skipIndexes ? '0006_body_index:audit_logs' : '0007_body_tokens:audit_logs',
      '0008_batch_ids:audit_logs',
      '0010_request_ids_view:audit_logs',
      '0019_pattern_ids:audit_logs',
      '0021_patterns_view:audit_logs',
    ]);
    // Every tier carries the insert batch's id (exactly-once inserts, sinks/clickhouse/batch-id.ts).
    const ids = await ch.query<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = '${ch.database}' AND table = 'audit_logs' ` +
        `AND name IN ('BatchId', 'RequestId') ORDER BY name`,
    );
    expect(ids).toEqual([
      { name: 'BatchId', type: 'UInt64' },
      { name: 'RequestId', type: 'UInt64' },
    ]);
    // The new tier's Timestamp has the type of the existing one, so all_logs reads one shape.
    expect(await timeColumnTypes(ch, ['logs', 'audit_logs'])).toEqual(
      new Map([
        ['logs', ch.features.dateTime64 ? 'DateTime64(9)' : 'DateTime'],
        ['audit_logs', ch.features.dateTime64 ? 'DateTime64(9)' : 'DateTime'],
      ]),
    );
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

describe('a tier table dropped by hand', () => {
  it('is made again with all of its steps, and its views feed from it again', async () => {
    await applySchema(ch, TWO);
    await ch.command(`DROP TABLE ${ch.database}.audit_logs`);
    const steps = await applySchema(ch, TWO);
    expect(steps.map((s) => s.target)).toEqual(steps.map(() => 'audit_logs'));
    expect(steps.map((s) => s.migration)).toContain('0001_tier_table');
    expect(steps.map((s) => s.migration)).toContain('0008_batch_ids');
    await ch.command(
      `INSERT INTO ${ch.database}.audit_logs (Timestamp, ServiceName, Body, TraceId) VALUES (now(), 'svc', 'again', 'after-drop')`,
    );
    const [index] = await ch.query<{ Tier: string }>(
      `SELECT Tier FROM ${ch.database}.trace_index WHERE TraceId = 'after-drop'`,
    );
    expect(index).toEqual({ Tier: 'audit' });
    // And nothing the time after.
    expect(await applySchema(ch, TWO)).toEqual([]);
  });
});

describe('a tier whose retention changes', () => {
  it("gets a TTL that follows it where the server has TTL (the table's own would undercut it)", async () => {
    const ttl = async () => {
      const [t] = await ch.query<{ q: string }>(
        `SELECT create_table_query AS q FROM system.tables WHERE database = '${ch.database}' AND name = 'logs'`,
      );
      return /\bTTL .*?(\d+)\)?(?: DAY)?(?: SETTINGS|$)/.exec(t.q)?.[1];
    };
    const longer: TierConfig[] = [{ ...ONE[0], retentionDays: 90 }];
    const steps = await applySchema(ch, longer);
    if (!ch.features.ttl) {
      // 18.16: no TTL; the retention job's partition drops follow the configuration.
      expect(steps).toEqual([]);
      expect(await ttl()).toBeUndefined();
      return;
    }
    expect(steps).toEqual([{ migration: 'TTL 30 d → 90 d', target: 'logs' }]);
    expect(await ttl()).toBe('91');
    expect(await applySchema(ch, longer)).toEqual([]);
    // Back, for the other tests.
    expect(await applySchema(ch, ONE)).toEqual([{ migration: 'TTL 90 d → 30 d', target: 'logs' }]);
    expect(await ttl()).toBe('31');
  });
});

describe('what the server has', () => {
  it('stores Timestamp as DateTime64(9) where the server has it, DateTime seconds on 18.16', async () => {
    const [col] = await ch.query<{ type: string }>(
      `SELECT type FROM system.columns WHERE database = '${ch.database}' AND table = 'logs' AND name = 'Timestamp'`,
    );
    expect(col.type).toBe(ch.features.dateTime64 ? 'DateTime64(9)' : 'DateTime');
  });

  it('a database made on DateTime keeps it for new tiers (one shape for all_logs)', async () => {
    const old = await ClickHouse.connect({ url: testClickHouseUrl(), database: `${ch.database}_old` });
    try {
      await old.command(`CREATE DATABASE ${old.database}`);
      // The tier table as this project made it before DateTime64 (and as 18.16 has it).
      const tierTable = loadMigrations().find((m) => m.id === '0001_tier_table')!.sql;
      await old.command(
        tierTable
          .replace(/^--.*$/gm, '')
          .replace('{{table}}', `${old.database}.logs`)
          .replace('{{time_type}}', 'DateTime')
          .replace('{{engine(MergeTree)}}', 'MergeTree()')
          .replace(/\{\{\w+\}\}/g, ''),
      );
      await applySchema(old, TWO);
      expect(await timeColumnTypes(old, ['logs', 'audit_logs'])).toEqual(
        new Map([
          ['logs', 'DateTime'],
          ['audit_logs', 'DateTime'],
        ]),
      );
    } finally {
      await dropTestDatabase(old);
    }
  });

  it('a text search reads only the granules that may hold the term where the server has skip indexes', async () => {
    await ch.command(
      `INSERT INTO ${ch.database}.logs (Timestamp, TimeUnixNano, ServiceName, Body)
       SELECT toDateTime(toUInt32(now()) - 3600 + intDiv(number, 1000)), 0,
              'granules', if(number = 123457, 'payment REJECTED by 50%_rule', concat('handled order ', toString(number)))
       FROM system.numbers LIMIT 200000`,
    );
    const v = ch.values();
    const condition = v.containsText('Body', 'rejected BY 50%_RULE');
    const from = `FROM ${ch.database}.logs PREWHERE ${condition} WHERE ServiceName = 'granules'`;
    const found = await ch.query<{ Body: string }>(`SELECT Body ${from}`, {}, v.params);
    expect(found).toEqual([{ Body: 'payment REJECTED by 50%_rule' }]);
    if (!ch.features.skipIndexes) {
      expect(condition).toMatch(/^positionCaseInsensitive\(Body, /);
      return;
    }
    const plan = (
      await ch.query<{ explain: string }>(`EXPLAIN indexes = 1 SELECT Body ${from}`, {}, v.params)
    ).map((r) => r.explain);
    const skip = plan.findIndex((line) => line.includes('Name: body_ngrams'));
    expect(skip).toBeGreaterThan(0);
    const granules = /Granules: (\d+)\/(\d+)/.exec(plan.slice(skip).join('\n'));
    expect(granules).not.toBeNull();
    const [read, total] = [Number(granules![1]), Number(granules![2])];
    expect({ read, total: total > 10 }).toEqual({ read: 1, total: true });
  });

  it('LIKE wildcards and backslashes in the text are matched literally', async () => {
    const bodies = ['50% off', '50X off', 'a_b', 'aXb', 'back\\slash', 'backslash'];
    await ch.command(
      `INSERT INTO ${ch.database}.logs (Timestamp, TimeUnixNano, ServiceName, Body) VALUES ` +
        bodies.map((b) => `(now(), 0, 'literal', ${stringLiteral(b)})`).join(', '),
    );
    const search = async (text: string) => {
      const v = ch.values();
      const rows = await ch.query<{ Body: string }>(
        `SELECT Body FROM ${ch.database}.logs WHERE ServiceName = 'literal' AND ${v.containsText('Body', text)} ORDER BY Body`,
        {},
        v.params,
      );
      return rows.map((r) => r.Body);
    };
    expect(await search('50% OFF')).toEqual(['50% off']);
    expect(await search('A_B')).toEqual(['a_b']);
    expect(await search('K\\S')).toEqual(['back\\slash']);
    expect(await search('%')).toEqual(['50% off']);
  });
});
