import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../testing/test-database';
import { useProxiedTestDatabase } from '../../testing/insert-proxy';
import { captureStderr } from '../../testing/stderr';
import { makeRow } from '../../model/log-row';
import { Spool } from '../../helpers/spool';
import { CollectorMetrics } from '../../telemetry/metrics';
import { SpoolReplayer, REFUSALS_BEFORE_SET_ASIDE } from './replayer';
import { LOG_COLUMNS, RowBinaryWriter } from './row-binary';
import { newBatchId } from './batch-id';

// A spooled batch ClickHouse refuses for what it holds does not hold up the batches
// behind it: after REFUSALS_BEFORE_SET_ASIDE refusals it is set aside, said once as an
// error, and tried again when asked (a reload or a restart). Against the real server.

const db = useProxiedTestDatabase('set_aside');
const now = BigInt(Date.now()) * 1_000_000n;

function encoded(body: string, n: number): { bytes: Buffer; info: Parameters<Spool['append']>[2] } {
  const w = new RowBinaryWriter(db.timeNanos, newBatchId());
  w.writeRows(
    Array.from({ length: n }, (_, i) =>
      makeRow({ service: 'aside', body: `${body} ${i}`, timeUnixNano: now + BigInt(i) }),
    ),
  );
  return {
    bytes: Buffer.from(w.bytes()),
    info: { id: w.batchId, rows: w.rows, minSeconds: w.minSeconds, maxSeconds: w.maxSeconds },
  };
}

async function stored(body: string): Promise<number> {
  const [r] = await db.direct.query<{ n: string }>(
    `SELECT count() AS n FROM ${db.direct.database}.logs WHERE ServiceName = 'aside' AND startsWith(Body, '${body} ')`,
  );
  return Number(r.n);
}

/** Replays until the spool's queue is empty; returns what was logged meanwhile. */
async function replayUntilEmpty(spool: Spool, metrics: CollectorMetrics): Promise<string[]> {
  const replayer = new SpoolReplayer(db.ch, spool, metrics);
  const stderr = captureStderr();
  await replayer.start();
  try {
    await eventually(async () => spool.isEmpty(), 30_000, 100, 'the spool is replayed');
  } finally {
    await replayer.shutdown();
    stderr.restore();
  }
  return stderr.lines;
}

async function newSpool(prefix: string): Promise<{ dir: string; spool: Spool }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const spool = new Spool(dir, 64 * 1024 * 1024);
  await spool.start();
  return { dir, spool };
}

