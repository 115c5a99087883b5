import { LOG_COLUMNS } from './log-columns';
import type { TierConfig } from '../config/tiers';
import type { ClickHouse } from './clickhouse';
import { stringLiteral } from './sql';

/**
 * Retention by dropping whole day partitions — works on every ClickHouse version,
 * TTL or not. A partition is dropped once all of its day is older than the tier's
 * retention. trace_index and volume_by_minute keep as long as the longest tier, a
 * tier's word index (`<table>_tokens`) as long as the tier.
 * In cluster mode the partitions of every shard's `_local` table are listed through
 * `cluster()` and dropped `ON CLUSTER`.
 */
export interface DroppedPartition {
  table: string;
  partition: string;
}

export async function enforceRetention(
  ch: ClickHouse,
  tiers: readonly TierConfig[],
  now = new Date(),
): Promise<DroppedPartition[]> {
  const dropped: DroppedPartition[] = [];
  // A tier's word index (servers without skip indexes, migration 0007) goes with its records.
  const targets = tiers.flatMap((t) => [
    { table: t.table, days: t.retentionDays },
    { table: `${t.table}_tokens`, days: t.retentionDays },
  ]);
  const longest = Math.max(...tiers.map((t) => t.retentionDays));
  targets.push(
    { table: 'trace_index', days: longest },
    { table: 'volume_by_minute', days: longest },
    { table: 'patterns', days: longest },
    // Read only for requests stored in the last minutes (request-ids.ts): a day is plenty.
    { table: 'request_ids', days: 1 },
    // A logout is kept until the session would have expired anyway (12 h).
    { table: 'revoked_sessions', days: 1 },
    // Heartbeats of the processes that follow level rules: only the last 30 s are read.
    { table: 'level_processes', days: 1 },
    { table: 'collectors', days: 1 },
  );
  for (const { table, days } of targets) {
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const stored = ch.storageTable(table);
    const partitions = await ch.query<{ partition: string }>(
      `SELECT DISTINCT partition FROM ${ch.systemTable('parts')}
       WHERE database = ${stringLiteral(ch.database)} AND table = ${stringLiteral(stored)} AND active`,
    );
    for (const { partition } of partitions) {
      const day = partition.replace(/^'|'$/g, '');
      if (/^\d{4}-\d{2}-\d{2}$/.test(day) && day < cutoff) {
        await ch.command(
          `ALTER TABLE ${ch.database}.${stored}${ch.onCluster} DROP PARTITION ${stringLiteral(day)}`,
        );
        dropped.push({ table, partition: day });
      }
    }
  }
  dropped.push(...(await enforceMetricRetention(ch, now)));
  return dropped;
}

/** How long each rollup table keeps a metric, at most: its resolution's horizon, else the metric's own retention. */
export const METRIC_KEEP_DAYS: Record<string, number> = {
  metric_minutes: 15,
  metric_hours: 400,
  metric_days: Infinity,
};

/**
 * The rollup tables are partitioned by (RetentionDays, day or month): a partition goes
 * once all of it is older than min(the metric's retention, the table's horizon).
 */
async function enforceMetricRetention(ch: ClickHouse, now: Date): Promise<DroppedPartition[]> {
  const dropped: DroppedPartition[] = [];
  for (const [table, horizon] of Object.entries(METRIC_KEEP_DAYS)) {
    const stored = ch.storageTable(table);
    const partitions = await ch.query<{ id: string }>(
      `SELECT DISTINCT partition_id AS id FROM ${ch.systemTable('parts')}
       WHERE database = ${stringLiteral(ch.database)} AND table = ${stringLiteral(stored)} AND active`,
    );
    for (const { id } of partitions) {
      const m = /^(\d+)-(\d{4})(\d{2})(\d{2})?$/.exec(id);
      if (!m) continue;
      const keep = Math.min(Number(m[1]), horizon);
      // The partition's last day: the day itself, or the month's last day.
      const last = m[4]
        ? Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]))
        : Date.UTC(Number(m[2]), Number(m[3]), 0);
      if (last + 86_400_000 <= now.getTime() - keep * 86_400_000) {
        await ch.command(
          `ALTER TABLE ${ch.database}.${stored}${ch.onCluster} DROP PARTITION ID ${stringLiteral(id)}`,
        );
        dropped.push({ table, partition: id });
      }
    }
  }
  return dropped;
}

export interface TierStatus {
  tier: string;
  table: string;
  retentionDays: number;
  rows: number;
  bytesOnDisk: number;
  partitions: number;
  oldestPartition: string | null;
  newestPartition: string | null;
  /** False: the table is gone (dropped by hand); `distlog schema apply` makes it again. */
  exists: boolean;
  /**
   * Columns the collector writes that the table lacks (dropped or renamed by hand): every
   * insert into it is refused, and its batches are set aside (replayer.ts) until they are back.
   */
  missingColumns: string[];
}

/** Whether each tier's table exists, and which columns the collector writes it lacks (see TierStatus). */
export async function tierTables(
  ch: ClickHouse,
  tiers: readonly TierConfig[],
): Promise<Array<{ tier: string; table: string; exists: boolean; missingColumns: string[] }>> {
  const present = await ch.tableNames();
  const columns = await ch.query<{ table: string; name: string }>(
    `SELECT table, name FROM system.columns WHERE database = ${stringLiteral(ch.database)}`,
  );
  return tiers.map((tier) => {
    const has = new Set(columns.filter((c) => c.table === tier.table).map((c) => c.name));
    return {
      tier: tier.name,
      table: tier.table,
      exists: present.has(ch.storageTable(tier.table)),
      missingColumns: present.has(tier.table) ? LOG_COLUMNS.filter((c) => !has.has(c)) : [],
    };
  });
}

export async function tierStatus(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<TierStatus[]> {
  const out: TierStatus[] = [];
  const shapes = await tierTables(ch, tiers);
  for (const [i, tier] of tiers.entries()) {
    const [parts] = await ch.query<{
      rows: string;
      bytes: string;
      partitions: string;
      oldest: string;
      newest: string;
    }>(
      `SELECT sum(rows) AS rows, sum(bytes) AS bytes, uniqExact(partition) AS partitions,
              min(partition) AS oldest, max(partition) AS newest
       FROM ${ch.systemTable('parts')}
       WHERE database = ${stringLiteral(ch.database)} AND table = ${stringLiteral(ch.storageTable(tier.table))}
         AND active`,
    );
    const partitions = Number(parts?.partitions ?? 0);
    out.push({
      tier: tier.name,
      table: tier.table,
      retentionDays: tier.retentionDays,
      rows: Number(parts?.rows ?? 0),
      bytesOnDisk: Number(parts?.bytes ?? 0),
      partitions,
      oldestPartition: partitions > 0 ? parts.oldest.replace(/^'|'$/g, '') : null,
      newestPartition: partitions > 0 ? parts.newest.replace(/^'|'$/g, '') : null,
      exists: shapes[i].exists,
      missingColumns: shapes[i].missingColumns,
    });
  }
  return out;
}
