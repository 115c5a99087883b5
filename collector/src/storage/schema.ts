import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { TierConfig } from '../config/tiers';
import { validateTiers } from '../config/tiers';
import type { ClickHouse } from './clickhouse';
import type { Feature } from './server-features';
import { FEATURES } from './server-features';
import { stringLiteral } from './sql';

/**
 * Versioned, idempotent migrations from collector/migrations/*.sql. A migration with
 * `-- scope: tier` runs once per tier table, others once per database. Each applied
 * (migration, target) pair is recorded in `distlog_migrations`, so applying again,
 * or after adding a tier, does only what is missing.
 *
 * Cluster mode (ClickHouseOptions.cluster): every statement runs `ON CLUSTER`; a
 * migration's tables are created as `<name>_local` on every shard, and a migration
 * headed `-- distributed: <name>` adds the `Distributed` table `<name>` over them, so
 * readers and writers keep using the names they use on a single server. With
 * `replicated`, the shard tables are Replicated*MergeTree ({{engine(...)}}, see withEngine).
 */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');
const LEDGER = 'distlog_migrations';

export interface Migration {
  id: string;
  scope: 'tier' | 'database';
  sql: string;
  /**
   * `-- requires: <feature>`: applied only on servers that have the feature (see
   * ServerFeatures); elsewhere it is not recorded, so it runs once the server is upgraded.
   */
  requires?: Feature;
  /** `-- unless: <feature>`: applied only on servers that lack the feature (what stands in for it). */
  unless?: Feature;
  /** The table (template) that gets a Distributed table over its shards in cluster mode. */
  distributed?: string;
  /**
   * `-- redistributed: <name>`: the migration changes the columns of a table that has a
   * Distributed table over it; in cluster mode that one is dropped and made again.
   */
  redistributed?: string;
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
      const distributed = /^--\s*distributed:\s*(\S+)\s*$/m.exec(sql)?.[1];
      const redistributed = /^--\s*redistributed:\s*(\S+)\s*$/m.exec(sql)?.[1];
      const feature = (header: string) => {
        const name = new RegExp(`^--\\s*${header}:\\s*(\\w+)\\s*$`, 'm').exec(sql)?.[1];
        if (name !== undefined && !FEATURES.includes(name as Feature))
          throw new Error(`migration ${file}: unknown feature ${name} (known: ${FEATURES.join(', ')})`);
        return name as Feature | undefined;
      };
      const requires = feature('requires');
      const unless = feature('unless');
      return {
        id: file.replace(/\.sql$/, ''),
        scope,
        sql,
        ...(distributed ? { distributed } : {}),
        ...(redistributed ? { redistributed } : {}),
        ...(requires ? { requires } : {}),
        ...(unless ? { unless } : {}),
      };
    });
}

export async function applySchema(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<AppliedStep[]> {
  validateTiers(tiers);
  if (ch.cluster) await checkDistributedDdl(ch);
  // Every DDL statement is a round through ZooKeeper in cluster mode: none when nothing is to do.
  const [known] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM system.databases WHERE name = ${stringLiteral(ch.database)}`,
  );
  if (Number(known.n) === 0) await ch.command(`CREATE DATABASE IF NOT EXISTS ${ch.database}${ch.onCluster}`);
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${ch.database}.${LEDGER} (id String, target String, applied_at DateTime) ` +
      `ENGINE = MergeTree ORDER BY (id, target)`,
  );
  // A tier table dropped by hand (to empty it, or by mistake) is made again with all of its
  // tier's steps, as if the tier were new: they are idempotent, and the ledger alone would say
  // there is nothing to do while the collector's inserts fail.
  const missing = await missingTierTables(ch, tiers);
  const done = new Set(
    (await ch.query<{ id: string; target: string }>(`SELECT id, target FROM ${ch.database}.${LEDGER}`))
      .filter((r) => !missing.has(r.target))
      .map((r) => `${r.id}\u0000${r.target}`),
  );
  const applied: AppliedStep[] = [];
  const timeType = await chooseTimeType(ch, tiers);
  for (const migration of loadMigrations()) {
    if (migration.requires && !ch.features[migration.requires]) continue;
    if (migration.unless && ch.features[migration.unless]) continue;
    const targets = migration.scope === 'tier' ? tiers : [undefined];
    for (const tier of targets) {
      const target = (tier ? tier.table : ch.database) + (ch.cluster ? ` on cluster ${ch.cluster}` : '');
      if (done.has(`${migration.id}\u0000${target}`)) continue;
      for (const statement of splitStatements(render(migration.sql, ch, tier, 'storage', timeType)))
        await runStatement(ch, withEngine(statement, ch));
      if (ch.cluster && migration.distributed)
        await createDistributed(ch, render(migration.distributed, ch, tier, 'public'));
      if (ch.cluster && migration.redistributed) {
        const table = render(migration.redistributed, ch, tier, 'public');
        await ch.command(`DROP TABLE IF EXISTS ${table}${ch.onCluster}`);
        await createDistributed(ch, table);
      }
      await ch.command(
        `INSERT INTO ${ch.database}.${LEDGER} (id, target, applied_at) VALUES ` +
          `(${stringLiteral(migration.id)}, ${stringLiteral(target)}, now())`,
      );
      applied.push({ migration: migration.id, target });
    }
  }
  applied.push(...(await followRetention(ch, tiers)));
  await createAllTiersTable(ch, tiers);
  if (ch.features.mapType && ch.features.dateTime64) await createOtelLogsView(ch);
  return applied;
}

