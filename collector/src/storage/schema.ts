import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TierConfig, validateTiers } from '../config/tiers';
import { ClickHouse } from './clickhouse';
import { stringLiteral } from './sql';

/**
 * Versioned, idempotent migrations from collector/migrations/*.sql. A migration with
 * `-- scope: tier` runs once per tier table, others once per database. Each applied
 * (migration, target) pair is recorded in `distlog_migrations`, so applying again,
 * or after adding a tier, does only what is missing.
 */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');
const LEDGER = 'distlog_migrations';

export interface Migration {
  id: string;
  scope: 'tier' | 'database';
  sql: string;
}

export interface AppliedStep {
  migration: string;
  target: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8');
      const scope = /^--\s*scope:\s*tier\s*$/m.test(sql) ? 'tier' : 'database';
      return { id: file.replace(/\.sql$/, ''), scope, sql };
    });
}

export async function applySchema(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<AppliedStep[]> {
  validateTiers(tiers);
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${ch.database}`);
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${ch.database}.${LEDGER} (id String, target String, applied_at DateTime) ` +
      `ENGINE = MergeTree ORDER BY (id, target)`,
  );
  const done = new Set(
    (await ch.query<{ id: string; target: string }>(`SELECT id, target FROM ${ch.database}.${LEDGER}`)).map(
      (r) => `${r.id}\u0000${r.target}`,
    ),
  );
  const applied: AppliedStep[] = [];
  for (const migration of loadMigrations()) {
    const targets = migration.scope === 'tier' ? tiers : [undefined];
    for (const tier of targets) {
      const target = tier ? tier.table : ch.database;
      if (done.has(`${migration.id}\u0000${target}`)) continue;
      for (const statement of splitStatements(render(migration.sql, ch, tier))) await ch.command(statement);
      await ch.command(
        `INSERT INTO ${ch.database}.${LEDGER} (id, target, applied_at) VALUES ` +
          `(${stringLiteral(migration.id)}, ${stringLiteral(target)}, now())`,
      );
      applied.push({ migration: migration.id, target });
    }
  }
  await createAllTiersTable(ch, tiers);
  return applied;
}

/** The Merge table over every tier; its virtual column `_table` tells the tier's table. */
export const ALL_TIERS_TABLE = 'all_logs';

/**
 * `all_logs` reads every tier table as one (ClickHouse's Merge engine, on every
 * version): searches and trace lookups span tiers without knowing them. Recreated at
 * each apply, since the set of tiers may have changed.
 */
async function createAllTiersTable(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<void> {
  const pattern = `^(${tiers.map((t) => t.table).join('|')})$`;
  await ch.command(`DROP TABLE IF EXISTS ${ch.database}.${ALL_TIERS_TABLE}`);
  await ch.command(
    `CREATE TABLE ${ch.database}.${ALL_TIERS_TABLE} AS ${ch.database}.${tiers[0].table} ` +
      `ENGINE = Merge(${stringLiteral(ch.database)}, ${stringLiteral(pattern)})`,
  );
}

function render(sql: string, ch: ClickHouse, tier: TierConfig | undefined): string {
  return sql
    .replace(/\{\{db\}\}/g, ch.database)
    .replace(/\{\{table\}\}/g, tier ? `${ch.database}.${tier.table}` : '')
    .replace(/\{\{tier\}\}/g, tier ? stringLiteral(tier.name) : "''")
    .replace(
      /\{\{ttl\}\}/g,
      tier && ch.features.ttl ? `TTL Timestamp + INTERVAL ${tier.retentionDays} DAY` : '',
    );
}

function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}
