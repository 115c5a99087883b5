import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ClickHouse } from '@distlog/collector/storage';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  testClickHouseUrl,
} from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { DISTLOG_BIN, distlogSchemaApply, startCollectorProcess } from '../support/collector-process';
import type { LocalCluster } from '../support/cluster';
import { startLocalCluster } from '../support/cluster';
import { otlpJson, sendUntilAcknowledged } from '../support/otlp-json';
import { temporaryDir } from '../support/temp-dir';

/**
 * Beyond one collector, as a team runs it: three collectors with their own homes (as on
 * three hosts) against one ClickHouse — and against a two-shard cluster — with senders
 * spreading their requests over them round robin and moving on to the next one when a
 * request fails, as a load balancer would. One collector is SIGKILLed in the middle and
 * started again. Two query servers (`distlog ui`) talk to different collectors.
 *
 * Every acknowledged record is stored exactly once; a level rule set through either
 * query server reaches the apps connected to every collector; a UI session made on one
 * query server works on the other. Nothing of this depends on which process holds what.
 */
jest.setTimeout(180_000);
const ADMIN_TOKEN = 'scale-out-admin-token-0123456789';
const SENDERS = 3;
const BATCH = 50;

interface Stack {
  ch: ClickHouse;
  collectors: CollectorProcess[];
  homes: string[];
  uis: Array<{ child: ChildProcess; url: string }>;
  apps: ChildProcess[];
  env: Record<string, string>;
  clickhouseUrl: string;
}

const configDir = temporaryDir('distlog-scale-out-');
const configFile = path.join(configDir, 'distlog.yaml');
writeFileSync(
  configFile,
  `auth:
  users:
    - { name: ops, tokenEnv: SCALE_OUT_ADMIN_TOKEN, role: admin }
batch: { maxDelay: 50ms }
`,
);

async function startUi(
  clickhouseUrl: string,
  database: string,
  collector: CollectorProcess,
  env: Record<string, string>,
) {
  const child = spawn(
    process.execPath,
    [DISTLOG_BIN, 'ui', '--clickhouse-url', clickhouseUrl, '--database', database, '--config', configFile],
    {
      env: {
        ...process.env,
        ...env,
        DISTLOG_UI_PORT: '0',
        DISTLOG_COLLECTOR_URL: `http://127.0.0.1:${collector.httpPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`distlog ui exited with ${code}: ${stderr}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; uiPort?: number };
        if (msg.event === 'listening') resolve(msg.uiPort!);
      } catch {
        // not JSON
      }
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** An app (the SDK, exporting over OTLP/HTTP) connected to one collector; its `cart` logger's level as it changes. */
async function startApp(collector: CollectorProcess, service: string) {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../dist/fixtures/level-watch-app.js')], {
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.httpPort}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen: Array<{ level: string; at: number }> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => seen.push(JSON.parse(line)));
  return { child, seen };
}

/**
 * A sender: numbered, dated batches, each to the next collector in turn; a request that
 * fails (refused, reset, 503) goes to the next one, the same bytes, until one answers 200.
 */
