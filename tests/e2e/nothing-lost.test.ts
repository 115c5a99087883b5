import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClickHouse, LocalClickHouse, freePort } from '@distlog/collector/storage';
import { eventually } from '@distlog/collector/testing';
import { startCollectorProcess } from '../support/collector-process';
import { otlpJson } from '../support/otlp-json';
import { temporaryDir } from '../support/temp-dir';

/**
 * "Nothing lost": this file runs its own ClickHouse server so it can stop and start
 * it under a stream of records, and kills the collector with SIGKILL.
 */
let server: LocalClickHouse;
let serverDir: string;
let ports: { httpPort: number; tcpPort: number };
let ch: ClickHouse;
const database = 'distlog_nothing_lost';

beforeAll(async () => {
  serverDir = mkdtempSync(path.join(os.tmpdir(), 'distlog-lossless-ch-'));
  ports = { httpPort: await freePort(), tcpPort: await freePort() };
  server = await LocalClickHouse.start({ dir: serverDir, ...ports });
  ch = await ClickHouse.connect({ url: server.url, database });
}, 60_000);

afterAll(async () => {
  await ch?.close();
  await server?.stop();
  rmSync(serverDir, { recursive: true, force: true });
});

/** An OTLP/HTTP client as the SDKs behave: a batch is retried until acknowledged. */
async function sendBatch(
  httpPort: () => number,
  prefix: string,
  batch: number,
  size: number,
): Promise<{ attempts: number }> {
  const body = otlpJson(
    'lossless',
    Array.from({ length: size }, (_, i) => ({ body: `${prefix}-${batch}-${i}` })),
  );
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort()}/v1/logs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.text();
      if (res.status === 200) return { attempts: attempt };
    } catch {
      // collector down or connection cut: retry like an OTLP exporter
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function counts(prefix: string): Promise<{ rows: number; distinct: number }> {
  const [r] = await ch.query<{ rows: string; distinct: string }>(
    `SELECT count() AS rows, uniqExact(Body) AS distinct FROM ${database}.all_logs WHERE Body LIKE '${prefix}-%'`,
  );
  return { rows: Number(r.rows), distinct: Number(r.distinct) };
}

async function spoolBatches(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(/^distlog_spool_batches (\d+)$/m.exec(text)![1]);
}

describe('nothing lost', () => {
  it('ClickHouse stopped in the middle of a stream and started again: exactly the N records afterwards', async () => {
    const collector = await startCollectorProcess(server.url, database);
    try {
      const batches = 30;
      const size = 100;
      let retried = 0;
      for (let b = 0; b < batches; b++) {
        if (b === 10) await server.stop();
        if (b === 20) server = await LocalClickHouse.start({ dir: serverDir, ...ports });
        retried += (await sendBatch(() => collector.httpPort, 'stream', b, size)).attempts - 1;
      }
      // Every batch was acknowledged; the ones sent while ClickHouse was away came back from the spool.
      const drained = await eventually(async () => (await spoolBatches(collector.httpPort)) === 0, 30_000);
      expect(drained).toBe(true);
      const { rows, distinct } = await counts('stream');
      // Acknowledged while ClickHouse was down means spooled, not refused: no client had to retry.
      console.log(
        `stream: ${batches * size} sent, ${rows} stored, ${distinct} distinct, ${rows - distinct} duplicates, ${retried} client retries`,
      );
      expect(retried).toBe(0);
      expect(distinct).toBe(batches * size);
      expect(rows).toBe(batches * size);
    } finally {
      await collector.stop();
    }
  });

  it('collector killed with SIGKILL while batches wait in its spool: every acknowledged record arrives after a restart', async () => {
    let collector = await startCollectorProcess(server.url, database);
    const { home, grpcPort, httpPort } = collector;
    try {
      for (let b = 0; b < 5; b++) await sendBatch(() => collector.httpPort, 'killed', b, 100);
      await server.stop();
      for (let b = 5; b < 15; b++) await sendBatch(() => collector.httpPort, 'killed', b, 100);
      expect(await spoolBatches(collector.httpPort)).toBeGreaterThan(0);
      await collector.stop('SIGKILL');
      server = await LocalClickHouse.start({ dir: serverDir, ...ports });
      collector = await startCollectorProcess(server.url, database, { home, grpcPort, httpPort });
      const drained = await eventually(async () => (await spoolBatches(collector.httpPort)) === 0, 30_000);
      expect(drained).toBe(true);
      const { rows, distinct } = await counts('killed');
      console.log(`killed: 1500 acknowledged, ${rows} stored, ${rows - distinct} duplicates`);
      expect(distinct).toBe(1500);
      expect(rows).toBe(1500);
    } finally {
      await collector.stop();
    }
  });

  it('a full spool refuses with a retryable status instead of dropping', async () => {
    const collector = await startCollectorProcess(server.url, database, {
      env: {},
      config: await smallSpoolConfig(),
    });
    try {
      await server.stop();
      let status = 0;
      let retryAfter: string | null = null;
      for (let b = 0; b < 50 && status !== 503; b++) {
        const res = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/logs`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: otlpJson(
            'lossless',
            Array.from({ length: 200 }, (_, i) => ({ body: `full-${b}-${i}-${'x'.repeat(200)}` })),
          ),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        const text = await res.text();
        if (status === 503) expect(JSON.parse(text).message).toContain("the collector's spool is full");
      }
      expect({ status, log: status === 503 ? '' : collector.stderr().slice(-3000) }).toEqual({
        status: 503,
        log: '',
      });
      expect(Number(retryAfter)).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${collector.httpPort}/readyz`)).status).toBe(503);
    } finally {
      server = await LocalClickHouse.start({ dir: serverDir, ...ports });
      await collector.stop();
    }
  });
});

async function smallSpoolConfig(): Promise<string> {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { DEFAULT_CONFIG_FILE } = await import('@distlog/collector');
  const file = path.join(temporaryDir('distlog-spool-cfg-'), 'collector.yaml');
  writeFileSync(
    file,
    readFileSync(DEFAULT_CONFIG_FILE, 'utf8').replace('maxBytes: 1GiB', 'maxBytes: 200KiB'),
  );
  return file;
}
