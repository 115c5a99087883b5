import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClickHouse } from '../../storage/clickhouse';
import { freePort } from '../../storage/local-clickhouse';
import { Spool } from '../../helpers/spool';
import { CollectorMetrics } from '../../telemetry/metrics';
import { makeRow } from '../../model/log-row';
import { kindOf } from '../../errors';
import type { BatchOptions } from './table-writer';
import { TableWriter } from './table-writer';
import { captureStderr } from '../../testing/stderr';

// The table writer where ClickHouse is down: a closed port on this machine, so every
// insert fails the way it does when the server is unreachable. What a writer does with
// ClickHouse up is tested in the integration tests (batch-id.int.test.ts, collector.int.test.ts).
const OPTIONS: BatchOptions = {
  maxRows: 100,
  maxDelayMs: 20,
  maxConcurrentInserts: 2,
  maxQueuedBatches: 4,
  retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
};
const rows = (n: number, body = 'r') =>
  Array.from({ length: n }, (_, i) => makeRow({ body: `${body} ${i}` }));

let ch: ClickHouse;
let dir: string;
beforeAll(async () => {
  ch = ClickHouse.withKnownVersion(
    { url: `http://127.0.0.1:${await freePort()}`, database: 'distlog', requestTimeoutMs: 2_000 },
    '18.16.1',
  );
});
afterAll(() => ch.close());
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-writer-unit-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function spoolIn(): Promise<Spool> {
  const spool = new Spool(dir, 1 << 20);
  await spool.start();
  return spool;
}

