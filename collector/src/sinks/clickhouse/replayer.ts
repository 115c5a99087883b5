import type { ClickHouse } from '../../storage/clickhouse';
import type { Spool, SpoolEntry } from '../../helpers/spool';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { log } from '../../helpers/log';
import { LOG_COLUMNS, LOG_COLUMNS_WITHOUT_BATCH_ID, LOG_COLUMNS_WITHOUT_PATTERN_ID } from './row-binary';
import type { BatchInfo } from './batch-id';
import { insertOnce, storedState } from './batch-id';
import { DEFAULT_RESEND_WINDOW_MS, requestsComment, storedRequestIds } from './request-ids';
import type { RowSpan } from './row-binary-rows';
import { rowsOf } from './row-binary-rows';
import { timeColumnTypes } from '../../storage/schema';
import { promises as fs } from 'node:fs';
import { Backoff } from '../../helpers/retry';
import { isMissingTable, refusedData } from '../../storage/clickhouse-errors';
import type { Component } from '../../pipeline/component';

/**
 * Replays the spool into ClickHouse, oldest batch first, one at a time; backs off
 * (up to 5 s) while ClickHouse still refuses. A replayed batch is removed from disk
 * only after its insert succeeded, and is inserted only if it is not stored already
 * (its last attempt before spooling, or a replay before a crash, may have stored it):
 * exactly once, see batch-id.ts.
 *
 * A batch ClickHouse refuses for what it holds (refusedData: a damaged file, a column
 * changed by hand) on REFUSALS_BEFORE_SET_ASIDE attempts in a row is set aside
 * (Spool.setAsideEntry), said once as an error naming the file and the reason, and the
 * batches behind it go on: one such batch used to hold up every later one, the spool
 * filled, and the collector refused every client. It is tried again when the collector
 * restarts or reloads its configuration.
 */
/** The replayer backs off by itself; each drain tries a batch once. */
const ONE_ATTEMPT = { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 };

export const REFUSALS_BEFORE_SET_ASIDE = 3;

type ReplayOutcome = 'inserted' | 'inserted-in-part' | 'already-stored' | 'stored-elsewhere';

export class SpoolReplayer implements Component {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** While ClickHouse still refuses: 200 ms doubling up to 5 s. */
  private readonly backoff = new Backoff({ initialDelayMs: 200, maxDelayMs: 5_000 }, false);
  /** When the schema was last applied for a missing table (at most once a minute). */
  private repairedAt = -Infinity;
  /** The oldest batch's refusals in a row (refusedData), and which batch that is. */
  private refusals = { file: '', count: 0 };
  /**
   * Per table, when a set-aside was last said and how many were set aside since without a
   * word: a table changed so that every batch is refused sets each one aside, said once a
   * minute rather than once per batch.
   */
  private readonly setAsideSaid = new Map<string, { at: number; more: number }>();

  /** Whether refusals of `table`'s batches are being said already (within the last minute). */
  private quiet(table: string): boolean {
    const said = this.setAsideSaid.get(table);
    return said !== undefined && performance.now() - said.at < 60_000;
  }

  constructor(
    private readonly ch: ClickHouse,
    private readonly spool: Spool,
    private readonly metrics: CollectorMetrics,
    /**
     * Applies the schema again (the collector's, when it manages the schema): a batch whose
     * table was dropped by hand waits for it, and every batch behind it too, until then.
     */
    private readonly repairSchema?: () => Promise<unknown>,
    /** `batch.resendWindow`: how far back a request stored by another batch is looked for (0: not at all). */
    private readonly resendWindowMs = DEFAULT_RESEND_WINDOW_MS,
  ) {}

  /** Per table: its `Timestamp` is DateTime64(9) (how long that column is in the spooled rows). */
  private readonly timeNanos = new Map<string, boolean>();

