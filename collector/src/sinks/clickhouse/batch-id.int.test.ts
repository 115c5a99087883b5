import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../testing/test-database';
import { useProxiedTestDatabase } from '../../testing/insert-proxy';
import { makeRow } from '../../model/log-row';
import { Spool } from '../../helpers/spool';
import { CollectorMetrics } from '../../telemetry/metrics';
import { TableWriter } from './table-writer';
import { SpoolReplayer } from './replayer';
import { RowBinaryWriter, LOG_COLUMNS, LOG_COLUMNS_WITHOUT_BATCH_ID } from './row-binary';
import { newBatchId } from './batch-id';

// Exactly-once inserts against the real server: an insert that reached ClickHouse but
// whose answer was cut is not stored twice, nor is a spooled batch that is stored already.
// The "network" is a real HTTP proxy in front of ClickHouse that cuts chosen answers
// (testing/insert-proxy.ts).

const db = useProxiedTestDatabase('exactly_once');
const now = BigInt(Date.now()) * 1_000_000n;

const rowsOf = (body: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    makeRow({ service: 'once', body: `${body} ${i}`, timeUnixNano: now + BigInt(i) }),
  );

async function stored(body: string): Promise<{ rows: number; distinct: number }> {
  const [r] = await db.direct.query<{ rows: string; distinct: string }>(
    `SELECT count() AS rows, uniqExact(Body) AS distinct FROM ${db.direct.database}.logs ` +
      `WHERE ServiceName = 'once' AND startsWith(Body, '${body} ')`,
  );
  return { rows: Number(r.rows), distinct: Number(r.distinct) };
}

const retry = { attempts: 4, initialDelayMs: 50, maxDelayMs: 200 };

/** A writer through the proxy, without a spool: retries only. */
function newWriter(): { metrics: CollectorMetrics; writer: TableWriter } {
  const metrics = new CollectorMetrics();
  const batch = { maxRows: 1000, maxDelayMs: 20, maxConcurrentInserts: 1, maxQueuedBatches: 4, retry };
  return {
    metrics,
    writer: new TableWriter(db.ch, 'logs', batch, { spool: undefined, metrics }, db.timeNanos),
  };
}

describe('exactly-once inserts (BatchId)', () => {
  it('an insert whose answer was cut is found stored and not inserted again', async () => {
    const { metrics, writer } = newWriter();
    db.proxy.cutAnswers = 1;
    await writer.consume(rowsOf('cut', 300));
    expect(db.proxy.cutAnswers).toBe(0); // the proxy did cut the first answer
    expect(await stored('cut')).toEqual({ rows: 300, distinct: 300 });
    expect(metrics.duplicatesAvoided.get({ table: 'logs' })).toBe(1);
    // Every row carries the batch's one id.
    const [ids] = await db.direct.query<{ ids: string; zero: string }>(
      `SELECT uniqExact(BatchId) AS ids, countIf(BatchId = 0) AS zero FROM ${db.direct.database}.logs ` +
        `WHERE ServiceName = 'once' AND startsWith(Body, 'cut ')`,
    );
    expect(ids).toEqual({ ids: '1', zero: '0' });
  });

  it('an insert that never reached ClickHouse is inserted on the next attempt', async () => {
    const { metrics, writer } = newWriter();
    db.proxy.dropInserts = 1;
    await writer.consume(rowsOf('dropped', 50));
    expect(db.proxy.dropInserts).toBe(0); // the proxy did swallow the first attempt
    expect(await stored('dropped')).toEqual({ rows: 50, distinct: 50 });
    expect(metrics.duplicatesAvoided.get({ table: 'logs' })).toBe(0);
  });

  it('spool replay skips a batch that is stored already and inserts one that is not', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-spool-once-'));
    const spool = new Spool(dir, 64 * 1024 * 1024);
    await spool.start();
    const storedBatch = new RowBinaryWriter(db.timeNanos, newBatchId());
    storedBatch.writeRows(rowsOf('spooled-stored', 40));
    const info = (w: RowBinaryWriter) => ({
      id: w.batchId,
      rows: w.rows,
      minSeconds: w.minSeconds,
      maxSeconds: w.maxSeconds,
    });
    // Its last attempt before spooling reached ClickHouse (the answer was lost).
    await db.direct.insertRowBinary('logs', LOG_COLUMNS, storedBatch.bytes());
    await spool.append('logs', storedBatch.bytes(), info(storedBatch));
    const freshBatch = new RowBinaryWriter(db.timeNanos, newBatchId());
    freshBatch.writeRows(rowsOf('spooled-fresh', 60));
    await spool.append('logs', freshBatch.bytes(), info(freshBatch));
    // Each row encoded alone, its trailing columns cut off (8 bytes each).
    const withoutLast = (rows: ReturnType<typeof rowsOf>, columns: number, batchId = 0n) =>
      Buffer.concat(
        rows.map((row) => {
          const one = new RowBinaryWriter(db.timeNanos, batchId);
          one.writeRow(row);
          return Buffer.from(one.bytes().subarray(0, one.length - 8 * columns));
        }),
      );
    // A file spooled by a collector from before batch ids: no id in its name, no BatchId,
    // RequestId or PatternId column.
    writeFileSync(
      path.join(dir, '000000000999.logs.rowbinary'),
      withoutLast(rowsOf('spooled-legacy', 10), 3),
    );
    // One from before pattern ids: a batch id in its name, no PatternId column.
    const v1Id = newBatchId();
    const v1Rows = rowsOf('spooled-v1', 12);
    const seconds = v1Rows.map((r) => Number(r.timeUnixNano / 1_000_000_000n));
    writeFileSync(
      path.join(
        dir,
        `000000001000.logs.${v1Id.toString(16).padStart(16, '0')}-12-${Math.min(...seconds)}-${Math.max(...seconds)}.rowbinary`,
      ),
      withoutLast(v1Rows, 1, v1Id),
    );
    await spool.shutdown(); // the collector that spooled them stops; a new one opens the folder
    const reopened = new Spool(dir, 64 * 1024 * 1024);
    await reopened.start();
    expect(reopened.count).toBe(4);
    expect(LOG_COLUMNS_WITHOUT_BATCH_ID).not.toContain('BatchId');

    const metrics = new CollectorMetrics();
    const replayer = new SpoolReplayer(db.ch, reopened, metrics);
    await replayer.start();
    try {
      expect(await eventually(async () => reopened.isEmpty(), 20_000)).toBe(true);
    } finally {
      await replayer.shutdown();
    }
    expect(await stored('spooled-stored')).toEqual({ rows: 40, distinct: 40 });
    expect(await stored('spooled-fresh')).toEqual({ rows: 60, distinct: 60 });
    expect(await stored('spooled-legacy')).toEqual({ rows: 10, distinct: 10 });
    expect(await stored('spooled-v1')).toEqual({ rows: 12, distinct: 12 });
    expect(metrics.duplicatesAvoided.get({ table: 'logs' })).toBe(1);
    expect(metrics.replayed.get({ table: 'logs' })).toBe(3);
    // Rows spooled with pattern ids keep them; older files' rows have none (0).
    const [ids] = await db.direct.query<{ fresh: string; v1: string }>(
      `SELECT countIf(PatternId != 0 AND startsWith(Body, 'spooled-fresh')) AS fresh,
              countIf(PatternId = 0 AND startsWith(Body, 'spooled-v1')) AS v1 FROM ${db.direct.database}.logs`,
    );
    expect(ids).toEqual({ fresh: '60', v1: '12' });
  });
});