describe('spool replay of a batch ClickHouse refuses', () => {
  it('sets a damaged batch aside, stores the batches behind it, and tries it again when asked', async () => {
    const { dir, spool } = await newSpool('distlog-spool-aside-');
    const damaged = encoded('damaged', 20);
    // Cut in the middle of its last row: ClickHouse cannot read all of it, on every attempt.
    await spool.append('logs', damaged.bytes.subarray(0, damaged.bytes.length - 7), damaged.info);
    for (const body of ['behind-1', 'behind-2']) {
      const good = encoded(body, 30);
      await spool.append('logs', good.bytes, good.info);
    }
    const metrics = new CollectorMetrics();
    const lines = await replayUntilEmpty(spool, metrics);
    expect(await stored('behind-1')).toBe(30);
    expect(await stored('behind-2')).toBe(30);
    expect(await stored('damaged')).toBe(0);
    expect(metrics.setAside.get({ table: 'logs' })).toBe(1);
    expect(spool.setAside.batches).toBe(1);
    const aside = readdirSync(path.join(dir, 'set-aside'));
    expect(aside.filter((n) => n.endsWith('.rowbinary2'))).toHaveLength(1);
    const errorFile = aside.find((n) => n.endsWith('.error'))!;
    expect(readFileSync(path.join(dir, 'set-aside', errorFile), 'utf8')).toMatch(
      /CANNOT_READ_ALL_DATA|INCORRECT_DATA/,
    );
    // Said once, as an error naming what to do; each refusal before it as a warning.
    const said = lines.filter((l) => l.includes('set aside so the batches behind it go on'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/"level":"error"/);
    expect(said[0]).toContain('restart the collector or reload');
    expect(lines.filter((l) => l.includes('spool replay failed'))).toHaveLength(
      REFUSALS_BEFORE_SET_ASIDE - 1,
    );

    // Asked again (a reload): refused again, set aside again — never lost, never blocking.
    expect(await spool.requeueSetAside()).toBe(1);
    await replayUntilEmpty(spool, metrics);
    expect(metrics.setAside.get({ table: 'logs' })).toBe(2);
    expect(spool.setAside.batches).toBe(1);
    await spool.shutdown();
  });

  it('says a run of refused batches once, not once per batch', async () => {
    const { spool } = await newSpool('distlog-spool-run-');
    for (const body of ['run-1', 'run-2', 'run-3']) {
      const damaged = encoded(body, 10);
      await spool.append('logs', damaged.bytes.subarray(0, damaged.bytes.length - 5), damaged.info);
    }
    const metrics = new CollectorMetrics();
    const lines = await replayUntilEmpty(spool, metrics);
    expect(metrics.setAside.get({ table: 'logs' })).toBe(3);
    expect(spool.setAside.batches).toBe(3);
    expect(lines.filter((l) => l.includes('set aside so the batches behind it go on'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('spool replay failed'))).toHaveLength(
      REFUSALS_BEFORE_SET_ASIDE - 1,
    );
    await spool.shutdown();
  });

  it('stores a refused batch once the table is fixed and the batch is tried again', async () => {
    const { dir, spool } = await newSpool('distlog-spool-fixed-');
    const table = `${db.direct.database}.logs`;
    // A column dropped by hand (one no view reads): every insert naming it is refused.
    const [{ type }] = await db.direct.query<{ type: string }>(
      `SELECT type FROM system.columns WHERE database = '${db.direct.database}' AND table = 'logs' AND name = 'ScopeVersion'`,
    );
    await db.direct.command(`ALTER TABLE ${table} DROP COLUMN ScopeVersion`);
    const batch = encoded('refused-then-fixed', 25);
    await spool.append('logs', batch.bytes, batch.info);
    const metrics = new CollectorMetrics();
    try {
      await replayUntilEmpty(spool, metrics);
    } finally {
      await db.direct.command(`ALTER TABLE ${table} ADD COLUMN ScopeVersion ${type} AFTER ScopeName`);
    }
    expect(spool.setAside.batches).toBe(1);
    expect(await stored('refused-then-fixed')).toBe(0);

    // Fixed; a collector starting on the folder tries it again, and it is stored.
    await spool.shutdown();
    const reopened = new Spool(dir, 64 * 1024 * 1024);
    await reopened.start();
    expect(reopened.requeuedAtStart).toBe(1);
    await replayUntilEmpty(reopened, metrics);
    expect(await stored('refused-then-fixed')).toBe(25);
    expect(reopened.setAside.batches).toBe(0);
    await reopened.shutdown();
  });
});

describe('spool replay of a batch whose requests were sent again', () => {
  /** `n` rows of one request. */
  const rowsOfRequest = (body: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      makeRow({ service: 'aside', body: `${body} ${i}`, timeUnixNano: now + BigInt(i) }),
    );
  type Request = [body: string, rows: number, id: bigint];
  /** One batch of these requests: spooled, or inserted straight away (another collector's). */
  const batchOf = (requests: Request[]) => {
    const w = new RowBinaryWriter(db.timeNanos, newBatchId());
    for (const [body, n, id] of requests) w.writeRows(rowsOfRequest(body, n), id);
    const info = { id: w.batchId, rows: w.rows, minSeconds: w.minSeconds, maxSeconds: w.maxSeconds };
    return { bytes: Buffer.from(w.bytes()), info };
  };
  const spooled = (spool: Spool, requests: Request[]) => {
    const { bytes, info } = batchOf(requests);
    return spool.append('logs', bytes, info);
  };
  const storedElsewhere = (requests: Request[]) =>
    db.direct.insertRowBinary('logs', LOG_COLUMNS, batchOf(requests).bytes);

  it('leaves out the requests another batch stored meanwhile, and stores the rest once', async () => {
    const { spool } = await newSpool('distlog-spool-resent-');
    // The spooled batch: two requests. Its collector died before answering either, so the
    // sender sent the first again — to another collector, which stored it in a batch of its own.
    const first = newBatchId();
    await spooled(spool, [
      ['resent-first', 10, first],
      ['resent-second', 12, newBatchId()],
    ]);
    await storedElsewhere([['resent-first', 10, first]]);

    const metrics = new CollectorMetrics();
    const lines = await replayUntilEmpty(spool, metrics);
    expect(await stored('resent-first')).toBe(10);
    expect(await stored('resent-second')).toBe(12);
    expect(lines.filter((l) => l.includes('left out of a spooled batch'))).toHaveLength(1);
    expect(metrics.replayed.get({ table: 'logs' })).toBe(1);
    await spool.shutdown();
  });

  it('stores nothing of a batch whose every request is stored elsewhere, and counts it as a duplicate avoided', async () => {
    const { spool } = await newSpool('distlog-spool-all-resent-');
    const only = newBatchId();
    await spooled(spool, [['all-resent', 7, only]]);
    await storedElsewhere([['all-resent', 7, only]]);

    const metrics = new CollectorMetrics();
    await replayUntilEmpty(spool, metrics);
    expect(await stored('all-resent')).toBe(7);
    expect(metrics.duplicatesAvoided.get({ table: 'logs' })).toBe(1);
    await spool.shutdown();
  });
});
