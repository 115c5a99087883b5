// `npm run bench -w @distlog/tests` (after the scale-out bench): live tail, pushed from the
// collectors. A collector and a query server (whose ClickHouse requests are counted by a
// proxy) on one ClickHouse server; a sender posts a record every 20 ms for BENCH_TAIL_SECONDS
// (default 10) while 1, then 20 viewers tail. Prints how long after the collector
// acknowledged a record each viewer had it (p50/p99), and the ClickHouse queries per second
// of the query server and of everything (system.events), beside the goals of issue 16.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ClickHouse, LocalClickHouse, freePort } from '@distlog/collector/storage';
import { createTestDatabase } from '@distlog/collector/testing';
import { buildApp } from '@distlog/query-ui';
import { startCollectorProcess } from '../support/collector-process';
import { CountingProxy } from '../support/counting-proxy';
import { otlpJson } from '../support/otlp-json';

const SECONDS = Number(process.env.BENCH_TAIL_SECONDS ?? 10);
const INTERVAL_MS = 20;

interface Viewer {
  latencies: number[];
  close(): void;
}

function view(base: string, service: string, acked: Map<string, number>): Promise<Viewer> {
  const latencies: number[] = [];
  const controller = new AbortController();
  return new Promise((resolve) => {
    void (async () => {
      const res = await fetch(`${base}/api/tail?service=${service}`, { signal: controller.signal });
      let text = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const now = performance.now();
        text += Buffer.from(chunk).toString('utf8');
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          if (block.startsWith('event: status')) resolve({ latencies, close: () => controller.abort() });
          const data = block.startsWith('data: ') ? block.slice(6) : undefined;
          if (!data) continue;
          const { body } = JSON.parse(data) as { body: string };
          // A record may be pushed before its sender has read the answer: that is 0 ms after it.
          const at = acked.get(body);
          latencies.push(at === undefined ? 0 : Math.max(0, now - at));
        }
      }
    })().catch(() => undefined);
  });
}

async function clickhouseQueries(ch: ClickHouse): Promise<number> {
  const [row] = await ch.query<{ n: string }>(`SELECT value AS n FROM system.events WHERE event = 'Query'`);
  return Number(row?.n ?? 0);
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-tail-bench-'));
  const server = await LocalClickHouse.start({ dir, httpPort: await freePort(), tcpPort: await freePort() });
  process.env.DISTLOG_TEST_CLICKHOUSE_URL = server.url;
  let app: FastifyInstance | undefined;
  const proxy = new CountingProxy(server.url);
  const ch = await createTestDatabase('tail_bench');
  const collector = await startCollectorProcess(server.url, ch.database, {
    env: { DISTLOG_LOG_LEVEL: 'warn' },
  });
  const rows: Array<Record<string, string>> = [];
  try {
    app = await buildApp({
      ch: await ClickHouse.connect({ url: await proxy.start(), database: ch.database }),
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const viewers of [1, 20]) {
      const acked = new Map<string, number>();
      const service = `tail-bench-${viewers}`;
      const views = await Promise.all(Array.from({ length: viewers }, () => view(base, service, acked)));
      const proxyBefore = proxy.requests;
      const allBefore = await clickhouseQueries(ch);
      const started = performance.now();
      let sent = 0;
      const inFlight: Array<Promise<void>> = [];
      // One record every INTERVAL_MS, each request on its own (an answer takes the batching delay).
      while (performance.now() - started < SECONDS * 1000) {
        const body = `record ${sent++}`;
        inFlight.push(
          (async () => {
            const res = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/logs`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: otlpJson(service, [{ body, timeUnixNano: String(BigInt(Date.now()) * 1_000_000n) }]),
            });
            await res.arrayBuffer();
            if (!acked.has(body)) acked.set(body, performance.now());
          })(),
        );
        await new Promise((r) => setTimeout(r, INTERVAL_MS));
      }
      await Promise.all(inFlight);
      await new Promise((r) => setTimeout(r, 1000));
      const seconds = (performance.now() - started) / 1000;
      const allQueries = (await clickhouseQueries(ch)) - allBefore - 1;
      const latencies = views.flatMap((v) => v.latencies);
      const received = Math.min(...views.map((v) => v.latencies.length));
      for (const v of views) v.close();
      rows.push({
        viewers: String(viewers),
        'records sent': String(sent),
        'received by each viewer': `${received} (${((received / sent) * 100).toFixed(1)} %)`,
        'ms after ack p50': pct(latencies, 0.5).toFixed(1),
        'ms after ack p99': pct(latencies, 0.99).toFixed(1),
        'goal p50 ≤ 1000 ms': pct(latencies, 0.5) <= 1000 ? 'met' : 'NOT met',
        'query server → ClickHouse queries/s': ((proxy.requests - proxyBefore) / seconds).toFixed(2),
        'all ClickHouse queries/s': (allQueries / seconds).toFixed(2),
      });
    }
  } finally {
    await app?.close();
    await proxy.stop();
    await collector.stop();
    await ch.command(`DROP DATABASE IF EXISTS ${ch.database}`);
    await ch.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const added =
    Number(rows[1]['query server → ClickHouse queries/s']) -
    Number(rows[0]['query server → ClickHouse queries/s']);
  console.log(
    `\nlive tail: a record every ${INTERVAL_MS} ms for ${SECONDS} s through one collector; ` +
      `"all" counts every query the server ran (the collector's inserts and checks too)\n`,
  );
  console.table(rows);
  console.log(
    `queries/s added by 20 viewers over 1: ${added.toFixed(2)} (goal: none) — ${added <= 0.5 ? 'met' : 'NOT met'}`,
  );
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