function startSender(id: number, tag: string, ports: () => number[]) {
  let stopping = false;
  const report = { acked: 0, retries: 0 };
  let turn = id;
  const run = (async () => {
    for (let b = 0; !stopping; b++) {
      const now = BigInt(Date.now()) * 1_000_000n;
      const body = otlpJson(
        'scale-out',
        Array.from({ length: BATCH }, (_, i) => ({
          body: `${tag}-${id}-${b}-${i}`,
          timeUnixNano: String(now + BigInt(i)),
        })),
      );
      // A request that fails goes to the next collector.
      await sendUntilAcknowledged(
        () => {
          const all = ports();
          return all[turn++ % all.length];
        },
        body,
        { timeoutMs: 10_000, pauseMs: 50, onRetry: () => report.retries++ },
      );
      report.acked += BATCH;
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await run;
      return report;
    },
  };
}

async function startStack(
  clickhouseUrl: string,
  ch: ClickHouse,
  env: Record<string, string>,
): Promise<Stack> {
  const stack: Stack = { ch, collectors: [], homes: [], uis: [], apps: [], env, clickhouseUrl };
  for (let i = 0; i < 3; i++) {
    const home = temporaryDir(`distlog-scale-out-home${i}-`);
    stack.homes.push(home);
    stack.collectors.push(
      await startCollectorProcess(clickhouseUrl, ch.database, { home, config: configFile, env }),
    );
  }
  stack.uis.push(await startUi(clickhouseUrl, ch.database, stack.collectors[0], env));
  stack.uis.push(await startUi(clickhouseUrl, ch.database, stack.collectors[1], env));
  return stack;
}

async function stopStack(stack: Partial<Stack>): Promise<void> {
  for (const child of [...(stack.apps ?? []), ...(stack.uis ?? []).map((u) => u.child)])
    child.kill('SIGTERM');
  await Promise.all((stack.collectors ?? []).map((c) => c.stop()));
}

/** What the test checks on one deployment (one ClickHouse, or the cluster). */
async function scaleOut(stack: Stack, label: string): Promise<void> {
  const tag = `so${randomBytes(3).toString('hex')}`;
  const service = `scale-${tag}`;
  const apps = await Promise.all(stack.collectors.map((c) => startApp(c, service)));
  stack.apps.push(...apps.map((a) => a.child));
  // Each app has subscribed (its cart logger shows the configured level).
  expect(await eventually(async () => apps.every((a) => a.seen.length > 0), 20_000)).toBe(true);

  // A UI session made on one query server works on the other.
  const [uiA, uiB] = stack.uis;
  const login = await fetch(`${uiA.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: ADMIN_TOKEN }),
  });
  expect(login.status).toBe(200);
  const cookie = /distlog_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
  const me = await fetch(`${uiB.url}/api/me`, { headers: { cookie } });
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({ name: 'ops', role: 'admin' });

  // Senders over all three collectors; one collector killed and started again meanwhile.
  const ports = stack.collectors.map((c) => c.httpPort);
  const senders = Array.from({ length: SENDERS }, (_, i) => startSender(i, tag, () => ports));
  await new Promise((r) => setTimeout(r, 2500));
  const victim = stack.collectors[2];
  await victim.stop('SIGKILL');
  // A rule set through the second query server (talking to the second collector) with the
  // session made on the first, while one collector is down: the apps on the other two get it.
  const setAt = Date.now();
  const set = await fetch(`${uiB.url}/api/levels`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ service, logger: 'cart', level: 'debug', for: '10m' }),
  });
  expect(set.status).toBe(201);
  await new Promise((r) => setTimeout(r, 1500));
  stack.collectors[2] = await startCollectorProcess(stack.clickhouseUrl, stack.ch.database, {
    home: stack.homes[2],
    grpcPort: victim.grpcPort,
    httpPort: victim.httpPort,
    config: configFile,
    env: stack.env,
  });
  await new Promise((r) => setTimeout(r, 2500));
  const reports = await Promise.all(senders.map((s) => s.stop()));

  // Every app follows the rule: the two that stayed connected within about a second of it
  // being set, the third once its collector was back (the SDK reconnects by itself).
  const debugAt = await eventually(async () => {
    const times = apps.map((a) => a.seen.find((s) => s.level === 'debug')?.at);
    return times.every((t) => t !== undefined) ? (times as number[]) : undefined;
  }, 20_000);
  if (!debugAt) console.log(`levels seen by the apps: ${JSON.stringify(apps.map((a) => a.seen))}`);
  expect(debugAt).toBeDefined();
  const latency = debugAt!.slice(0, 2).map((t) => t - setAt);

  const acked = reports.reduce((n, r) => n + r.acked, 0);
  const retries = reports.reduce((n, r) => n + r.retries, 0);
  const [counts] = await stack.ch.query<{ rows: string; distinct: string }>(
    `SELECT count() AS rows, uniqExact(Body) AS distinct FROM ${stack.ch.database}.all_logs ` +
      `WHERE ServiceName = 'scale-out' AND startsWith(Body, '${tag}-')`,
  );
  console.log(
    `scale-out (${label}): ${acked} acknowledged over 3 collectors (one SIGKILLed and restarted), ` +
      `${counts.distinct} stored, ${Number(counts.rows) - Number(counts.distinct)} duplicated, ` +
      `${retries} requests retried on another collector; rule reached the apps on the two live collectors ` +
      `in ${latency.join(' / ')} ms, the third after its restart`,
  );
  expect(retries).toBeGreaterThan(0); // the kill was felt
  expect(Number(counts.distinct)).toBe(acked); // 0 lost
  expect(Number(counts.rows)).toBe(acked); // 0 duplicated
  // `distlog level list` through either query server lists the apps of every collector.
  for (const ui of stack.uis) {
    const listed = await eventually(async () => {
      const res = await fetch(`${ui.url}/api/levels`, { headers: { cookie } });
      const json = (await res.json()) as { instances: Array<{ service: string; connected: boolean }> };
      const mine = json.instances.filter((i) => i.service === service && i.connected);
      return mine.length === 3 ? mine : undefined;
    }, 20_000);
    expect(listed).toHaveLength(3);
  }
}

describe('three collectors and two query servers on one ClickHouse', () => {
  let stack: Stack | undefined;
  afterAll(async () => {
    if (stack) {
      await stopStack(stack);
      await dropTestDatabase(stack.ch);
    }
  });

  it('stores every record once through a kill, shares rules, processes and sessions', async () => {
    const ch = await createTestDatabase('e2e_scale_out');
    const env = { SCALE_OUT_ADMIN_TOKEN: ADMIN_TOKEN };
    stack = await startStack(testClickHouseUrl(), ch, env);
    await scaleOut(stack, 'one ClickHouse');
  });
});

// Clusters run on clickhouse-server processes this file starts (chDB has no network server).
const onServers = process.env.DISTLOG_TEST_CLICKHOUSE === 'chdb' ? describe.skip : describe;

onServers('three collectors and two query servers on a two-shard cluster', () => {
  let cluster: LocalCluster | undefined;
  let stack: Stack | undefined;
  afterAll(async () => {
    if (stack) await stopStack(stack);
    await stack?.ch.close();
    await cluster?.stop();
  }, 60_000);

  it('stores every record once through a kill, shares rules, processes and sessions', async () => {
    cluster = await startLocalCluster(2);
    const database = `distlog_scale_${randomBytes(4).toString('hex')}`;
    await distlogSchemaApply(cluster.shards[0].url, database, '--cluster', cluster.name);
    const ch = await ClickHouse.connect({ url: cluster.shards[0].url, database, cluster: cluster.name });
    const env = { SCALE_OUT_ADMIN_TOKEN: ADMIN_TOKEN, CLICKHOUSE_CLUSTER: cluster.name };
    // The collectors and query servers enter the cluster through either shard.
    stack = await startStack(cluster.shards[1].url, ch, env);
    await scaleOut(stack, 'two-shard cluster');
  });
});
