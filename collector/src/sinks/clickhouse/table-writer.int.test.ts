import { eventually } from '../../testing/test-database';
import { useProxiedTestDatabase } from '../../testing/insert-proxy';
import { makeRow } from '../../model/log-row';
import { CollectorMetrics } from '../../telemetry/metrics';
import { TableWriter } from './table-writer';

// When a table writer seals its batches, against the real server: a proxy in front of it
// (testing/insert-proxy.ts) holds the inserts, so the test decides when each one ends.

const db = useProxiedTestDatabase('slots');
const now = BigInt(Date.now()) * 1_000_000n;

let next = 0;
const rowsOf = (n: number) =>
  Array.from({ length: n }, () =>
    makeRow({ service: 'slots', body: `row ${next}`, timeUnixNano: now + BigInt(next++) }),
  );
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TableWriter insert slots', () => {
  it('with a slot free, a batch of half maxRows goes at once; with none free it waits for an insert to end', async () => {
    const options = {
      maxRows: 1000,
      maxDelayMs: 60_000, // never the reason a batch goes here
      maxConcurrentInserts: 2,
      maxQueuedBatches: 4,
      retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 100 },
    };
    const writer = new TableWriter(
      db.ch,
      'logs',
      options,
      { spool: undefined, metrics: new CollectorMetrics() },
      db.timeNanos,
    );
    db.proxy.holdInserts = true;
    try {
      const writes = [writer.consume(rowsOf(1000), 1n)]; // maxRows: goes, and is held
      await eventually(async () => db.proxy.holding === 1);
      writes.push(writer.consume(rowsOf(499), 2n)); // below half of maxRows: waits
      await pause(200);
      expect(db.proxy.holding).toBe(1);
      writes.push(writer.consume(rowsOf(1), 3n)); // half, and a slot is free: goes
      await eventually(async () => db.proxy.holding === 2);
      writes.push(writer.consume(rowsOf(600), 4n)); // more than half, but both slots are busy
      await pause(200);
      expect(db.proxy.holding).toBe(2);
      db.proxy.release();
      // The last batch went when an insert ended (it held more than a quarter), not at its timer.
      await expect(Promise.all(writes)).resolves.toEqual([true, true, true, true]);
    } finally {
      db.proxy.release();
    }
    const batches = await db.direct.query<{ n: string }>(
      `SELECT count() AS n FROM ${db.direct.database}.logs WHERE ServiceName = 'slots' GROUP BY BatchId ORDER BY n`,
    );
    expect(batches.map((b) => Number(b.n))).toEqual([500, 600, 1000]);
  });
});
