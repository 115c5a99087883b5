// `npm run soak` (not part of `npm test`): SOAK_CLIENTS client processes (default 4) send
// OTLP/HTTP batches for SOAK_SECONDS (default 600) while ClickHouse is stopped and started
// and the collector is restarted (SIGTERM and SIGKILL, in turns). At the end it prints the
// records sent, acknowledged, stored, duplicated and lost, the collector's peak memory, and
// the store's memory and disk over the run; it exits non-zero if a record was lost or stored
// twice, or the collector's memory grew. SOAK_STORE=server (default: a private
// clickhouse-server) or embedded (the embedded store, chDB).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { ClickHouse, LocalChdb, LocalClickHouse, freePort } from '@distlog/collector/storage';
import type { CollectorProcess } from '../support/collector-process';
import { startCollectorProcess } from '../support/collector-process';
import { otlpJson, sendUntilAcknowledged } from '../support/otlp-json';
import { rssMb } from '../support/process-memory';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 4);
const BATCH = 100;
const STORE = process.env.SOAK_STORE ?? 'server';

/** A client: sends numbered batches, retrying each until acknowledged, until SIGTERM. */
async function client(): Promise<void> {
  const id = process.env.SOAK_CLIENT_ID!;
  const port = Number(process.env.SOAK_HTTP_PORT);
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  let sent = 0;
  let acked = 0;
  for (let b = 0; !stop; b++) {
    // Dated, as every OTLP exporter dates its records: a request sent again is then the same
    // bytes, and the collectors store it once (request ids).
    const now = BigInt(Date.now()) * 1_000_000n;
    const body = otlpJson(
      'soak',
      Array.from({ length: BATCH }, (_, i) => ({
        body: `soak-${id}-${b}-${i}`,
        timeUnixNano: String(now + BigInt(i)),
      })),
    );
    sent += BATCH;
    // A collector restarting: sent again like an OTLP exporter does.
    await sendUntilAcknowledged(() => port, body, { timeoutMs: 10_000, pauseMs: 200 });
    acked += BATCH;
  }
  process.stdout.write(JSON.stringify({ sent, acked }) + '\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-soak-'));
  const chPorts = { httpPort: await freePort(), tcpPort: await freePort() };
  const storeDir = path.join(dir, 'clickhouse');
  const startStore = (): Promise<LocalClickHouse | LocalChdb> =>
    STORE === 'embedded'
      ? LocalChdb.start({ dir: storeDir, httpPort: chPorts.httpPort })
      : LocalClickHouse.start({ dir: storeDir, ...chPorts });
  let server = await startStore();
  const storeSamples: Array<{ at: number; rss: number; diskMb: number }> = [];
  // Parts come and go while du walks the folder: it may complain and still print the total.
  const diskMb = () => Number(spawnSync('du', ['-sm', storeDir]).stdout.toString().split('\t')[0]) || 0;
  const database = 'distlog_soak';
  const home = path.join(dir, 'home');
  const ports = { grpcPort: await freePort(), httpPort: await freePort() };
  let collector: CollectorProcess = await startCollectorProcess(server.url, database, { home, ...ports });
  let peakRss = 0;
  const started = Date.now();
  const samples: Array<{ at: number; mb: number }> = [];
  const sampler = setInterval(() => {
    const mb = rssMb(collector.child.pid!);
    peakRss = Math.max(peakRss, mb);
    if (mb > 0) samples.push({ at: Date.now() - started, mb });
    const storeMb = server.pid ? rssMb(server.pid) : 0;
    if (storeMb > 0) storeSamples.push({ at: Date.now() - started, rss: storeMb, diskMb: diskMb() });
  }, 2000);

  const clients: ChildProcess[] = Array.from({ length: CLIENTS }, (_, i) =>
    spawn(process.execPath, [__filename], {
      env: {
        ...process.env,
        SOAK_ROLE: 'client',
        SOAK_CLIENT_ID: String(i),
        SOAK_HTTP_PORT: String(ports.httpPort),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const results = clients.map(
    (c) =>
      new Promise<{ sent: number; acked: number }>((resolve) => {
        let out = '';
        c.stdout!.on('data', (d) => (out += d));
        c.on('exit', () => resolve(JSON.parse(out.trim() || '{"sent":0,"acked":0}')));
      }),
  );

  const end = Date.now() + SECONDS * 1000;
  // Readers beside the writers (a query server shares the store): a search every 250 ms.
  const queryTimes: number[] = [];
  let queryErrors = 0;
  const reader = (async () => {
    while (Date.now() < end) {
      const t = performance.now();
      try {
        const res = await fetch(
          `${server.url}/?query=${encodeURIComponent(
            `SELECT Body FROM ${database}.all_logs WHERE ServiceName = 'soak' AND positionCaseInsensitive(Body, 'soak-1-') > 0 ORDER BY Timestamp DESC LIMIT 100 FORMAT JSONEachRow`,
          )}`,
          { signal: AbortSignal.timeout(10_000) },
        );
        await res.arrayBuffer();
        if (res.ok) queryTimes.push(performance.now() - t);
        else queryErrors++;
      } catch {
        queryErrors++; // the store is stopped on purpose every minute
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  let round = 0;
  while (Date.now() < end - 30_000) {
    await new Promise((r) => setTimeout(r, 20_000));
    const step = round++ % 3;
    if (step === 0) {
      console.log(`[${new Date().toISOString()}] stopping ClickHouse for 10 s`);
      await server.stop();
      await new Promise((r) => setTimeout(r, 10_000));
      server = await startStore();
    } else {
      const signal = step === 1 ? 'SIGTERM' : 'SIGKILL';
      console.log(`[${new Date().toISOString()}] restarting the collector (${signal})`);
      await collector.stop(signal);
      collector = await startCollectorProcess(server.url, database, { home, ...ports });
    }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
  await reader;
  for (const c of clients) c.kill('SIGTERM');
  const totals = (await Promise.all(results)).reduce(
    (a, r) => ({ sent: a.sent + r.sent, acked: a.acked + r.acked }),
    { sent: 0, acked: 0 },
  );

  // Wait for the spool to drain, then count.
  const ch = await ClickHouse.connect({ url: server.url, database });
  for (let i = 0; i < 120; i++) {
    const metrics = await (await fetch(`http://127.0.0.1:${ports.httpPort}/metrics`)).text();
    if (/^distlog_spool_batches 0$/m.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const [counts] = await ch.query<{ rows: string; distinct: string }>(
    `SELECT count() AS rows, uniqExact(Body) AS distinct FROM ${database}.all_logs WHERE ServiceName = 'soak'`,
  );
  clearInterval(sampler);
  const stored = Number(counts.distinct);
  console.log('\nsoak result');
  console.table([
    {
      seconds: SECONDS,
      clients: CLIENTS,
      sent: totals.sent,
      acknowledged: totals.acked,
      stored,
      duplicated: Number(counts.rows) - stored,
      lost: Math.max(0, totals.acked - stored),
      'collector peak RSS MB': peakRss.toFixed(0),
    },
  ]);
  // Flat memory: the peak of the last quarter of the run is not far above the first's.
  const quarter = (SECONDS * 1000) / 4;
  const peaks = [0, 1, 2, 3].map((q) =>
    Math.max(0, ...samples.filter((s) => s.at >= q * quarter && s.at < (q + 1) * quarter).map((s) => s.mb)),
  );
  const flat = peaks[3] <= Math.max(peaks[0] * 1.5, peaks[0] + 50);
  console.log(
    `collector RSS peak per quarter of the run: ${peaks.map((p) => p.toFixed(0)).join(' / ')} MB — ` +
      (flat ? 'flat' : 'GROWING'),
  );
  const quarterly = [0, 1, 2, 3].map((q) => {
    const inQuarter = storeSamples.filter((x) => x.at >= q * quarter && x.at < (q + 1) * quarter);
    return {
      rss: Math.max(0, ...inQuarter.map((x) => x.rss)),
      disk: Math.max(0, ...inQuarter.map((x) => x.diskMb)),
    };
  });
  console.log(
    `${STORE === 'embedded' ? 'embedded store' : 'ClickHouse server'} per quarter: RSS peak ` +
      `${quarterly.map((x) => x.rss.toFixed(0)).join(' / ')} MB, disk ${quarterly.map((x) => x.disk).join(' / ')} MB ` +
      `(${stored} records stored)`,
  );
  queryTimes.sort((x, y) => x - y);
  const pct = (p: number) => (queryTimes[Math.floor((queryTimes.length - 1) * p)] ?? 0).toFixed(0);
  console.log(
    `concurrent searches: ${queryTimes.length} answered (p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms), ` +
      `${queryErrors} failed or refused (the store is down 10 s of every minute on purpose)`,
  );
  await ch.close();
  await collector.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  // Lost, duplicated or growing: the soak fails.
  process.exit(totals.acked - stored > 0 || Number(counts.rows) !== stored || !flat ? 1 : 0);
}

void (process.env.SOAK_ROLE === 'client' ? client() : main());
