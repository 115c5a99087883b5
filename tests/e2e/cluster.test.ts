import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ClickHouse, enforceRetention, tierStatus } from '@distlog/collector/storage';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '@distlog/collector/config';
import { buildApp } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import { distlogSchemaApply, startCollectorProcess } from '../support/collector-process';
import type { LocalCluster } from '../support/cluster';
import { startLocalCluster } from '../support/cluster';
import { expandPanelSql, loadDashboards } from '../support/grafana';
import { otlpJson, postJson } from '../support/otlp-json';

/**
 * Cluster mode on a real two-shard cluster (two ClickHouse servers and ZooKeeper,
 * started here): `distlog schema apply --cluster` creates `_local` tables on both
 * shards and Distributed tables over them; the collector writes through the
 * Distributed tables; search, trace lookup, histogram and a Grafana panel read
 * every shard; retention drops partitions on every shard.
 */
const database = `distlog_cluster_${randomBytes(4).toString('hex')}`;
const TRACES = 6;
const PER_TRACE = 25;
/** The tiers of the shipped configuration (logs, debug, longterm), which `distlog schema apply` uses. */
const TIERS = loadConfigFile(DEFAULT_CONFIG_FILE).tiers;

let cluster: LocalCluster;
let collector: CollectorProcess | undefined;
let entry: ClickHouse;
let shards: ClickHouse[] = [];
let app: FastifyInstance | undefined;
let base: string;
let traceIds: string[];

beforeAll(async () => {
  cluster = await startLocalCluster(2);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await collector?.stop();
  for (const ch of [entry, ...shards]) await ch?.close();
  await cluster?.stop();
}, 60_000);

/** `distlog schema apply --cluster` through one of the shards, as a real process. */
function applyOnCluster(shard: number) {
  return distlogSchemaApply(cluster.shards[shard].url, database, '--cluster', cluster.name);
}