  /**
   * A spooled batch, exactly once. Stored already (its last attempt before it was spooled,
   * or a replay before a crash): left. Not stored: inserted without the rows of requests
   * that another batch stored meanwhile — a sender whose acknowledgement was lost (the
   * collector died between spooling and answering, the connection broke) sends the request
   * again, maybe to another collector, which stores it while this one's copy waits in the
   * spool. Partly stored (an insert cut between partitions): inserted again, as insertOnce says.
   */
  private async replayBatch(entry: SpoolEntry, batch: BatchInfo, bytes: Buffer): Promise<ReplayOutcome> {
    const columns = entry.patternIds ? LOG_COLUMNS : LOG_COLUMNS_WITHOUT_PATTERN_ID;
    const state = await storedState(this.ch, entry.table, batch);
    if (state === 'all') return 'already-stored';
    if (state !== 'none' || this.resendWindowMs <= 0)
      return insertOnce(this.ch, entry.table, bytes, batch, ONE_ATTEMPT, true, columns);
    const kept = await this.withoutRequestsStoredElsewhere(entry, bytes, columns);
    if (kept === undefined)
      return insertOnce(this.ch, entry.table, bytes, batch, ONE_ATTEMPT, false, columns);
    if (kept.rows === 0) return 'stored-elsewhere';
    await insertOnce(
      this.ch,
      entry.table,
      kept.bytes,
      { ...batch, rows: kept.rows },
      ONE_ATTEMPT,
      false,
      columns,
      requestsComment(kept.requestIds),
    );
    return kept.rows < batch.rows ? 'inserted-in-part' : 'inserted';
  }

  /**
   * The batch's rows without those of requests the table stored from another batch (in the
   * resend window, counted from when the batch was spooled); undefined when its rows carry
   * no request ids or cannot be read back (then it is inserted whole, as before).
   */
  private async withoutRequestsStoredElsewhere(
    entry: SpoolEntry,
    bytes: Buffer,
    columns: readonly string[],
  ): Promise<{ bytes: Buffer; rows: number; requestIds: bigint[] } | undefined> {
    let timeNanos = this.timeNanos.get(entry.table);
    if (timeNanos === undefined) {
      timeNanos = (await timeColumnTypes(this.ch, [entry.table])).get(entry.table) === 'DateTime64(9)';
      this.timeNanos.set(entry.table, timeNanos);
    }
    let rows: RowSpan[] | undefined;
    try {
      rows = rowsOf(bytes, columns, timeNanos);
    } catch (err) {
      log('warn', 'a spooled batch could not be read row by row; replayed whole', {
        table: entry.table,
        file: entry.file,
        error: String(err),
      });
      return undefined;
    }
    if (!rows) return undefined;
    const ids = [...new Set(rows.map((r) => r.requestId).filter((id) => id !== 0n))];
    const spooledForMs = await fs.stat(entry.file).then(
      (st) => Math.max(0, Date.now() - st.mtimeMs),
      () => 0,
    );
    const stored = await storedRequestIds(
      this.ch,
      entry.table,
      ids,
      Math.ceil((this.resendWindowMs + spooledForMs) / 1000),
    );
    if (stored.size === 0) return { bytes, rows: rows.length, requestIds: ids };
    const kept = rows.filter((r) => !stored.has(r.requestId));
    log('info', 'left out of a spooled batch the requests another batch stored meanwhile', {
      table: entry.table,
      requests: stored.size,
      rows: rows.length - kept.length,
    });
    return {
      bytes: Buffer.concat(kept.map((r) => bytes.subarray(r.start, r.end))),
      rows: kept.length,
      requestIds: ids.filter((id) => !stored.has(id)),
    };
  }

