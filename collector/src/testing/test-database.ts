import { randomBytes } from 'node:crypto';
import { ClickHouse } from '../storage/clickhouse';
import { applySchema } from '../storage/schema';
import type { TierConfig } from '../config/tiers';
import { DEFAULT_TIERS } from '../config/tiers';

/**
 * For tests: the URL of the ClickHouse server started by the jest global setup (or
 * CLICKHOUSE_URL), and a fresh database per test file so files never see each
 * other's rows.
 */
export function testClickHouseUrl(): string {
  const url = process.env.DISTLOG_TEST_CLICKHOUSE_URL ?? process.env.CLICKHOUSE_URL;
  if (!url)
    throw new Error(
      'no test ClickHouse: run the tests through jest (global setup starts one) or set CLICKHOUSE_URL',
    );
  return url;
}

export async function createTestDatabase(
  prefix = 'test',
  tiers: readonly TierConfig[] = DEFAULT_TIERS,
): Promise<ClickHouse> {
  const database = `distlog_${prefix}_${randomBytes(4).toString('hex')}`;
  const ch = await ClickHouse.connect({ url: testClickHouseUrl(), database });
  await applySchema(ch, tiers);
  return ch;
}

/**
 * For tests that store records dated outside their tier's retention (fixed dates, clamped
 * times): on servers with TTL those rows are deleted by the next merge of their part — a
 * TTL merge or any other — which may come at once. This stops merges on every MergeTree
 * table of the database (call it once the tables exist, e.g. after the collector started);
 * retention by partition drops is unaffected.
 */
export async function holdExpiredRows(ch: ClickHouse): Promise<void> {
  if (!ch.features.ttl) return;
  const tables = await ch.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = '${ch.database}' AND engine LIKE '%MergeTree'`,
  );
  for (const { name } of tables) await ch.command(`SYSTEM STOP MERGES ${ch.database}.${name}`);
}

export async function dropTestDatabase(ch: ClickHouse): Promise<void> {
  await ch.command(`DROP DATABASE IF EXISTS ${ch.database}`);
  await ch.close();
}

/**
 * Polls `fn` until it returns a truthy value, and returns it. When `timeoutMs` passes first,
 * fails naming what it waited for (`what`, else the condition's own source) and the last
 * value it saw — not a bare "expected true, got false" further down.
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 100,
  what?: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!last && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await fn();
  }
  if (!last) {
    const condition = what ?? fn.toString().replace(/\s+/g, ' ').slice(0, 400);
    let seen: string;
    try {
      seen = JSON.stringify(last);
    } catch {
      seen = String(last);
    }
    throw new Error(`waited ${timeoutMs} ms for: ${condition} — it was still ${seen}`);
  }
  return last;
}
