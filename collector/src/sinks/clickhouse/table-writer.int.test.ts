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
const rowsOf = (service: string, n: number) =>
  Array.from({ length: n }, () =>
    makeRow({ service, body: `row ${next}`, timeUnixNano: now + BigInt(next++) }),
  );
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const OPTIONS = {
  maxRows: 1000,
  maxDelayMs: 60_000, // never the reason a batch goes here
  maxConcurrentInserts: 2,
  maxQueuedBatches: 4,
  retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 100 },
};

/** A writer of `logs` through the proxy, as for a server that runs statements side by side or one at a time. */
function writerFor(serialStatements: boolean): TableWriter {
  const detected = db.ch.serialStatements;
  db.ch.serialStatements = serialStatements; // read once, by the constructor
  try {
    return new TableWriter(
      db.ch,
      'logs',
      OPTIONS,
      { spool: undefined, metrics: new CollectorMetrics() },
      db.timeNanos,
    );
  } finally {
    db.ch.serialStatements = detected;
  }
}

/** Rows per batch stored for `service`, smallest first. */
async function batchesOf(service: string): Promise<number[]> {
  const rows = await db.direct.query<{ n: string }>(
    `SELECT count() AS n FROM ${db.direct.database}.logs WHERE ServiceName = '${service}' GROUP BY BatchId ORDER BY n`,
  );
  return rows.map((r) => Number(r.n));
}

describe('TableWriter insert slots', () => {
  it('knows the embedded store runs one statement at a time, and a server does not', () => {
    expect(db.ch.serialStatements).toBe(process.env.DISTLOG_TEST_CLICKHOUSE === 'chdb');
  });

  it('with a slot free, a batch of half maxRows goes at once; with none free it waits for an insert to end', async () => {
    const writer = writerFor(false);
    db.proxy.holdInserts = true;
    try {
      const writes = [writer.consume(rowsOf('two', 1000), 1n)]; // maxRows: goes, and is held
      await eventually(async () => db.proxy.holding === 1);
      writes.push(writer.consume(rowsOf('two', 499), 2n)); // below half of maxRows: waits
      await pause(200);
      expect(db.proxy.holding).toBe(1);
      writes.push(writer.consume(rowsOf('two', 1), 3n)); // half, and a slot is free: goes
      await eventually(async () => db.proxy.holding === 2);
      writes.push(writer.consume(rowsOf('two', 600), 4n)); // more than half, but both slots are busy
      await pause(200);
      expect(db.proxy.holding).toBe(2);
      db.proxy.release();
      // The last batch went when an insert ended (it held more than a quarter), not at its timer.
      await expect(Promise.all(writes)).resolves.toEqual([true, true, true, true]);
    } finally {
      db.proxy.release();
    }
    expect(await batchesOf('two')).toEqual([500, 600, 1000]);
  });

  it('where statements run one at a time, one insert at a time whatever maxConcurrentInserts says', async () => {
    const writer = writerFor(true);
    db.proxy.holdInserts = true;
    try {
      const writes = [writer.consume(rowsOf('one', 1000), 5n)]; // maxRows: goes, and is held
      await eventually(async () => db.proxy.holding === 1);
      writes.push(writer.consume(rowsOf('one', 500), 6n)); // half, but the one slot is busy
      writes.push(writer.consume(rowsOf('one', 500), 7n)); // maxRows: sealed, waits for the slot
      await pause(200);
      expect(db.proxy.holding).toBe(1);
      db.proxy.release();
      await expect(Promise.all(writes)).resolves.toEqual([true, true, true]);
    } finally {
      db.proxy.release();
    }
    expect(await batchesOf('one')).toEqual([1000, 1000]);
  });
});