/**
 * A tier table's TTL: by day, as the partition drops are (a day goes once all of it is past
 * retention); Date arithmetic also stays in range for times clamped to DateTime's end (2106).
 */
function ttlExpression(retentionDays: number): string {
  return `toDate(Timestamp) + INTERVAL ${retentionDays + 1} DAY`;
}

/**
 * Where the server has TTL, a tier table's TTL is the retention it was made with: a
 * retention changed in the configuration since would be undercut by it (raised from 30 to
 * 90 days, ClickHouse would still delete rows after 31). So a table whose TTL is the one
 * Distlog writes, with another number of days, gets the configured one (a mutation that
 * recomputes the parts' TTL). A TTL of another form (set by hand) is left alone.
 */
async function followRetention(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<AppliedStep[]> {
  if (!ch.features.ttl) return [];
  const tables = await ch.query<{ name: string; create_table_query: string }>(
    `SELECT name, create_table_query FROM system.tables WHERE database = ${stringLiteral(ch.database)}`,
  );
  const steps: AppliedStep[] = [];
  for (const tier of tiers) {
    const table = ch.storageTable(tier.table);
    const query = tables.find((t) => t.name === table)?.create_table_query ?? '';
    const m =
      /\bTTL toDate\(Timestamp\) \+ (?:toIntervalDay\((\d+)\)|INTERVAL (\d+) DAY)(?:\s+SETTINGS\b|\s*$)/.exec(
        query,
      );
    const days = m ? Number(m[1] ?? m[2]) : undefined;
    if (days === undefined || days === tier.retentionDays + 1) continue;
    await ch.command(
      `ALTER TABLE ${ch.database}.${table}${ch.onCluster} MODIFY TTL ${ttlExpression(tier.retentionDays)}`,
    );
    steps.push({ migration: `TTL ${days - 1} d → ${tier.retentionDays} d`, target: tier.table });
  }
  return steps;
}

/** The ledger targets (see applySchema) of the tiers whose table this server does not have. */
async function missingTierTables(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<Set<string>> {
  const present = await ch.tableNames();
  return new Set(
    tiers
      .filter((t) => !present.has(ch.storageTable(t.table)))
      .map((t) => t.table + (ch.cluster ? ` on cluster ${ch.cluster}` : '')),
  );
}

/** The Distributed table `table` over the shards' `<table>_local`, on every server of the cluster. */
async function createDistributed(ch: ClickHouse, table: string): Promise<void> {
  const local = `${table}_local`;
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${table}${ch.onCluster} AS ${local} ` +
      `ENGINE = Distributed(${ch.cluster}, ${ch.database}, ${local.slice(ch.database.length + 1)}, rand())`,
  );
}

/** The type of the tier tables' `Timestamp` column. */
export type TimeType = 'DateTime' | 'DateTime64(9)';

/**
 * `Timestamp` of new tier tables: `DateTime64(9)` on servers that have it (the sort key
 * and partitions then hold the record's exact time), `DateTime` seconds on 18.16. A
 * database whose tier tables already exist keeps their type for new tiers, so that
 * `all_logs` reads tables of one shape.
 */
async function chooseTimeType(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<TimeType> {
  const existing = await timeColumnTypes(
    ch,
    tiers.map((t) => t.table),
  );
  const first = existing.values().next();
  if (!first.done) return first.value;
  return ch.features.dateTime64 ? 'DateTime64(9)' : 'DateTime';
}

/** The `Timestamp` type of each of `tables` that exists (the writer encodes rows for it). */
export async function timeColumnTypes(
  ch: ClickHouse,
  tables: readonly string[],
): Promise<Map<string, TimeType>> {
  if (tables.length === 0) return new Map();
  const rows = await ch.query<{ table: string; type: string }>(
    `SELECT table, type FROM system.columns WHERE database = ${stringLiteral(ch.database)} ` +
      `AND name = 'Timestamp' AND table IN (${tables.map(stringLiteral).join(', ')})`,
  );
  return new Map(rows.map((r) => [r.table, r.type.startsWith('DateTime64') ? 'DateTime64(9)' : 'DateTime']));
}

/** The view in the layout of the OpenTelemetry Collector's ClickHouse exporter (see below). */
export const OTEL_LOGS_VIEW = 'otel_logs';

/**
 * On servers with `Map` and `DateTime64`: `otel_logs`, every tier in the column names and
 * types of the OpenTelemetry Collector ClickHouse exporter's logs table, so tools made for
 * that table — Grafana's ClickHouse data source in OpenTelemetry mode, ClickStack/HyperDX —
 * read Distlog's data unchanged. A plain view over all_logs: nothing stored twice.
 */
async function createOtelLogsView(ch: ClickHouse): Promise<void> {
  const [exists] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM system.tables WHERE database = ${stringLiteral(ch.database)} AND name = '${OTEL_LOGS_VIEW}'`,
  );
  if (Number(exists.n) > 0) return;
  const map = (nested: string) =>
    `CAST(mapFromArrays(src.${nested}.key, src.${nested}.value), 'Map(LowCardinality(String), String)') AS ${nested}`;
  await ch.command(
    `CREATE VIEW IF NOT EXISTS ${ch.database}.${OTEL_LOGS_VIEW}${ch.onCluster} AS SELECT
       fromUnixTimestamp64Nano(toInt64(src.TimeUnixNano), 'UTC') AS Timestamp,
       toDateTime(src.Timestamp) AS TimestampTime,
       src.TraceId AS TraceId, src.SpanId AS SpanId, src.TraceFlags AS TraceFlags,
       src.SeverityText AS SeverityText, src.SeverityNumber AS SeverityNumber,
       src.ServiceName AS ServiceName, src.Body AS Body, src.ResourceSchemaUrl AS ResourceSchemaUrl,
       ${map('ResourceAttributes')},
       '' AS ScopeSchemaUrl, src.ScopeName AS ScopeName, src.ScopeVersion AS ScopeVersion,
       ${map('ScopeAttributes')},
       ${map('LogAttributes')},
       src.EventName AS EventName
     FROM ${ch.database}.${ALL_TIERS_TABLE} AS src`,
  );
}

/** The Merge table over every tier; its virtual column `_table` tells the tier's table. */
export const ALL_TIERS_TABLE = 'all_logs';

/**
 * `all_logs` reads every tier table as one (ClickHouse's Merge engine, on every
 * version): searches and trace lookups span tiers without knowing them. Recreated
 * when the set of tiers changed.
 */
async function createAllTiersTable(ch: ClickHouse, tiers: readonly TierConfig[]): Promise<void> {
  const pattern = `^(${tiers.map((t) => t.table).join('|')})$`;
  const engine = `Merge(${stringLiteral(ch.database)}, ${stringLiteral(pattern)})`;
  const [current] = await ch.query<{ engine_full: string }>(
    `SELECT engine_full FROM system.tables WHERE database = ${stringLiteral(ch.database)} AND name = '${ALL_TIERS_TABLE}'`,
  );
  // Recreated when the tiers or their columns changed (a migration added one).
  const columns = await ch.query<{ table: string; names: string }>(
    `SELECT table, arrayStringConcat(groupArray(name), ',') AS names FROM system.columns
     WHERE database = ${stringLiteral(ch.database)} AND table IN (${stringLiteral(ALL_TIERS_TABLE)}, ${stringLiteral(tiers[0].table)})
     GROUP BY table`,
  );
  const sameColumns = columns.length === 2 && columns[0].names === columns[1].names;
  if (current?.engine_full === engine && sameColumns) return;
  await ch.command(`DROP TABLE IF EXISTS ${ch.database}.${ALL_TIERS_TABLE}${ch.onCluster}`);
  await ch.command(
    `CREATE TABLE ${ch.database}.${ALL_TIERS_TABLE}${ch.onCluster} AS ${ch.database}.${tiers[0].table} ` +
      `ENGINE = ${engine}`,
  );
}

/** `ON CLUSTER` needs distributed DDL (ZooKeeper or ClickHouse Keeper); say so before the first statement. */
async function checkDistributedDdl(ch: ClickHouse): Promise<void> {
  try {
    await ch.query(`SELECT name FROM system.zookeeper WHERE path = '/' LIMIT 1`);
  } catch (err) {
    throw new Error(
      `cluster ${ch.cluster}: the schema is created ON CLUSTER, which needs distributed DDL — ` +
        `ZooKeeper or ClickHouse Keeper in the server config (<zookeeper> and <distributed_ddl>) of ${ch.url}. ` +
        `The server said: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
}

/**
 * Fills a migration's placeholders. `storage` names the tables that hold rows (the
 * `_local` ones in cluster mode); `public` the names readers and writers use.
 */
function render(
  sql: string,
  ch: ClickHouse,
  tier: TierConfig | undefined,
  names: 'storage' | 'public' = 'storage',
  timeType: TimeType = 'DateTime',
): string {
  const local = ch.cluster && names === 'storage' ? '_local' : '';
  return sql
    .replace(/\{\{db\}\}/g, ch.database)
    .replace(/\{\{local\}\}/g, local)
    .replace(/\{\{on_cluster\}\}/g, ch.onCluster)
    .replace(/\{\{table\}\}/g, tier ? `${ch.database}.${tier.table}${local}` : '')
    .replace(/\{\{table_name\}\}/g, tier ? `${ch.database}.${tier.table}` : '')
    .replace(/\{\{time_type\}\}/g, timeType)
    .replace(/\{\{tier\}\}/g, tier ? stringLiteral(tier.name) : "''")
    .replace(/\{\{tier_table\}\}/g, tier ? stringLiteral(tier.table) : "''")
    .replace(/\{\{ttl\}\}/g, tier && ch.features.ttl ? `TTL ${ttlExpression(tier.retentionDays)}` : '');
}

/**
 * `{{engine(Name[, args])}}` in a CREATE TABLE statement: `Name(args)`, or with
 * replicated tables `ReplicatedName('/clickhouse/tables/{shard}/<db>/<table>', '{replica}'[, args])`.
 */
export function withEngine(statement: string, ch: Pick<ClickHouse, 'replicated'>): string {
  return statement.replace(
    /\{\{engine\((\w+)(?:,\s*([^)]*))?\)\}\}/g,
    (_all, name: string, args?: string) => {
      if (!ch.replicated) return `${name}(${args ?? ''})`;
      const table = /CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)/i.exec(statement)?.[1];
      if (!table)
        throw new Error(`{{engine(...)}} outside a CREATE TABLE statement: ${statement.slice(0, 80)}`);
      const [db, local] = table.includes('.') ? table.split('.', 2) : ['', table];
      const zkPath = stringLiteral(`/clickhouse/tables/{shard}/${db}/${local}`);
      return `Replicated${name}(${[zkPath, "'{replica}'", ...(args ? [args] : [])].join(', ')})`;
    },
  );
}

/**
 * Runs one migration statement. `ADD COLUMN` of a column that is already there counts as
 * done: 18.16 has no `ADD COLUMN IF NOT EXISTS`, and a migration interrupted after its
 * ALTER (before the ledger row) must be able to run again.
 */
async function runStatement(ch: ClickHouse, statement: string): Promise<void> {
  try {
    await ch.command(statement);
  } catch (err) {
    const addsColumn = /^\s*ALTER\s+TABLE\b[\s\S]*\bADD\s+COLUMN\b/i.test(statement);
    // Code 44 (ILLEGAL_COLUMN) "…already exists" on 18.16; DUPLICATE_COLUMN (15) on current servers.
    if (addsColumn && /already exists|DUPLICATE_COLUMN/i.test((err as Error).message)) return;
    throw err;
  }
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
