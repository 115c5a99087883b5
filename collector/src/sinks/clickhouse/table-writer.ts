import type { LogRow } from '../../model/log-row';
import { timeSecondsOf } from '../../model/log-row';
import type { ClickHouse } from '../../storage/clickhouse';
import type { RetryOptions } from '../../helpers/retry';
import type { Spool } from '../../helpers/spool';
import { UnavailableError } from '../../errors';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { log } from '../../helpers/log';
import { RowBinaryWriter } from './row-binary';
import type { BatchInfo } from './batch-id';
import { insertOnce, newBatchId } from './batch-id';
import { DEFAULT_RESEND_WINDOW_MS, requestsComment, storedRequestIds } from './request-ids';
import type { Component, Stage } from '../../pipeline/component';

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
  /**
   * How long a request stays recognised as stored when a client sends it again (ms;
   * request-ids.ts). 0 turns the check off. Default 15 minutes.
   */
  resendWindowMs?: number;
}

/** Shared by the writers and the replayer: whether new batches should go to the spool first. */
export interface StorageState {
  spool: Spool | undefined;
  metrics: CollectorMetrics;
}

/** The rows one write() added: one request's rows for this table. */
interface Segment {
  requestId: bigint;
  start: number;
  end: number;
  rows: number;
}

interface Batch {
  writer: RowBinaryWriter;
  /** How much of the writer's buffer earlier batches wrote (pages that are resident). */
  touched: number;
  segments: Segment[];
  /** One per write() (and per segment, in the same order): resolved with whether its rows were stored here. */
  waiters: Array<{ resolve: (stored: boolean) => void; reject: (err: unknown) => void }>;
}

/**
 * What a batch buffer reserves, unless batches grew larger. Only the pages a batch writes
 * take memory: malloc maps a block this large straight from the kernel (glibc does for any
 * block over 32 MiB, the most its moving mmap threshold reaches), and its pages become
 * resident once written. So a batch never grows by a copy into a buffer twice its size,
 * and a buffer let go returns to the system instead of leaving a hole in malloc's heap.
 * Bench (Node 24, four alternating runs each): collector peak RSS 151–165 → 142–147 MB,
 * CPU per record the same.
 */
const BATCH_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * Batches rows for one ClickHouse table. Rows are encoded to RowBinary as they arrive
 * (no row objects are kept); each write() resolves only when the batch holding its
 * rows is in ClickHouse or durably in the spool, which is what lets the receiver
 * acknowledge honestly. While the spool holds anything, new batches join it behind
 * the older ones, so replay keeps their order.
 */
export class TableWriter implements Component, Stage<Promise<boolean>> {
  private current: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Batch[] = [];
  private inFlight = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** Requests in unsealed or in-flight batches: a retry of one waits for it instead of adding rows. */
  private readonly pending = new Map<bigint, Promise<boolean>>();
  private nextBatchBytes = 64 * 1024;
  /**
   * Buffers of stored batches, written into again by the next batches: a batch is megabytes,
   * and a fresh one for every batch was most of the collector's allocation, which V8 counts
   * towards its next full collection (external memory): under load, a full GC every ~150 ms.
   * At most one per insert that may be in flight, plus the filling batch.
   */
  private readonly spareBuffers: Array<{ buf: Buffer; touched: number }> = [];
  /**
   * Inserts at once: batch.maxConcurrentInserts, or one where the server runs one
   * statement at a time (the embedded store): there a second insert only waits in its
   * queue, and taking a slot early only makes the batches smaller (bench: 0.52–0.78× the
   * ceiling with one, 0.51–0.62× with two).
   */
  private readonly slots: number;

  constructor(
    private readonly ch: ClickHouse,
    readonly table: string,
    private readonly options: BatchOptions,
    private readonly state: StorageState,
    /** The table's `Timestamp` is DateTime64(9) (storage/schema.ts timeColumnTypes). */
    readonly timeNanos = false,
  ) {
    this.slots = ch.serialStatements ? 1 : options.maxConcurrentInserts;
  }

