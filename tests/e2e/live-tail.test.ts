import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ClickHouse, freePort } from '@distlog/collector/storage';
import { eventually, testClickHouseUrl } from '@distlog/collector/testing';
import { buildApp } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import {
  DISTLOG_BIN,
  collectorWithDatabase,
  startCollectorProcess,
  stopCollectorAndDatabase,
} from '../support/collector-process';
import { CountingProxy } from '../support/counting-proxy';
import { launchChromium } from '../support/browser';
import { otlpJson, postJson } from '../support/otlp-json';

/**
 * Live tail pushed from the collectors: two collectors, one query server whose every
 * ClickHouse request is counted. A tail opens with the last seconds' records (one query);
 * then records sent to either collector reach the viewers as they are acknowledged — one
 * dated an hour ago too — and twenty viewers cost ClickHouse no more queries than one.
 */
jest.setTimeout(60_000);
const tag = randomBytes(4).toString('hex');
let ch: ClickHouse;
let a: CollectorProcess;
let b: CollectorProcess;
let proxy: CountingProxy;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  ({ ch, collector: a } = await collectorWithDatabase('e2e_tail'));
  b = await startCollectorProcess(testClickHouseUrl(), ch.database);
  proxy = new CountingProxy(testClickHouseUrl());
  const viaProxy = await ClickHouse.connect({ url: await proxy.start(), database: ch.database });
  app = await buildApp({ ch: viaProxy });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await proxy?.stop();
  await b?.stop();
  await stopCollectorAndDatabase(a, ch);
});

/** A query server of its own on `port` (a test stops it and starts another there). */
async function queryServerOn(port: number): Promise<FastifyInstance> {
  const server = await buildApp({ ch });
  await server.listen({ host: '127.0.0.1', port });
  return server;
}

/** A viewer of /api/tail: the records and the named events it received. */
function viewer(query: string) {
  const records: Array<{ body: string; service: string }> = [];
  const events: Array<{ name: string; data: unknown }> = [];
  const controller = new AbortController();
  void (async () => {
    const res = await fetch(`${base}/api/tail?${query}`, { signal: controller.signal });
    let text = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString('utf8');
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = block
          .split('\n')
          .find((l) => l.startsWith('data: '))
          ?.slice(6);
        if (!data) continue;
        const name = /^event: (\w+)/m.exec(block)?.[1];
        if (name) events.push({ name, data: JSON.parse(data) });
        else records.push(JSON.parse(data));
      }
    }
  })().catch(() => undefined);
  return { records, events, close: () => controller.abort() };
}