describe('TableWriter with ClickHouse down', () => {
  it('spools a batch it cannot insert, and acknowledges its rows only then', async () => {
    const spool = await spoolIn();
    const metrics = new CollectorMetrics();
    const writer = new TableWriter(ch, 'logs', OPTIONS, { spool, metrics });
    await expect(writer.consume(rows(3), 11n)).resolves.toBe(true);
    expect(spool.count).toBe(1);
    expect(spool.oldest()).toMatchObject({ table: 'logs', batch: { rows: 3 } });
    expect(metrics.spooled.get({ table: 'logs' })).toBe(1);
    expect(metrics.stored.get({ table: 'logs' })).toBe(0);
  });

  it('seals a batch at half of maxRows when an insert slot is free, and a request sent again while pending is added once', async () => {
    const spool = await spoolIn();
    const writer = new TableWriter(ch, 'logs', OPTIONS, { spool, metrics: new CollectorMetrics() });
    const first = writer.consume(rows(30), 21n);
    const again = writer.consume(rows(30), 21n); // the same request, e.g. from a client that timed out
    const other = writer.consume(rows(30), 22n);
    await expect(first).resolves.toBe(true);
    await expect(again).resolves.toBe(false);
    await expect(other).resolves.toBe(true);
    await writer.flush();
    const batches: number[] = [];
    for (let e = spool.oldest(); e; e = spool.oldest()) {
      batches.push(e.batch!.rows);
      await spool.remove(e);
    }
    expect(batches).toEqual([60]); // one batch: 30 + 30 ≥ maxRows / 2 sealed it; the resent 30 never joined
  });

  it('when its last insert ends, a batch of a quarter of maxRows or more goes without waiting for its timer', async () => {
    const spool = await spoolIn();
    const options = { ...OPTIONS, maxDelayMs: 60_000, maxConcurrentInserts: 1 };
    const writer = new TableWriter(ch, 'logs', options, { spool, metrics: new CollectorMetrics() });
    const settled = (p: Promise<boolean>) => {
      const state = { done: false };
      void p.then(() => (state.done = true));
      return state;
    };
    // 100 rows seal a batch; while it is stored (spooled here), 25 rows (a quarter) arrive.
    const full = writer.consume(rows(100, 'full'), 41n);
    const quarter = writer.consume(rows(25, 'quarter'), 42n);
    await full;
    await expect(quarter).resolves.toBe(true); // the timer (60 s) did not send it
    // Fewer than a quarter wait for the timer (or a flush), even with no insert running.
    const few = settled(writer.consume(rows(24, 'few'), 43n));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(few.done).toBe(false);
    await writer.flush();
    expect(few.done).toBe(true);
    const sizes: number[] = [];
    for (let e = spool.oldest(); e; e = spool.oldest()) {
      sizes.push(e.batch!.rows);
      await spool.remove(e);
    }
    expect(sizes).toEqual([100, 25, 24]);
  });

  it('batches in flight at once write into buffers of their own; a later batch reuses a stored one intact', async () => {
    const spool = await spoolIn();
    const writer = new TableWriter(ch, 'logs', OPTIONS, { spool, metrics: new CollectorMetrics() });
    // Two batches sealed at once (maxRows 100, two inserts in flight), then a third, shorter
    // one written after both were stored (spooled here), into one of their buffers.
    await Promise.all([writer.consume(rows(100, 'first'), 31n), writer.consume(rows(100, 'second'), 32n)]);
    await writer.consume(rows(7, 'third'), 33n);
    await writer.flush();
    const files: string[] = [];
    for (let e = spool.oldest(); e; e = spool.oldest()) {
      files.push(readFileSync(e.file, 'latin1'));
      await spool.remove(e);
    }
    expect(files).toHaveLength(3);
    const bodies = (file: string) => [...file.matchAll(/(first|second|third) \d+/g)].map((m) => m[0]);
    // The two batches in flight at once reach the spool in either order.
    expect(files.map(bodies).sort((a, b) => a[0].localeCompare(b[0]))).toEqual([
      rows(100, 'first').map((r) => r.body),
      rows(100, 'second').map((r) => r.body),
      rows(7, 'third').map((r) => r.body),
    ]);
  });

  it('reserves batch buffers too large to grow, and lets one go that a burst wrote far more of than batches now', async () => {
    const spool = new Spool(dir, 64 << 20);
    await spool.start();
    const writer = new TableWriter(ch, 'logs', OPTIONS, { spool, metrics: new CollectorMetrics() });
    const allocate = jest.spyOn(Buffer, 'allocUnsafe');
    const batchBuffers = () => allocate.mock.calls.filter(([size]) => size >= 64 * 1024 * 1024).length;
    try {
      // One batch after another: a few buffers (a batch starts before the last one's buffer
      // is back), reserved once, then written again by every batch.
      for (let i = 0; i < 5; i++) await writer.consume(rows(3), BigInt(100 + i));
      const steady = batchBuffers();
      expect(steady).toBeGreaterThanOrEqual(1);
      expect(steady).toBeLessThanOrEqual(OPTIONS.maxConcurrentInserts + 1);
      for (let i = 0; i < 5; i++) await writer.consume(rows(3), BigInt(110 + i));
      expect(batchBuffers()).toBe(steady);
      // A burst: 100 rows of 4 KB, ~400 KB written into one of them, then small batches
      // again. That buffer is kept while batches of its size are recent, and let go (a new
      // one reserved in its place) once they write far less.
      await writer.consume(rows(100, 'x'.repeat(4000)), 200n);
      await writer.consume(rows(3), 201n);
      expect(batchBuffers()).toBe(steady);
      for (let i = 0; i < 40; i++) await writer.consume(rows(3), BigInt(300 + i));
      expect(batchBuffers()).toBe(steady + 1);
    } finally {
      allocate.mockRestore();
    }
  });

  it('where 64 MiB cannot be reserved, writes batches into buffers of their size', async () => {
    const spool = await spoolIn();
    const writer = new TableWriter(ch, 'logs', OPTIONS, { spool, metrics: new CollectorMetrics() });
    const allocateUnsafe = Buffer.allocUnsafe.bind(Buffer);
    const allocate = jest.spyOn(Buffer, 'allocUnsafe').mockImplementation((size) => {
      if (size >= 64 * 1024 * 1024) throw new RangeError('Array buffer allocation failed');
      return allocateUnsafe(size);
    });
    try {
      await writer.consume(rows(3, 'small'), 41n);
      await writer.consume(rows(50, 'y'.repeat(2000)), 42n); // ~100 KB: the buffer grows
    } finally {
      allocate.mockRestore();
    }
    const bodies: string[] = [];
    for (let e = spool.oldest(); e; e = spool.oldest()) {
      bodies.push(...[...readFileSync(e.file, 'latin1').matchAll(/(small|y+) \d+/g)].map((m) => m[0]));
      await spool.remove(e);
    }
    expect(bodies).toEqual([...rows(3, 'small'), ...rows(50, 'y'.repeat(2000))].map((r) => r.body));
  });

  it('without a spool, refuses the rows as retryable, so the client sends them again', async () => {
    const writer = new TableWriter(ch, 'logs', OPTIONS, {
      spool: undefined,
      metrics: new CollectorMetrics(),
    });
    const failure = await writer.consume(rows(2)).catch((e: unknown) => e);
    expect(kindOf(failure)).toBe('unavailable');
    expect(String(failure)).toMatch(/logs/);
  });

  it('tells writers to back off when too many batches wait for an insert', async () => {
    // maxRows 1 seals a batch per write; with one insert at a time and room for two
    // waiting, the fourth write finds the queue full before any insert has failed.
    const options = { ...OPTIONS, maxRows: 1, maxConcurrentInserts: 1, maxQueuedBatches: 2 };
    const writer = new TableWriter(ch, 'logs', options, {
      spool: undefined,
      metrics: new CollectorMetrics(),
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => writer.consume(rows(1))));
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'stored'));
    expect(reasons.filter((r) => /behind; retry later/.test(r))).toHaveLength(1);
    expect(reasons.filter((r) => /failed: .*ECONNREFUSED/.test(r))).toHaveLength(3);
  });

  it('shutdown() stores what it holds (here: the spool) and refuses rows after it; start and shutdown are idempotent', async () => {
    const spool = await spoolIn();
    const writer = new TableWriter(
      ch,
      'logs',
      { ...OPTIONS, maxDelayMs: 60_000 },
      { spool, metrics: new CollectorMetrics() },
    );
    await writer.start();
    await writer.start();
    const pending = writer.consume(rows(5));
    await writer.shutdown();
    await expect(pending).resolves.toBe(true);
    expect(spool.oldest()?.batch?.rows).toBe(5);
    const late = await writer.consume(rows(1)).catch((e: unknown) => e);
    expect(kindOf(late)).toBe('unavailable');
    await writer.shutdown();
    await new TableWriter(ch, 'debug', OPTIONS, { spool, metrics: new CollectorMetrics() }).shutdown();
  });
});

