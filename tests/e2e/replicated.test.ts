import { randomBytes } from 'node:crypto';
import { ClickHouse, enforceRetention } from '@distlog/collector/storage';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '@distlog/collector/config';
import { eventually } from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { distlogSchemaApply, startCollectorProcess } from '../support/collector-process';
import type { LocalCluster } from '../support/cluster';
import { startLocalCluster } from '../support/cluster';
import { otlpJson, postJson } from '../support/otlp-json';

/**
 * Replicated tables (`--replicated` / clickhouse.replicated) on a real cluster of one
 * shard with two replicas (two ClickHouse servers and ZooKeeper, started here): the
 * schema makes Replicated*MergeTree tables named by the servers' {shard}/{replica}
 * macros, the collector writes through the Distributed tables to one replica, and
 * replication brings every record to the other.
 */
const database = `distlog_replicated_${randomBytes(4).toString('hex')}`;
const TIERS = loadConfigFile(DEFAULT_CONFIG_FILE).tiers;

let cluster: LocalCluster;
let collector: CollectorProcess | undefined;
let replicas: ClickHouse[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster(1, 2);
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  for (const ch of replicas) await ch.close();
  await cluster?.stop();
}, 60_000);

function schemaApply(...extra: string[]) {
  return distlogSchemaApply(cluster.shards[0].url, database, ...extra);
}

// Clusters run on clickhouse-server processes this file starts (chDB is embedded and has
// no network server), so the pass against the embedded store skips what the server pass
// already proved.
const onServers = process.env.DISTLOG_TEST_CLICKHOUSE === 'chdb' ? describe.skip : describe;

onServers('replicated tables', () => {
  it('`--replicated` without a cluster is refused, naming what is missing', async () => {
    const failed = await schemaApply('--replicated').then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toContain('replicated tables need a cluster (clickhouse.cluster)');
  });

  it('`distlog schema apply --cluster --replicated` makes Replicated*MergeTree tables on every replica', async () => {
    const { stdout, stderr } = await schemaApply('--cluster', cluster.name, '--replicated');
    expect(stdout + stderr).toContain('applied 0001_tier_table to logs on cluster distlog_shards');
    replicas = await Promise.all(cluster.shards.map((s) => ClickHouse.connect({ url: s.url, database })));
    for (const replica of replicas) {
      const tables = await replica.query<{ name: string; engine: string; engine_full: string }>(
        `SELECT name, engine, engine_full FROM system.tables WHERE database = '${database}' ORDER BY name`,
      );
      const engines = Object.fromEntries(tables.map((t) => [t.name, t.engine]));
      for (const tier of TIERS) expect(engines[`${tier.table}_local`]).toBe('ReplicatedMergeTree');
      expect(engines).toMatchObject({
        trace_index_local: 'ReplicatedMergeTree',
        volume_by_minute_local: 'ReplicatedSummingMergeTree',
        logs: 'Distributed',
        all_logs: 'Merge',
      });
      const logs = tables.find((t) => t.name === 'logs_local')!;
      expect(logs.engine_full).toContain(
        `ReplicatedMergeTree('/clickhouse/tables/{shard}/${database}/logs_local', '{replica}')`,
      );
    }
  }, 120_000);

  it('the collector writes to one replica; replication brings every record to the other', async () => {
    collector = await startCollectorProcess(cluster.shards[0].url, database, {
      env: { CLICKHOUSE_CLUSTER: cluster.name, CLICKHOUSE_REPLICATED: 'true' },
    });
    const tag = randomBytes(4).toString('hex');
    const records = Array.from({ length: 40 }, (_, i) => ({ body: `${tag} replicated ${i}` }));
    expect((await postJson(collector.httpPort, otlpJson('replicated', records))).status).toBe(200);
    const counts = await eventually(async () => {
      const n = await Promise.all(
        replicas.map(async (r) => {
          const [row] = await r.query<{ n: string }>(
            `SELECT count() AS n FROM ${database}.logs_local WHERE Body LIKE '${tag} %'`,
          );
          return Number(row.n);
        }),
      );
      return n.every((x) => x === records.length) ? n : undefined;
    }, 30_000);
    expect(counts).toEqual([records.length, records.length]);
  }, 60_000);

  it('retention drops the old partitions on every replica', async () => {
    const entry = await ClickHouse.connect({
      url: cluster.shards[0].url,
      database,
      cluster: cluster.name,
      replicated: true,
    });
    try {
      const logs = TIERS.find((t) => t.name === 'logs')!;
      const later = new Date(Date.now() + (logs.retentionDays + 2) * 86_400_000);
      const dropped = await enforceRetention(entry, TIERS, later);
      expect(dropped.map((d) => d.table)).toContain('logs');
      for (const replica of replicas) {
        const [row] = await replica.query<{ n: string }>(`SELECT count() AS n FROM ${database}.logs_local`);
        expect(Number(row.n)).toBe(0);
      }
    } finally {
      await entry.close();
    }
  }, 60_000);
});
