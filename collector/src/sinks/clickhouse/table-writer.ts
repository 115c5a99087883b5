import { LogRow } from '../../model/log-row';
import { ClickHouse } from '../../storage/clickhouse';
import { RetryOptions, withRetry } from '../../helpers/retry';
import { Spool } from '../../helpers/spool';
import { UnavailableError } from '../../receivers/otlp/errors';
import { CollectorMetrics } from '../../telemetry/metrics';
import { log } from '../../helpers/log';
import { LOG_COLUMNS, RowBinaryWriter } from './row-binary';

export interface BatchOptions {
  /** A batch is inserted once it holds this many rows… */
  maxRows: number;
  /** …or this long after its first row arrived (ms). */
  maxDelayMs: number;
  /** Inserts in flight at once for one table. */
  maxConcurrentInserts: number;
  /** Sealed batches waiting for an insert before writers are told to back off (503 / UNAVAILABLE). */
  maxQueuedBatches: number;
  /** Insert attempts before a batch goes to the spool. */
  retry: RetryOptions;
}

/** Shared by the writers and the replayer: whether new batches should go to the spool first. */
export interface StorageState {
  spool: Spool | undefined;
  metrics: CollectorMetrics;
}

interface Batch {
  writer: RowBinaryWriter;
  rows: number;
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/**
 * Batches rows for one ClickHouse table. Rows are encoded to RowBinary as they arrive
 * (no row objects are kept); each write() resolves only when the batch holding its
 * rows is in ClickHouse or durably in the spool, which is what lets the receiver
 * acknowledge honestly. While the spool holds anything, new batches join it behind
 * the older ones, so replay keeps their order.
 */
export class TableWriter {
  private current: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Batch[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly ch: ClickHouse,
    readonly table: string,
    private readonly options: BatchOptions,
    private readonly state: StorageState,
    /** The table's `Timestamp` is DateTime64(9) (storage/schema.ts timeColumnTypes). */
    readonly timeNanos = false,
  ) {}

  write(rows: readonly LogRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (this.queue.length >= this.options.maxQueuedBatches) {
      return Promise.reject(new UnavailableError(`inserts into ${this.table} are behind; retry later`));
    }
    const batch = (this.current ??= { writer: new RowBinaryWriter(this.timeNanos), rows: 0, waiters: [] });
    batch.writer.writeRows(rows);
    batch.rows += rows.length;
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.rows >= this.options.maxRows) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.options.maxDelayMs);
    return done;
  }

  /** Inserts whatever is buffered and waits for every insert to finish. */
  async flush(): Promise<void> {
    this.seal();
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.current) return;
    this.queue.push(this.current);
    this.current = undefined;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.options.maxConcurrentInserts && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inFlight++;
      void this.store(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async store(batch: Batch): Promise<void> {
    const bytes = batch.writer.bytes();
    const { spool, metrics } = this.state;
    try {
      if (spool && !spool.isEmpty()) {
        await this.toSpool(spool, bytes);
      } else {
        try {
          const started = performance.now();
          await withRetry(() => this.ch.insertRowBinary(this.table, LOG_COLUMNS, bytes), this.options.retry);
          metrics.insertLatency.observe((performance.now() - started) / 1000);
          metrics.batchRows.observe(batch.rows);
          metrics.stored.inc({ table: this.table }, batch.rows);
        } catch (err) {
          if (!spool) throw err;
          log('warn', 'insert failed; spooling the batch', {
            table: this.table,
            rows: batch.rows,
            error: String(err),
          });
          await this.toSpool(spool, bytes);
        }
      }
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      const failure =
        err instanceof UnavailableError
          ? err
          : new UnavailableError(`storing ${batch.rows} records in ${this.table} failed: ${String(err)}`);
      log('error', 'batch not stored', { table: this.table, rows: batch.rows, error: failure.message });
      for (const w of batch.waiters) w.reject(failure);
    }
  }

  private async toSpool(spool: Spool, bytes: Buffer): Promise<void> {
    // The writer's buffer is reused by nobody after sealing, but copy: the spool keeps nothing in memory.
    await spool.append(this.table, bytes);
    this.state.metrics.spooled.inc({ table: this.table });
  }
}
