import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import { eventually } from '@distlog/collector/testing';
import { freePort } from '@distlog/collector/storage';
import type { CollectorProcess } from './collector-process';
import { collectorWithDatabase, fastMetricsConfig } from './collector-process';

const START = path.resolve(__dirname, '../../sdk/examples/shop/start.js');

/** Runs the three-service example (gateway → orders → payments) for `requests` checkouts; returns their trace ids. */
export async function runShop(grpcPort: number, requests = 1): Promise<string[]> {
  const env = {
    ...process.env,
    GATEWAY_PORT: String(await freePort()),
    ORDERS_PORT: String(await freePort()),
    PAYMENTS_PORT: String(await freePort()),
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort}`,
    SHOP_REQUESTS: String(requests),
  };
  const child = spawn(process.execPath, [START, '--request'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`shop exited with ${code}: ${stderr}`);
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).traceId as string);
}

/**
 * A test database with a collector process and the records of `requests` checkouts through
 * the three-service example (scope end records included) — the data most end-to-end tests read.
 */
export async function collectorWithShopData(
  prefix: string,
  requests = 5,
): Promise<{ ch: ClickHouse; collector: CollectorProcess; traces: string[] }> {
  const { ch, collector } = await collectorWithDatabase(prefix, { config: fastMetricsConfig() });
  const traces = await runShop(collector.grpcPort, requests);
  // A checkout has 7 scopes, a refused one 5: wait until (nearly) all have ended.
  await eventually(async () => {
    const [r] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE EventName = 'distlog.scope.end'`,
    );
    return Number(r.n) >= requests * 6;
  }, 20_000);
  // …and until the declared metrics have rolled them up, in every table (a flush writes
  // metric_minutes, then metric_hours, then metric_days: the last one a moment later).
  await eventually(async () => {
    const [r] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE EventName = 'distlog.scope.end'`,
    );
    for (const table of ['metric_minutes', 'metric_hours', 'metric_days']) {
      const [m] = await ch.query<{ n: string }>(
        `SELECT sum(Count) AS n FROM ${ch.database}.${table} WHERE Metric = 'scope_duration_ms'`,
      );
      if (Number(m.n) !== Number(r.n)) return false;
    }
    return true;
  }, 20_000);
  return { ch, collector, traces };
}