describe('live tail, pushed from the collectors', () => {
  it('shows what either collector stores, filtered, late timestamps too', async () => {
    const view = viewer(`service=tail-${tag}&minSeverity=WARN`);
    try {
      // The server says when it receives from both collectors.
      const status = await eventually(async () => {
        const s = view.events.find((e) => e.name === 'status')?.data as { connected: string[] } | undefined;
        return s && s.connected.length === 2 ? s : undefined;
      });
      expect(status?.connected).toHaveLength(2);
      const hourAgo = String((BigInt(Date.now()) - 3_600_000n) * 1_000_000n);
      await postJson(a.httpPort, otlpJson(`tail-${tag}`, [{ body: 'via a', severityNumber: 13 }]));
      await postJson(b.httpPort, otlpJson(`tail-${tag}`, [{ body: 'via b', severityNumber: 17 }]));
      await postJson(
        a.httpPort,
        otlpJson(`tail-${tag}`, [{ body: 'dated an hour ago', severityNumber: 13, timeUnixNano: hourAgo }]),
      );
      await postJson(a.httpPort, otlpJson(`tail-${tag}`, [{ body: 'too quiet', severityNumber: 9 }]));
      await postJson(a.httpPort, otlpJson(`other-${tag}`, [{ body: 'other service', severityNumber: 17 }]));
      const seen = await eventually(async () => (view.records.length >= 3 ? view.records : undefined));
      await new Promise((r) => setTimeout(r, 300));
      expect(view.records.map((r) => r.body).sort()).toEqual(['dated an hour ago', 'via a', 'via b']);
      expect(seen).toBeDefined();
    } finally {
      view.close();
    }
  });

  it("opens with the last seconds' records, read once, then what is pushed — each record once", async () => {
    await postJson(a.httpPort, otlpJson(`backlog-${tag}`, [{ body: 'before the tail opened' }]));
    const view = viewer(`service=backlog-${tag}`);
    try {
      await eventually(async () => view.events.some((e) => e.name === 'status'));
      await postJson(b.httpPort, otlpJson(`backlog-${tag}`, [{ body: 'after it opened' }]));
      await eventually(async () => view.records.length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(view.records.map((r) => r.body)).toEqual(['before the tail opened', 'after it opened']);
    } finally {
      view.close();
    }
  });

  it('twenty viewers add no queries to ClickHouse', async () => {
    const views = Array.from({ length: 20 }, () => viewer(`service=many-${tag}`));
    try {
      await eventually(async () => views.every((v) => v.events.some((e) => e.name === 'status')));
      const before = proxy.requests;
      const started = Date.now();
      for (let i = 0; i < 10; i++) {
        await postJson((i % 2 ? a : b).httpPort, otlpJson(`many-${tag}`, [{ body: `record ${i}` }]));
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(await eventually(async () => views.every((v) => v.records.length === 10))).toBe(true);
      const seconds = (Date.now() - started) / 1000;
      const queries = proxy.requests - before;
      console.log(
        `20 viewers for ${seconds.toFixed(1)} s: ${queries} requests from the query server to ClickHouse`,
      );
      // Only the list of collectors, every 5 s, whatever the number of viewers (polling: 20 a second).
      expect(queries).toBeLessThanOrEqual(Math.ceil(seconds / 5) + 1);
    } finally {
      for (const v of views) v.close();
    }
  });

  it('a collector killed and started again on its address is followed once, not twice', async () => {
    // Killed: it never says it is gone, and stays listed as alive for a while beside the new one.
    await b.stop('SIGKILL');
    b = await startCollectorProcess(testClickHouseUrl(), ch.database, {
      grpcPort: b.grpcPort,
      httpPort: b.httpPort,
    });
    const view = viewer(`service=again-${tag}`);
    try {
      const status = await eventually(async () => {
        const s = view.events.findLast((e) => e.name === 'status')?.data as
          { connected: string[] } | undefined;
        return s && s.connected.length >= 2 ? s : undefined;
      });
      await postJson(b.httpPort, otlpJson(`again-${tag}`, [{ body: 'after the restart' }]));
      await eventually(async () => view.records.length >= 1);
      await new Promise((r) => setTimeout(r, 500));
      expect(view.records.map((r) => r.body)).toEqual(['after the restart']);
      expect(status?.connected).toHaveLength(2);
    } finally {
      view.close();
    }
  });

  it('`distlog tail` rides out a restart of the query server, and says what it could not show', async () => {
    const port = await freePort();
    const serve = () => queryServerOn(port);
    let server = await serve();
    const child = spawn(process.execPath, [DISTLOG_BIN, 'tail', '--service', `restart-${tag}`], {
      env: { ...process.env, DISTLOG_API: `http://127.0.0.1:${port}`, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    let proxy: http.Server | undefined;
    try {
      await eventually(async () => stderr.includes('live from'), 15_000);
      await postJson(a.httpPort, otlpJson(`restart-${tag}`, [{ body: 'before' }]));
      await eventually(async () => stdout.includes('before'), 15_000);
      await server.close();
      await eventually(async () => stderr.includes('lost the Distlog API'), 15_000);
      // Meanwhile something answers 503 there (a proxy before the server is back): not the end of the tail.
      let unavailable = 0;
      proxy = http.createServer((_req, res) => (unavailable++, res.writeHead(503).end('starting')));
      await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', r));
      await eventually(async () => unavailable >= 2, 15_000);
      await new Promise((r) => proxy!.close(r));
      proxy = undefined;
      expect(child.exitCode).toBeNull();
      server = await serve();
      await eventually(async () => stderr.includes('back;'), 15_000);
      expect(stderr).toMatch(
        new RegExp(`is not shown here: distlog search --service restart-${tag} --from \\S+Z --to \\S+Z\n`),
      );
      await eventually(async () => (stderr.match(/live from/g) ?? []).length >= 2, 15_000);
      await postJson(a.httpPort, otlpJson(`restart-${tag}`, [{ body: 'after' }]));
      await eventually(async () => stdout.includes('after'), 15_000);
      expect(stdout.match(/restart-\w+\/test: (before|after)/g)).toEqual([
        `restart-${tag}/test: before`,
        `restart-${tag}/test: after`,
      ]);
    } finally {
      proxy?.close();
      child.kill('SIGINT');
      await server.close();
    }
  });

  it("the web UI's live tail reconnects after a restart of the server and shows no record twice", async () => {
    const port = await freePort();
    const serve = () => queryServerOn(port);
    let server = await serve();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/tail?q=service%3Aweb-${tag}`);
      const state = () => page.locator('[data-testid=tail-state]').textContent();
      await eventually(async () => (await state()) === 'live', 15_000);
      await postJson(a.httpPort, otlpJson(`web-${tag}`, [{ body: 'before' }]));
      const lines = page.locator('[data-testid=tail-line]');
      await lines.filter({ hasText: 'before' }).waitFor({ timeout: 15_000 });
      await server.close();
      await eventually(async () => (await state()) === 'reconnecting', 15_000);
      server = await serve();
      await eventually(async () => (await state()) === 'live', 30_000);
      await postJson(a.httpPort, otlpJson(`web-${tag}`, [{ body: 'after' }]));
      await lines.filter({ hasText: 'after' }).waitFor({ timeout: 15_000 });
      // 'before' came again with the reopened tail's last seconds: shown once.
      expect(await lines.filter({ hasText: 'before' }).count()).toBe(1);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