  /**
   * @param requestId the request the rows came in (0: none); one already pending is not added again.
   * Resolves true once the rows are stored (ClickHouse or spool), false when they were not
   * added because the same request is stored already or pending (stored once, by the first).
   */
  consume(rows: readonly LogRow[], requestId = 0n): Promise<boolean> {
    if (rows.length === 0) return Promise.resolve(false);
    if (this.closed) {
      return Promise.reject(
        new UnavailableError(`the writer of ${this.table} is shutting down; retry later`),
      );
    }
    const inFlight = requestId === 0n ? undefined : this.pending.get(requestId);
    if (inFlight) return inFlight.then(() => false);
    if (this.queue.length >= this.options.maxQueuedBatches) {
      return Promise.reject(new UnavailableError(`inserts into ${this.table} are behind; retry later`));
    }
    const batch = (this.current ??= this.newBatch());
    const start = batch.writer.length;
    batch.writer.writeRows(rows, requestId);
    if (batch.writer.minSeconds < this.oldestKept() || batch.writer.maxSeconds > this.newestPlausible())
      this.noticeMisdated(rows);
    batch.segments.push({ requestId, start, end: batch.writer.length, rows: rows.length });
    const done = new Promise<boolean>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (requestId !== 0n) {
      this.pending.set(requestId, done);
      const forget = () => this.pending.delete(requestId);
      done.then(forget, forget);
    }
    if (batch.writer.rows >= this.options.maxRows || this.slotFreeFor(batch, this.options.maxRows >> 1))
      this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.options.maxDelayMs);
    return done;
  }

  async start(): Promise<void> {}

  /**
   * The tier's retention (days), for telling records dated before it (set by the collector;
   * undefined: not checked). Such records are stored and then dropped by the next retention
   * run, and a time unit mistaken by a sender (milliseconds sent as nanoseconds: 1970) looks
   * exactly like that — so they are counted and said, once an hour per service.
   */
  retentionDays: number | undefined;
  private readonly misdatedSaid = new Map<string, number>();

  private oldestKept(): number {
    return this.retentionDays === undefined ? -Infinity : Date.now() / 1000 - this.retentionDays * 86_400;
  }

  private newestPlausible(): number {
    return Date.now() / 1000 + 86_400;
  }

  /** The rare path: which of these rows are dated out of range, counted, and said per service. */
  private noticeMisdated(rows: readonly LogRow[]): void {
    const oldest = this.oldestKept();
    const newest = this.newestPlausible();
    for (const row of rows) {
      const seconds = timeSecondsOf(row);
      const which =
        seconds < oldest ? 'older than retention' : seconds > newest ? 'more than a day ahead' : undefined;
      if (which === undefined) continue;
      this.state.metrics.misdated.inc({ table: this.table, which });
      const service = row.resource.serviceName;
      const said = this.misdatedSaid.get(`${service}\u0000${which}`);
      if (said !== undefined && Date.now() - said < 3_600_000) continue;
      this.misdatedSaid.set(`${service}\u0000${which}`, Date.now());
      log(
        'warn',
        `records dated ${which} of table ${this.table}: is the sender's clock or time unit wrong?`,
        {
          service,
          table: this.table,
          time: new Date(Math.min(seconds, 8.64e12) * 1000).toISOString(),
          ...(this.retentionDays !== undefined ? { retentionDays: this.retentionDays } : {}),
        },
      );
    }
  }

  /** Takes no more rows, stores what it holds (ClickHouse or the spool) and waits for it. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.spareBuffers.length = 0;
  }

  /** Inserts whatever is buffered and waits for every insert to finish. */
  async flush(): Promise<void> {
    this.seal();
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** A batch in a spare buffer of at least the size the last batch reached, or in a new one. */
  private newBatch(): Batch {
    let spare = this.spareBuffers.pop();
    while (spare && spare.buf.length < this.nextBatchBytes) spare = this.spareBuffers.pop();
    const buf = spare?.buf ?? this.reserveBuffer();
    return {
      writer: new RowBinaryWriter(this.timeNanos, newBatchId(), buf),
      touched: spare?.touched ?? 0,
      segments: [],
      waiters: [],
    };
  }

  private reserveBuffer(): Buffer {
    try {
      return Buffer.allocUnsafe(Math.max(this.nextBatchBytes, BATCH_BUFFER_BYTES));
    } catch {
      // Where reserved memory counts as used (strict overcommit, an address-space limit),
      // a buffer of the size batches reach, grown by copies when one is larger.
      return Buffer.allocUnsafe(this.nextBatchBytes);
    }
  }

  /**
   * A stored batch's buffer, kept for the next batches (nothing refers to it once store()
   * ended) unless enough are kept — a batch filling and one per insert in flight — or
   * batches wrote far more of it than they write now (after a burst: letting it go returns
   * those pages).
   */
  private spare(batch: Batch): void {
    // Called before inFlight counts this batch out.
    const inUse = this.inFlight - 1 + this.queue.length + (this.current ? 1 : 0);
    const touched = Math.max(batch.touched, batch.writer.length);
    if (
      !this.closed &&
      inUse + this.spareBuffers.length < this.slots + 1 &&
      touched <= 4 * this.nextBatchBytes
    )
      this.spareBuffers.push({ buf: batch.writer.buf, touched });
  }

  /**
   * Whether an insert slot is free for the filling batch and it holds at least `rows`.
   *
   * Two rules use it. Group commit: when one of the table's inserts ends and the filling
   * batch holds at least a quarter of maxRows, the batch goes now instead of when its timer
   * fires (sealIfSlotFree) — under load, ClickHouse is not left idle while rows wait, and the
   * senders of those rows (whose acknowledgements wait for the insert) get them sooner.
   * Below a quarter the timer decides, so light traffic still makes few, larger inserts.
   * (Bench: +13 % records/s, acknowledgements 370–410 → 315–340 ms.)
   *
   * Second slot: a batch that reaches half of maxRows while a slot is free goes at once
   * (consume), even with another insert running. Without it, under load each batch filled
   * while the one before was inserted, so only one insert ran at a time and every batch was
   * about half of what the senders had in flight: ClickHouse inserting one batch after
   * another uses ~1.3 of two cores, two at once ~1.9. (Bench, three alternating runs each:
   * records/s 0.79–0.82× → 0.80–0.91× the ceiling; rows per insert 16 000 → 10 800.)
   */
  private slotFreeFor(batch: Batch, rows: number): boolean {
    return this.inFlight < this.slots && this.queue.length === 0 && batch.writer.rows >= Math.max(1, rows);
  }

  private sealIfSlotFree(): void {
    if (this.current !== undefined && this.slotFreeFor(this.current, this.options.maxRows >> 2)) this.seal();
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.current) return;
    // The size of recent batches: the largest (a little more), between 64 KiB and 64 MiB,
    // falling by 1/16 per smaller batch, not at once (batch sizes alternate with two inserts
    // at once). A spare buffer that batches wrote far more of is let go (spare()).
    const bytes = this.current.writer.length;
    this.nextBatchBytes = Math.min(
      Math.max(bytes + (bytes >> 3), this.nextBatchBytes - (this.nextBatchBytes >> 4), 64 * 1024),
      64 * 1024 * 1024,
    );
    this.queue.push(this.current);
    this.current = undefined;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.slots && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inFlight++;
      void this.store(batch).finally(() => {
        this.spare(batch);
        this.inFlight--;
        this.sealIfSlotFree();
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
    const { spool, metrics } = this.state;
    const { bytes, info, left } = await this.withoutStoredRequests(batch);
    const comment = requestsComment(batch.segments.filter((_s, i) => !left.has(i)).map((s) => s.requestId));
    const rows = info.rows;
    const resolveAll = () => batch.waiters.forEach((w, i) => w.resolve(!left.has(i)));
    try {
      if (rows === 0) {
        resolveAll();
        return;
      }
      if (spool && !spool.isEmpty()) {
        await this.toSpool(spool, bytes, info);
      } else {
        try {
          const started = performance.now();
          const outcome = await insertOnce(
            this.ch,
            this.table,
            bytes,
            info,
            this.options.retry,
            false,
            undefined,
            comment,
          );
          if (outcome === 'already-stored') metrics.duplicatesAvoided.inc({ table: this.table });
          metrics.insertLatency.observe((performance.now() - started) / 1000);
          metrics.batchRows.observe(rows);
          metrics.stored.inc({ table: this.table }, rows);
        } catch (err) {
          if (!spool) throw err;
          log('warn', 'insert failed; spooling the batch', {
            table: this.table,
            rows,
            error: String(err),
          });
          await this.toSpool(spool, bytes, info);
        }
      }
      resolveAll();
    } catch (err) {
      const failure =
        err instanceof UnavailableError
          ? err
          : new UnavailableError(`storing ${rows} records in ${this.table} failed: ${String(err)}`);
      log('error', 'batch not stored', { table: this.table, rows, error: failure.message });
      for (const w of batch.waiters) w.reject(failure);
    }
  }

  /**
   * The batch without the requests this table stored already (request-ids.ts). When
   * ClickHouse cannot answer, the batch goes on whole: its insert will fail the same way
   * and take the usual path (retries, the spool).
   */
  private async withoutStoredRequests(
    batch: Batch,
  ): Promise<{ bytes: Buffer; info: BatchInfo; left: Set<number> }> {
    const bytes = batch.writer.bytes();
    const info = batchInfo(batch.writer);
    const none = new Set<number>();
    const ids = batch.segments.filter((s) => s.requestId !== 0n).map((s) => s.requestId);
    const windowSeconds = Math.ceil((this.options.resendWindowMs ?? DEFAULT_RESEND_WINDOW_MS) / 1000);
    if (ids.length === 0 || windowSeconds <= 0) return { bytes, info, left: none };
    let stored: Set<bigint>;
    try {
      stored = await storedRequestIds(this.ch, this.table, ids, windowSeconds);
    } catch {
      return { bytes, info, left: none };
    }
    if (stored.size === 0) return { bytes, info, left: none };
    const left = new Set(batch.segments.flatMap((s, i) => (stored.has(s.requestId) ? [i] : [])));
    const kept = batch.segments.filter((_s, i) => !left.has(i));
    this.state.metrics.requestsAlreadyStored.inc({ table: this.table }, left.size);
    log('info', 'requests sent again are stored already; leaving them out', {
      table: this.table,
      requests: left.size,
      rows: info.rows - kept.reduce((n, s) => n + s.rows, 0),
    });
    return {
      bytes: Buffer.concat(kept.map((s) => bytes.subarray(s.start, s.end))),
      info: { ...info, rows: kept.reduce((n, s) => n + s.rows, 0) },
      left,
    };
  }

  private async toSpool(spool: Spool, bytes: Buffer, info: BatchInfo): Promise<void> {
    await spool.append(this.table, bytes, info);
    this.state.metrics.spooled.inc({ table: this.table });
  }
}

function batchInfo(writer: RowBinaryWriter): BatchInfo {
  return {
    id: writer.batchId,
    rows: writer.rows,
    minSeconds: writer.minSeconds,
    maxSeconds: writer.maxSeconds,
  };
}
