import { randomBytes } from 'node:crypto';
import type { ClickHouse } from '../../storage/clickhouse';
import { identifier, intLiteral, stringLiteral } from '../../storage/sql';
import type { RetryOptions } from '../../helpers/retry';
import { withRetry } from '../../helpers/retry';
import { log } from '../../helpers/log';
import { LOG_COLUMNS } from './row-binary';

/**
 * Exactly-once inserts. Every batch gets a random 64-bit id, written with each of its
 * rows (`BatchId`, migration 0008). An insert whose outcome is unknown — its answer was
 * cut or timed out, the spool holds the batch after failed attempts, a collector was
 * killed while replaying it — is not simply sent again: first the collector waits until
 * ClickHouse runs no insert of that batch any more (each attempt is named by its query
 * id in system.processes), then counts the rows stored with the batch's id in the
 * partitions its rows belong to. Only a batch with none stored is inserted again.
 *
 * On plain MergeTree this check is what prevents the duplicate. On Replicated tables
 * ClickHouse's own block deduplication catches an identical block as well.
 */
export interface BatchInfo {
  id: bigint;
  rows: number;
  /** The range of the rows' `Timestamp`, in seconds (bounds the check to their partitions). */
  minSeconds: number;
  maxSeconds: number;
}

/** A fresh batch id: 64 random bits, never 0 (0 marks rows from before batch ids). */
export function newBatchId(): bigint {
  const id = randomBytes(8).readBigUInt64LE(0);
  return id === 0n ? 1n : id;
}

/** How long a check waits for a still-running insert of the batch before it counts (ms). */
const RUNNING_WAIT_MS = 30_000;

export type StoredState = 'none' | 'all' | { partial: number };

/** How many of the batch's rows are stored in `table` (after any running insert of it ended). */
export async function storedState(ch: ClickHouse, table: string, batch: BatchInfo): Promise<StoredState> {
  await waitForRunningInserts(ch, batch.id);
  const day = (seconds: number) => `toDate(toDateTime(${intLiteral(seconds)}))`;
  const [row] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM ${ch.database}.${identifier(table, 'table name')} ` +
      `WHERE toDate(Timestamp) >= ${day(batch.minSeconds)} AND toDate(Timestamp) <= ${day(batch.maxSeconds)} ` +
      `AND BatchId = ${intLiteral(batch.id)}`,
  );
  const n = Number(row?.n ?? 0);
  if (n === 0) return 'none';
  if (n >= batch.rows) return 'all';
  return { partial: n };
}

async function waitForRunningInserts(ch: ClickHouse, id: bigint): Promise<void> {
  const deadline = Date.now() + RUNNING_WAIT_MS;
  for (;;) {
    const [row] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM system.processes WHERE startsWith(query_id, ${stringLiteral(queryIdPrefix(id))})`,
    );
    if (Number(row?.n ?? 0) === 0) return;
    if (Date.now() > deadline)
      throw new Error(`an insert of batch ${id} is still running after ${RUNNING_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function queryIdPrefix(id: bigint): string {
  return `distlog-batch-${id.toString(16)}-`;
}

/**
 * Inserts a batch with retries; before every attempt after a failed one (and before the
 * first when `uncertain`, as for a spooled batch), checks whether the batch is stored.
 * Resolves 'inserted' or 'already-stored'.
 */
export async function insertOnce(
  ch: ClickHouse,
  table: string,
  bytes: Buffer,
  batch: BatchInfo,
  retry: RetryOptions,
  uncertain = false,
  /** The columns the bytes hold (spool files of an older collector hold fewer). */
  columns: readonly string[] = LOG_COLUMNS,
  /** Names the batch's requests for other collectors while the insert runs (request-ids.ts). */
  comment = '',
): Promise<'inserted' | 'already-stored'> {
  let attempt = 0;
  return withRetry(async () => {
    attempt++;
    if (uncertain || attempt > 1) {
      const state = await storedState(ch, table, batch);
      if (state === 'all') return 'already-stored';
      if (state !== 'none')
        // A batch over several days is several parts; an insert cut between them stores some.
        // Inserting it again duplicates those rows; not inserting would lose the others.
        log('error', 'batch partly stored; inserting it again duplicates the stored part', {
          table,
          batch: batch.id.toString(16),
          stored: state.partial,
          rows: batch.rows,
        });
    }
    await ch.insertRowBinary(
      table,
      columns,
      bytes,
      `${queryIdPrefix(batch.id)}${attempt}-${Date.now()}`,
      comment,
    );
    return 'inserted';
  }, retry);
}