describe('TableWriter and the times of records', () => {
  it("counts and says (once an hour per service) records dated before the tier's retention or over a day ahead", async () => {
    const { lines: said, restore } = captureStderr();
    try {
      const metrics = new CollectorMetrics();
      const writer = new TableWriter(ch, 'logs', OPTIONS, { spool: await spoolIn(), metrics });
      writer.retentionDays = 30;
      const nanos = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n;
      const now = Date.now();
      const dated = (service: string, ms: number) => makeRow({ service, timeUnixNano: nanos(ms) });
      await writer.consume([
        dated('fine', now),
        // Milliseconds sent as nanoseconds: 1970.
        { ...dated('unit-bug', 0), timeUnixNano: BigInt(now) },
        dated('unit-bug', now - 40 * 86_400_000),
        dated('clock-ahead', now + 3 * 86_400_000),
        dated('fine', now - 29 * 86_400_000),
      ]);
      await writer.consume([{ ...dated('unit-bug', 0), timeUnixNano: BigInt(now) }, dated('fine', now)]);
      expect(metrics.misdated.get({ table: 'logs', which: 'older than retention' })).toBe(3);
      expect(metrics.misdated.get({ table: 'logs', which: 'more than a day ahead' })).toBe(1);
      const lines = said.map((l) => JSON.parse(l) as { msg: string; service: string; time: string });
      const misdated = lines.filter((l) => l.msg.startsWith('records dated'));
      expect(misdated.map((l) => [l.service, l.msg])).toEqual([
        [
          'unit-bug',
          "records dated older than retention of table logs: is the sender's clock or time unit wrong?",
        ],
        [
          'clock-ahead',
          "records dated more than a day ahead of table logs: is the sender's clock or time unit wrong?",
        ],
      ]);
      expect(misdated[0].time).toMatch(/^1970-01-/);
    } finally {
      restore();
    }
  });
});