async function localRows(ch: ClickHouse, table: string): Promise<number> {
  const [r] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ch.database}.${table}`);
  return Number(r.n);
}

// Clusters run on clickhouse-server processes this file starts (chDB is embedded and has
// no network server), so the pass against the embedded store skips what the server pass
// already proved.
const onServers = process.env.DISTLOG_TEST_CLICKHOUSE === 'chdb' ? describe.skip : describe;

onServers('ClickHouse cluster mode', () => {
  it('`distlog schema apply --cluster` creates local tables on every shard and Distributed tables over them', async () => {
    const { stdout, stderr } = await applyOnCluster(0);
    const said = stdout + stderr;
    expect(said).toContain(`cluster ${cluster.name} (2 shards`);
    expect(said).toContain('applied 0001_tier_table to logs on cluster distlog_shards');

    entry = await ClickHouse.connect({ url: cluster.shards[0].url, database, cluster: cluster.name });
    shards = await Promise.all(cluster.shards.map((s) => ClickHouse.connect({ url: s.url, database })));
    for (const shard of shards) {
      const tables = await shard.query<{ name: string; engine: string }>(
        `SELECT name, engine FROM system.tables WHERE database = '${database}' ORDER BY name`,
      );
      const engines = Object.fromEntries(tables.map((t) => [t.name, t.engine]));
      for (const tier of TIERS) {
        expect(engines[`${tier.table}_local`]).toBe('MergeTree');
        expect(engines[tier.table]).toBe('Distributed');
      }
      expect(engines).toMatchObject({
        trace_index_local: 'MergeTree',
        trace_index: 'Distributed',
        volume_by_minute_local: 'SummingMergeTree',
        volume_by_minute: 'Distributed',
        all_logs: 'Merge',
      });
    }

    // Applying again has nothing to do: no DDL goes round the cluster.
    const again = await applyOnCluster(0);
    expect(again.stdout + again.stderr).toContain('schema is up to date');
  }, 120_000);

  it('an unknown cluster name is refused with the clusters the server has', async () => {
    await expect(
      ClickHouse.connect({ url: cluster.shards[0].url, database, cluster: 'nope' }),
    ).rejects.toThrow(/cluster "nope" is not defined .* \(it has: .*distlog_shards/);
  });

  it('replicated tables on a cluster whose servers lack the {shard}/{replica} macros are refused before any DDL', async () => {
    await expect(
      ClickHouse.connect({ url: cluster.shards[0].url, database, cluster: cluster.name, replicated: true }),
    ).rejects.toThrow(
      /replicated tables need the macros \{shard\} and \{replica\} on every server of cluster distlog_shards .*found 0 of 4/,
    );
  });

  it('the collector writes through the Distributed tables: records land on both shards, acknowledged = stored', async () => {
    collector = await startCollectorProcess(cluster.shards[1].url, database, {
      env: { CLICKHOUSE_CLUSTER: cluster.name },
    });
    traceIds = Array.from({ length: TRACES }, () => randomBytes(16).toString('hex'));
    for (const [t, traceId] of traceIds.entries()) {
      const records = Array.from({ length: PER_TRACE }, (_, i) => ({
        body: `cluster record ${t}/${i}`,
        traceId,
        spanId: randomBytes(8).toString('hex'),
        severityNumber: i % 5 === 0 ? 17 : 9,
      }));
      const res = await postJson(collector.httpPort, otlpJson(`svc-${t % 2}`, records));
      expect(res.status).toBe(200);
    }
    // Inserts are synchronous through the Distributed table: no waiting needed.
    const perShard = await Promise.all(shards.map((s) => localRows(s, 'logs_local')));
    expect(perShard.every((n) => n > 0)).toBe(true);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(TRACES * PER_TRACE);
    expect(await localRows(entry, 'logs')).toBe(TRACES * PER_TRACE);
  }, 60_000);

  it('search, trace lookup and histogram through the query API return the records of every shard', async () => {
    app = await buildApp({ ch: entry, sqlMaxSeconds: 5 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const get = async (url: string) => {
      const res = await fetch(base + url);
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };

    const search = await get(`/api/search?text=${encodeURIComponent('cluster record')}&limit=500`);
    expect((search.records as unknown[]).length).toBe(TRACES * PER_TRACE);

    // Every trace's records are spread over both shards; the lookup finds them all.
    const spread = await shards[0].query<{ n: string }>(
      `SELECT uniqExact(TraceId) AS n FROM ${database}.logs_local`,
    );
    expect(Number(spread[0].n)).toBeGreaterThan(0);
    for (const traceId of traceIds) {
      const trace = await get(`/api/trace/${traceId}`);
      expect((trace.records as unknown[]).length).toBe(PER_TRACE);
    }

    const histogram = await get('/api/histogram?since=1h');
    const buckets = histogram.buckets as Array<{ count: number }>;
    expect(buckets.reduce((a, b) => a + b.count, 0)).toBe(TRACES * PER_TRACE);
  }, 60_000);

  it('a Grafana panel query reads every shard through the Distributed tables', async () => {
    const overview = loadDashboards().find((d) => d.uid === 'distlog-overview')!;
    const volume = overview.panels.find((p) => p.title === 'Volume by service')!.targets[0].rawSql;
    const rows = await entry.query<{ ServiceName: string; records: string }>(
      expandPanelSql(volume, database, ['svc-0', 'svc-1']),
    );
    expect(rows.reduce((a, r) => a + Number(r.records), 0)).toBe(TRACES * PER_TRACE);
    // Newest errors (50 at most): the 30 errors, from every trace, so from both shards.
    const errors = overview.panels.find((p) => p.title === 'Newest errors')!.targets[0].rawSql;
    const errorRows = await entry.query<{ TraceId: string }>(
      expandPanelSql(errors, database, ['svc-0', 'svc-1']),
    );
    expect(errorRows).toHaveLength(TRACES * (PER_TRACE / 5));
    expect(new Set(errorRows.map((r) => r.TraceId))).toEqual(new Set(traceIds));
  });

  it('declared metrics go through the Distributed tables too: the rollups of every shard sum to the records', async () => {
    // SIGTERM writes the rollups the collector holds (else every 10 s).
    await collector!.stop();
    const total = TRACES * PER_TRACE;
    for (const table of ['metric_minutes', 'metric_hours', 'metric_days']) {
      const [r] = await entry.query<{ n: string }>(
        `SELECT sum(Count) AS n FROM ${database}.${table} WHERE Metric = 'records'`,
      );
      expect({ table, n: Number(r.n) }).toEqual({ table, n: total });
    }
    const res = await fetch(`${base}/api/metrics/records?since=1h&by=severity`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { series: Array<{ labels: Record<string, string>; total: number }> };
    expect(Object.fromEntries(body.series.map((s) => [s.labels.severity, s.total]))).toEqual({
      INFO: total - total / 5,
      ERROR: total / 5,
    });
  }, 60_000);

  it('status sums every shard, and retention drops the old partitions on every shard', async () => {
    const status = await tierStatus(entry, TIERS);
    expect(status.find((s) => s.tier === 'logs')!.rows).toBe(TRACES * PER_TRACE);

    const logs = TIERS.find((t) => t.name === 'logs')!;
    const later = new Date(Date.now() + (logs.retentionDays + 2) * 86_400_000);
    const dropped = await enforceRetention(entry, TIERS, later);
    expect(dropped.map((d) => d.table)).toContain('logs');
    for (const shard of shards) expect(await localRows(shard, 'logs_local')).toBe(0);
    // The longest tier's index outlives the dropped tier.
    expect(await localRows(entry, 'trace_index')).toBeGreaterThan(0);
    // Minute rollups go after 15 days on every shard; the day rollups stay for the metric's retention.
    for (const shard of shards) expect(await localRows(shard, 'metric_minutes_local')).toBe(0);
    expect(await localRows(entry, 'metric_days')).toBeGreaterThan(0);
  }, 60_000);
});
