import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  testClickHouseUrl,
} from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { startCollectorProcess } from '../support/collector-process';
import { FaultProxy } from '../support/fault-proxy';
import { otlpJson, sendUntilAcknowledged } from '../support/otlp-json';
import { rssMb } from '../support/process-memory';
import { temporaryDir } from '../support/temp-dir';

/**
 * A bad network between a real collector process and ClickHouse: a proxy in between
 * slows every packet, then swallows connections (a silent partition), then resets them
 * (a loud one), then heals. Clients keep sending all along and retry what is refused,
 * as OTLP exporters do. Every acknowledged record must end up stored, the refusals must
 * reach the clients (backpressure), and the collector's memory must stay bounded.
 */
const tag = randomBytes(4).toString('hex');
const CLIENTS = 3;
const BATCH = 100;
/** Memory the collector may grow by under the faults: its queue and spool limits bound it. */
const MAX_GROWTH_MB = 150;

let ch: ClickHouse;
let proxy: FaultProxy;
let collector: CollectorProcess;

beforeAll(async () => {
  ch = await createTestDatabase('e2e_faults');
  const target = new URL(testClickHouseUrl());
  proxy = new FaultProxy(target.hostname, Number(target.port));
  const proxyPort = await proxy.start();
  const dir = temporaryDir('distlog-faults-');
  const config = path.join(dir, 'collector.yaml');
  // Small limits, so that a few seconds of faults reach them.
  writeFileSync(
    config,
    `clickhouse: { requestTimeout: 3s }
tiers: [{ name: logs, retentionDays: 30 }]
batch: { maxRows: 500, maxDelay: 100ms, maxQueuedBatches: 4 }
spool: { maxBytes: 512KiB }
`,
  );
  collector = await startCollectorProcess(`http://127.0.0.1:${proxyPort}`, ch.database, { config });
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await proxy?.stop();
  if (ch) await dropTestDatabase(ch);
});

interface ClientReport {
  acked: string[];
  refused: number;
  failed: number;
}

/** Sends numbered batches until `stop()`, retrying each until it is acknowledged. */
function startClient(id: number): { stop: () => Promise<ClientReport> } {
  let stopping = false;
  const report: ClientReport = { acked: [], refused: 0, failed: 0 };
  const run = (async () => {
    for (let b = 0; !stopping; b++) {
      const bodies = Array.from({ length: BATCH }, (_, i) => `${tag}-${id}-${b}-${i}`);
      const body = otlpJson(
        'faults',
        bodies.map((text) => ({ body: text })),
      );
      await sendUntilAcknowledged(() => collector.httpPort, body, {
        timeoutMs: 20_000,
        pauseMs: 200,
        onRetry: (status) => (status === 503 ? report.refused++ : report.failed++),
      });
      report.acked.push(...bodies);
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

describe('a slow, then partitioned network between the collector and ClickHouse', () => {
  it('loses no acknowledged record, pushes back on the clients, and keeps memory bounded', async () => {
    const pid = collector.child.pid!;
    const baseline = rssMb(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
    const clients = Array.from({ length: CLIENTS }, (_, i) => startClient(i));
    const phase = async (mode: 'pass' | 'slow' | 'blackhole' | 'cut', ms: number) => {
      proxy.set(mode);
      await new Promise((r) => setTimeout(r, ms));
    };
    await phase('pass', 2000);
    await phase('slow', 5000);
    await phase('blackhole', 7000);
    await phase('cut', 4000);
    await phase('pass', 1000);
    const reports = await Promise.all(clients.map((c) => c.stop()));
    const acked = new Set(reports.flatMap((r) => r.acked));

    const counts = await eventually(async () => {
      const [r] = await ch.query<{ total: string; distinct: string }>(
        `SELECT count() AS total, uniqExact(Body) AS distinct FROM ${ch.database}.logs WHERE Body LIKE '${tag}-%'`,
      );
      return Number(r.distinct) >= acked.size ? r : undefined;
    }, 60_000);
    clearInterval(sampler);
    const metrics = await (await fetch(`http://127.0.0.1:${collector.httpPort}/metrics`)).text();
    const refused = reports.reduce((n, r) => n + r.refused, 0);
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    console.log(
      `network faults: ${acked.size} acknowledged, ${counts?.distinct ?? '?'} stored (distinct), ` +
        `${Number(counts?.total ?? 0) - Number(counts?.distinct ?? 0)} duplicates, ${refused} refusals (503), ` +
        `${failed} failed requests, ${proxy.faults} connections cut or swallowed, ` +
        `collector RSS ${baseline.toFixed(0)} → peak ${peak.toFixed(0)} MB`,
    );

    expect(counts).toBeDefined();
    expect(Number(counts!.distinct)).toBe(acked.size);
    // Exactly once: an insert whose answer the proxy cut is checked for, not sent again (BatchId).
    expect(Number(counts!.total)).toBe(Number(counts!.distinct));
    expect(proxy.faults).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(metrics).toMatch(/distlog_batches_spooled_total\{table="logs"\} [1-9]/);
    expect(peak - baseline).toBeLessThan(MAX_GROWTH_MB);
  }, 120_000);
});
