// `npm run bench -w @distlog/tests` (and `npm run bench` at the root): what more collectors
// and more shards buy. One and two collector processes against one ClickHouse server, and
// against a two-shard cluster, in one run: records/s, the ratio to one collector on one
// server, and the CPU each part spends per record — the figures that size a deployment
// (docs/scaling.md). BENCH_RECORDS (default 400 000) per row of the table, sent over
// OTLP/gRPC with BENCH_CONCURRENCY (64) requests in flight, spread over the collectors.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClickHouse, LocalClickHouse, freePort } from '@distlog/collector/storage';
import { drive, grpcSender, makeRows, procStats, requests } from '@distlog/collector/bench';
import type { CollectorProcess } from '../support/collector-process';
import { distlogSchemaApply, startCollectorProcess } from '../support/collector-process';
import type { LocalCluster } from '../support/cluster';
import { startLocalCluster } from '../support/cluster';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 400_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

interface Deployment {
  label: string;
  /** The URL each collector enters through (round robin over the servers). */
  urls: string[];
  /** ClickHouse server processes, for their CPU. */
  pids: number[];
  env: Record<string, string>;
  /** Creates the database (schema) and returns a connection that counts rows. */
  prepare(database: string): Promise<ClickHouse>;
}

interface Row {
  ClickHouse: string;
  collectors: number;
  'records/s': string;
  'x 1 collector, 1 server': string;
  'collector CPU µs/record': string;
  'ClickHouse CPU µs/record': string;
  'sender CPU µs/record': string;
}

async function measure(
  deployment: Deployment,
  collectors: number,
): Promise<Omit<Row, 'x 1 collector, 1 server'>> {
  const database = `distlog_scale_bench_${Date.now()}`;
  const ch = await deployment.prepare(database);
  const started: CollectorProcess[] = [];
  try {
    for (let i = 0; i < collectors; i++)
      started.push(
        await startCollectorProcess(deployment.urls[i % deployment.urls.length], database, {
          env: { ...deployment.env, DISTLOG_LOG_LEVEL: 'warn' },
        }),
      );
    const bodies = requests(makeRows(RECORDS));
    const senders = started.map((c) => grpcSender(c.grpcPort));
    let turn = 0;
    const cpu = () => ({
      collectors: started.reduce((n, c) => n + procStats(c.child.pid!).cpuMs, 0),
      clickhouse: deployment.pids.reduce((n, pid) => n + procStats(pid).cpuMs, 0),
      sender: process.cpuUsage(),
    });
    const before = cpu();
    const ms = await drive(bodies, (body) => senders[turn++ % senders.length].send(body), CONCURRENCY);
    const after = cpu();
    for (const s of senders) s.close();
    const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.logs`);
    if (Number(row.n) !== RECORDS)
      throw new Error(`${deployment.label}: ${row.n} of ${RECORDS} records stored`);
    const perRecord = (cpuMs: number) => ((cpuMs * 1000) / RECORDS).toFixed(2);
    const senderMs =
      (after.sender.user + after.sender.system - before.sender.user - before.sender.system) / 1000;
    return {
      ClickHouse: deployment.label,
      collectors,
      'records/s': (RECORDS / (ms / 1000)).toFixed(0),
      'collector CPU µs/record': perRecord(after.collectors - before.collectors),
      'ClickHouse CPU µs/record': perRecord(after.clickhouse - before.clickhouse),
      'sender CPU µs/record': perRecord(senderMs),
    };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    await ch.command(`DROP DATABASE IF EXISTS ${database}${ch.onCluster}`).catch(() => undefined);
    await ch.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-scale-bench-'));
  let server: LocalClickHouse | undefined;
  let cluster: LocalCluster | undefined;
  const rows: Row[] = [];
  try {
    server = await LocalClickHouse.start({
      dir: path.join(dir, 'server'),
      httpPort: await freePort(),
      tcpPort: await freePort(),
    });
    const single: Deployment = {
      label: 'one server',
      urls: [server.url],
      pids: [server.pid!],
      env: {},
      prepare: async (database) => {
        await distlogSchemaApply(server!.url, database);
        return ClickHouse.connect({ url: server!.url, database });
      },
    };
    cluster = await startLocalCluster(2);
    const shards = cluster.shards;
    const sharded: Deployment = {
      label: 'two shards',
      urls: shards.map((s) => s.url),
      pids: shards.map((s) => s.pid!),
      env: { CLICKHOUSE_CLUSTER: cluster.name },
      prepare: async (database) => {
        await distlogSchemaApply(shards[0].url, database, '--cluster', cluster!.name);
        return ClickHouse.connect({ url: shards[0].url, database, cluster: cluster!.name });
      },
    };
    let baseline = 0;
    for (const deployment of [single, sharded])
      for (const collectors of [1, 2]) {
        const {
          ClickHouse: label,
          'records/s': rate,
          collectors: _n,
          ...cpu
        } = await measure(deployment, collectors);
        baseline ||= Number(rate);
        rows.push({
          ClickHouse: label,
          collectors,
          'records/s': rate,
          'x 1 collector, 1 server': (Number(rate) / baseline).toFixed(2),
          ...cpu,
        });
        console.error(`${label}, ${collectors} collector(s): ${rate} records/s`);
      }
  } finally {
    await cluster?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\nscale-out: ${RECORDS} records (~330 B, 5 attributes) per row over OTLP/gRPC, ${CONCURRENCY} requests ` +
      `in flight spread over the collectors; ${os.cpus().length} cores shared by senders, collectors and ClickHouse\n`,
  );
  console.table(rows);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
