import { spawn } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ClickHouse } from '@distlog/collector/storage';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '@distlog/collector/config';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  testClickHouseUrl,
} from '@distlog/collector/testing';
import { enforceRetention } from '@distlog/collector/storage';
import type { CollectorProcess } from '../support/collector-process';
import {
  DISTLOG_BIN,
  startCollectorProcess,
  collectorWithDatabase,
  stopCollectorAndDatabase,
} from '../support/collector-process';
import { otlpJson, postJson } from '../support/otlp-json';
import { temporaryDir } from '../support/temp-dir';

let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_routing'));
});

afterAll(() => stopCollectorAndDatabase(collector, ch));

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DISTLOG_BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function tierOf(body: string): Promise<string[]> {
  const rows = await ch.query<{ t: string }>(
    `SELECT _table AS t FROM ${ch.database}.all_logs WHERE Body = '${body}'`,
  );
  return rows.map((r) => r.t).sort();
}

describe('collector routing with the shipped default configuration', () => {
  it('stores usage/performance in longterm (request scopes in logs), DEBUG/TRACE in debug, the rest in logs', async () => {
    const tag = randomUUID().slice(0, 8);
    const res = await postJson(
      collector.httpPort,
      otlpJson('shop', [
        { body: `${tag}-usage`, eventName: 'usage.checkout' },
        { body: `${tag}-perf`, attributes: { 'distlog.kind': 'performance' } },
        { body: `${tag}-scope`, eventName: 'distlog.scope.end', attributes: { 'scope.name': 'charge card' } },
        // A scope inside a request, which inherited the request's http.method (scopedHandler): performance data.
        {
          body: `${tag}-inner-scope`,
          eventName: 'distlog.scope.end',
          attributes: { 'scope.name': 'charge card', 'http.method': 'POST' },
        },
        // A request's scope (HTTP capture, another SDK's server span): with the request's records.
        {
          body: `${tag}-request`,
          eventName: 'distlog.scope.end',
          attributes: { 'scope.name': 'GET /orders/:id', 'http.method': 'GET', 'http.status_code': '200' },
        },
        {
          body: `${tag}-request-semconv`,
          eventName: 'distlog.scope.end',
          attributes: {
            'scope.name': 'GET /orders/{id}',
            'http.request.method': 'GET',
            'http.response.status_code': '200',
          },
        },
        // A gRPC call's scope (the SDK's gRPC capture, another SDK's RPC span): likewise.
        {
          body: `${tag}-rpc`,
          eventName: 'distlog.scope.end',
          attributes: {
            'scope.name': 'shop.Orders/Place',
            'rpc.system': 'grpc',
            'rpc.grpc.status_code': '0',
          },
        },
        // Another SDK's database client span (per query): with the other records too.
        {
          body: `${tag}-db-span`,
          eventName: 'distlog.scope.end',
          attributes: { 'scope.name': 'SELECT orders', 'span.kind': 'client', 'db.system': 'postgresql' },
        },
        { body: `${tag}-debug`, severityNumber: 5 },
        { body: `${tag}-trace`, severityNumber: 1 },
        { body: `${tag}-info`, severityNumber: 9 },
        { body: `${tag}-error`, severityNumber: 17 },
      ]),
    );
    expect(res.status).toBe(200);
    expect(await tierOf(`${tag}-usage`)).toEqual(['longterm']);
    expect(await tierOf(`${tag}-perf`)).toEqual(['longterm']);
    expect(await tierOf(`${tag}-scope`)).toEqual(['longterm']);
    expect(await tierOf(`${tag}-inner-scope`)).toEqual(['longterm']);
    expect(await tierOf(`${tag}-request`)).toEqual(['logs']);
    expect(await tierOf(`${tag}-request-semconv`)).toEqual(['logs']);
    expect(await tierOf(`${tag}-rpc`)).toEqual(['logs']);
    expect(await tierOf(`${tag}-db-span`)).toEqual(['logs']);
    expect(await tierOf(`${tag}-debug`)).toEqual(['debug']);
    expect(await tierOf(`${tag}-trace`)).toEqual(['debug']);
    expect(await tierOf(`${tag}-info`)).toEqual(['logs']);
    expect(await tierOf(`${tag}-error`)).toEqual(['logs']);

    const metrics = await (await fetch(`http://127.0.0.1:${collector.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^distlog_records_received_total\{transport="http"\} \d+$/m);
    expect(metrics).toMatch(/^distlog_records_routed_total\{rule="debug-and-trace"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^distlog_rows_inserted_total\{table="longterm"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^distlog_insert_duration_seconds_count [1-9]\d*$/m);
    expect(metrics).toMatch(/^distlog_spool_bytes 0$/m);
    expect((await fetch(`http://127.0.0.1:${collector.httpPort}/readyz`)).status).toBe(200);
  });

  it('indexes traces across tiers and services (trace_index)', async () => {
    const traceId = randomUUID().replace(/-/g, '');
    await postJson(
      collector.httpPort,
      otlpJson('gateway', [{ body: 'a', traceId, spanId: '1111111111111111' }]),
    );
    await postJson(
      collector.httpPort,
      otlpJson('orders', [
        { body: 'b', traceId, spanId: '2222222222222222', severityNumber: 5 },
        { body: 'c', traceId, spanId: '2222222222222222', eventName: 'distlog.scope.end' },
      ]),
    );
    const index = await ch.query<{ Tier: string; ServiceName: string; Records: string }>(
      `SELECT Tier, ServiceName, sum(Records) AS Records FROM ${ch.database}.trace_index
       WHERE TraceId = '${traceId}' GROUP BY Tier, ServiceName ORDER BY Tier, ServiceName`,
    );
    expect(index).toEqual([
      { Tier: 'debug', ServiceName: 'orders', Records: '1' },
      { Tier: 'logs', ServiceName: 'gateway', Records: '1' },
      { Tier: 'longterm', ServiceName: 'orders', Records: '1' },
    ]);
  });

  it('drops whole partitions past each tier’s retention, and `schema status` shows the tiers', async () => {
    const tag = randomUUID().slice(0, 8);
    const daysAgo = (d: number) => String(BigInt(Date.now() - d * 86_400_000) * 1_000_000n);
    await postJson(
      collector.httpPort,
      otlpJson('old', [
        { body: `${tag}-debug-10d`, severityNumber: 5, timeUnixNano: daysAgo(10) },
        { body: `${tag}-logs-10d`, timeUnixNano: daysAgo(10) },
        { body: `${tag}-logs-40d`, timeUnixNano: daysAgo(40) },
        { body: `${tag}-debug-now`, severityNumber: 5 },
      ]),
    );
    const tiers = loadConfigFile(DEFAULT_CONFIG_FILE).tiers;
    const dropped = await enforceRetention(ch, tiers);
    expect(dropped.map((d) => d.table)).toEqual(expect.arrayContaining(['debug', 'logs']));
    expect(await tierOf(`${tag}-debug-10d`)).toEqual([]);
    expect(await tierOf(`${tag}-logs-40d`)).toEqual([]);
    expect(await tierOf(`${tag}-logs-10d`)).toEqual(['logs']);
    expect(await tierOf(`${tag}-debug-now`)).toEqual(['debug']);

    const status = await run(['schema', 'status', '--json', '--database', ch.database], {
      CLICKHOUSE_URL: testClickHouseUrl(),
    });
    expect(status.code).toBe(0);
    const byTier = Object.fromEntries(
      status.stdout
        .trim()
        .split('\n')
        .map((l) => [JSON.parse(l).tier, JSON.parse(l)]),
    );
    expect(Object.keys(byTier)).toEqual(['logs', 'debug', 'longterm']);
    expect(byTier.debug).toMatchObject({ table: 'debug', retentionDays: 3 });
    expect(byTier.logs.rows).toBeGreaterThan(0);
    expect(byTier.logs.oldestPartition).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const table = await run(['schema', 'status', '--database', ch.database], {
      CLICKHOUSE_URL: testClickHouseUrl(),
    });
    expect(table.stdout).toMatch(/^tier +table +retention +rows +size +oldest partition +newest partition$/m);
    expect(table.stdout).toMatch(new RegExp(`^longterm +${ch.database}\\.longterm +400 d +\\d+ `, 'm'));
  });
});

describe('configuration files', () => {
  it('`check-config` accepts the shipped default and names each problem of a broken file', async () => {
    const ok = await run(['collector', 'check-config', DEFAULT_CONFIG_FILE]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('ok — 3 tiers (logs, debug, longterm), 7 rules, 0 destinations');
    const dir = temporaryDir('distlog-config-');
    const broken = path.join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      'tiers:\n  - { name: logs, retentionDays: -1 }\nrules:\n  - { name: x, store: nowhere }\n',
    );
    const bad = await run(['collector', 'check-config', broken]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${broken}: 2 problems:`);
    expect(bad.stderr).toContain('tiers[0].retentionDays: expected a whole number ≥ 1, got number -1');
    expect(bad.stderr).toContain('rules[0].store: unknown tier "nowhere" (tiers: logs)');
  });

  it('reloads rules and metrics on SIGHUP without losing records, and keeps the old ones when the new file is broken', async () => {
    const dir = temporaryDir('distlog-reload-');
    const file = path.join(dir, 'collector.yaml');
    const base = readFileSync(DEFAULT_CONFIG_FILE, 'utf8');
    writeFileSync(file, base);
    const db = await createTestDatabase('e2e_reload');
    const c = await startCollectorProcess(testClickHouseUrl(), db.database, { config: file });
    try {
      const tag = randomUUID().slice(0, 8);
      let sent = 0;
      let stop = false;
      // A steady stream while the configuration changes under it.
      const stream = (async () => {
        while (!stop) {
          const res = await postJson(c.httpPort, otlpJson('steady', [{ body: `${tag}-steady-${sent}` }]));
          expect(res.status).toBe(200);
          sent++;
        }
      })();
      await new Promise((r) => setTimeout(r, 200));
      writeFileSync(
        file,
        base
          .replace(
            'rules:\n',
            'rules:\n  - name: mute-noisy\n    match: { service: noisy }\n    drop: true\n',
          )
          .replace(
            'metrics:\n',
            'metrics:\n  - { name: noisy_records, match: { service: noisy }, kind: count, retention: 30 }\n',
          ),
      );
      c.child.kill('SIGHUP');
      await eventually(async () => c.stderr().includes('configuration reloaded'), 10_000);
      await postJson(c.httpPort, otlpJson('noisy', [{ body: `${tag}-noisy` }]));
      writeFileSync(file, 'tiers: nonsense\n');
      c.child.kill('SIGHUP');
      await eventually(async () => c.stderr().includes('reload failed'), 10_000);
      await postJson(c.httpPort, otlpJson('noisy', [{ body: `${tag}-noisy-after-bad-reload` }]));
      await new Promise((r) => setTimeout(r, 200));
      stop = true;
      await stream;
      const stored = await db.query<{ n: string }>(
        `SELECT count() AS n FROM ${db.database}.all_logs WHERE Body LIKE '${tag}-steady-%'`,
      );
      expect(Number(stored[0].n)).toBe(sent);
      expect(await db.query(`SELECT 1 FROM ${db.database}.all_logs WHERE Body LIKE '${tag}-noisy%'`)).toEqual(
        [],
      );
      expect(c.stderr()).toContain('tiers: expected a list, got "nonsense"');
      // Metrics: the one the reload added counted both noisy records (dropped by the rule, counted
      // before the drop; the broken file changed nothing); the shipped `records` counted each
      // steady record once, across the reloads.
      await c.stop();
      const metrics = await db.query<{ m: string; s: string; n: string }>(
        `SELECT Metric AS m, LabelValues[1] AS s, sum(Count) AS n FROM ${db.database}.metric_minutes
         WHERE (Metric = 'noisy_records') OR (Metric = 'records' AND LabelValues[1] IN ('steady', 'noisy'))
         GROUP BY m, s ORDER BY m, s`,
      );
      expect(metrics).toEqual([
        { m: 'noisy_records', s: '', n: '2' },
        { m: 'records', s: 'noisy', n: '2' },
        { m: 'records', s: 'steady', n: String(sent) },
      ]);
    } finally {
      await c.stop();
      await dropTestDatabase(db);
    }
  });
});