  async start(): Promise<void> {
    if (this.timer || this.running || this.stopped) return;
    this.schedule(0);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.drain().finally(() => (this.running = undefined));
    }, delay);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    let entry = this.spool.oldest();
    while (entry && !this.stopped) {
      try {
        const bytes = await this.spool.read(entry);
        const outcome = entry.batch
          ? await this.replayBatch(entry, entry.batch, bytes)
          : (await this.ch.insertRowBinary(entry.table, LOG_COLUMNS_WITHOUT_BATCH_ID, bytes), 'inserted');
        await this.spool.remove(entry);
        if (outcome === 'already-stored' || outcome === 'stored-elsewhere')
          this.metrics.duplicatesAvoided.inc({ table: entry.table });
        else this.metrics.replayed.inc({ table: entry.table });
        this.backoff.reset();
        log('info', 'replayed a spooled batch', {
          table: entry.table,
          outcome,
          bytes: entry.bytes,
          left: this.spool.count,
        });
      } catch (err) {
        if (isMissingTable(err) && (await this.repaired(entry.table, err))) continue;
        if (await this.setAsideIfRefused(entry, err)) {
          entry = this.spool.oldest();
          continue;
        }
        const retryInMs = this.backoff.next();
        if (!(refusedData(err) !== undefined && this.quiet(entry.table)))
          log('warn', 'spool replay failed; will retry', {
            table: entry.table,
            error: String(err),
            retryInMs,
          });
        this.schedule(retryInMs);
        return;
      }
      entry = this.spool.oldest();
    }
    this.schedule(this.spool.isEmpty() ? 500 : 0);
  }

  /** Counts a refusal of the oldest batch; at the limit, sets it aside (true). */
  private async setAsideIfRefused(entry: SpoolEntry, err: unknown): Promise<boolean> {
    const refused = refusedData(err);
    if (refused === undefined) {
      this.refusals = { file: '', count: 0 };
      return false;
    }
    if (this.refusals.file !== entry.file) this.refusals = { file: entry.file, count: 0 };
    if (++this.refusals.count < REFUSALS_BEFORE_SET_ASIDE) return false;
    this.refusals = { file: '', count: 0 };
    const reason = `${entry.table}: ClickHouse refused this batch ${REFUSALS_BEFORE_SET_ASIDE} times (${refused}): ${String(err)}`;
    let file: string;
    try {
      file = await this.spool.setAsideEntry(entry, reason);
    } catch (failed) {
      log('error', 'could not set a refused batch aside', { file: entry.file, error: String(failed) });
      return false;
    }
    this.metrics.setAside.inc({ table: entry.table });
    // Progress: the next batch starts with short delays again.
    this.backoff.reset();
    const said = this.setAsideSaid.get(entry.table);
    if (said && this.quiet(entry.table)) {
      said.more++;
      return true;
    }
    this.setAsideSaid.set(entry.table, { at: performance.now(), more: 0 });
    log(
      'error',
      `ClickHouse refuses a spooled batch of ${entry.table} (${refused}); set aside so the batches ` +
        'behind it go on. Fix the table, then restart the collector or reload its configuration ' +
        '(SIGHUP) to try it again' +
        (said?.more
          ? `. ${said.more} more batches of ${entry.table} were set aside in the minute before this one, ` +
            'said here only: when every batch is refused, the table itself was changed (`distlog schema status`)'
          : ''),
      { file, rows: entry.batch?.rows, error: String(err) },
    );
    return true;
  }

  /** For a table that is gone: applies the schema again (true when it did), or says what would. */
  private async repaired(table: string, err: unknown): Promise<boolean> {
    if (!this.repairSchema) {
      log('warn', `table ${table} does not exist; \`distlog schema apply\` makes it again`, {
        error: String(err),
      });
      return false;
    }
    if (performance.now() - this.repairedAt < 60_000) return false;
    this.repairedAt = performance.now();
    log('warn', `table ${table} does not exist (dropped?): applying the schema again`, {
      error: String(err),
    });
    try {
      await this.repairSchema();
      return true;
    } catch (failed) {
      log('warn', 'applying the schema failed', { error: String(failed) });
      return false;
    }
  }
}
