import { context, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { holding, release, RELEASING_SEVERITY } from '../levels/hold';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import { INSTRUMENTATION_PINO_SCOPE, distlogPinoActive } from '../internal/pino-integration';
import type { RefusedRecords, PartialExportResult } from './sized-requests';
import type {
  LogRecordExporter,
  LogRecordProcessor,
  ReadableLogRecord,
  SdkLogRecord,
} from '@opentelemetry/sdk-logs';

export interface BoundedBatchOptions {
  /**
   * Records held at most; when full the OLDEST is dropped and counted. Default 16 384
   * (OTEL_BLRP_MAX_QUEUE_SIZE; the OTel default, 2048, is 41 ms of a service logging 50 000
   * lines/s — a GC pause or a slow round trip dropped records; measured in the SDK bench).
   */
  maxQueueSize?: number;
  /** Records per export. Default 1024 (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE). */
  maxExportBatchSize?: number;
  /** Export at least this often (ms). Default 1000 (OTEL_BLRP_SCHEDULE_DELAY). */
  scheduledDelayMillis?: number;
  /** One export may take this long (ms). Default 30 000 (OTEL_BLRP_EXPORT_TIMEOUT). */
  exportTimeoutMillis?: number;
  /** Exports in flight at once. Default 2 (DISTLOG_BLRP_MAX_CONCURRENT_EXPORTS). */
  maxConcurrentExports?: number;
}

export interface ProcessorStats {
  queued: number;
  /** Sent, with no answer yet. */
  sending: number;
  exported: number;
  /** Dropped because the queue was full (the oldest go first). */
  dropped: number;
  /** Lost because the exporter gave up on them (after its own retries). */
  failed: number;
}

/** Where exports run: no app context, tracing suppressed (see exportOneBatch). */
const OUTSIDE_THE_APP = suppressTracing(ROOT_CONTEXT);

/**
 * A batching processor whose memory is bounded and whose losses are visible: unlike
 * the OTel SDK's BatchLogRecordProcessor (which refuses the newest record when full),
 * it keeps the newest records, drops the oldest, and counts both drops and failed
 * exports. It never blocks or throws into the caller; its timer is unref()'d.
 */
export class BoundedBatchProcessor implements LogRecordProcessor {
  private readonly maxQueueSize: number;
  private readonly maxExportBatchSize: number;
  private readonly scheduledDelayMillis: number;
  private readonly exportTimeoutMillis: number;
  private readonly maxConcurrentExports: number;
  // A ring buffer: dropping the oldest record when full is O(1), which matters exactly
  // when the app logs faster than the exporter can send.
  private ring: Array<ReadableLogRecord | undefined>;
  private head = 0;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerImmediate = false;
  /** Exports in flight (at most maxConcurrentExports): a busy app's batches overlap the round trips. */
  private readonly exporting = new Set<Promise<void>>();
  /** Records in the exports in flight. */
  private sending = 0;
  private shutdownPromise: Promise<void> | undefined;
  /** Set once shutdown's final flush is done; records emitted during that flush (e.g. drop reports) still go out. */
  private closed = false;
  private readonly counts = { exported: 0, dropped: 0, failed: 0 };
  private reportedDrops = 0;
  /** Called after a successful export when records were dropped since the last call. */
  onDropsReported: ((droppedSinceLastReport: number, droppedTotal: number) => void) | undefined;
  /**
   * Called when exports start failing (with the first reason), and when one succeeds again
   * (with the records lost meanwhile): once per episode, not per batch.
   */
  onDeliveryChange:
    ((change: { failing: true; reason: string } | { failing: false; lost: number }) => void) | undefined;
  /** `failed` when the current episode of failing exports began (undefined: delivering). */
  private failedBefore: number | undefined;

  constructor(
    private readonly exporter: LogRecordExporter,
    options: BoundedBatchOptions = {},
    env = process.env,
  ) {
    this.maxQueueSize = positive(options.maxQueueSize ?? env.OTEL_BLRP_MAX_QUEUE_SIZE, 16_384);
    this.maxExportBatchSize = Math.min(
      // 1024, not the OTel 512: half the requests, and each costs the app's thread (in-process
      // destination) ~0.4 ms of HTTP work; still ~1 MB for records of 1 KB, far below 4 MiB gRPC limits.
      positive(options.maxExportBatchSize ?? env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, 1024),
      this.maxQueueSize,
    );
    this.scheduledDelayMillis = positive(options.scheduledDelayMillis ?? env.OTEL_BLRP_SCHEDULE_DELAY, 1000);
    this.exportTimeoutMillis = positive(options.exportTimeoutMillis ?? env.OTEL_BLRP_EXPORT_TIMEOUT, 30_000);
    this.maxConcurrentExports = positive(
      options.maxConcurrentExports ?? env.DISTLOG_BLRP_MAX_CONCURRENT_EXPORTS,
      2,
    );
    this.ring = new Array(this.maxQueueSize);
  }

  /** From now on every record is let go unsent and uncounted (OTEL_SDK_DISABLED). */
  discardAll(): void {
    this.closed = true;
  }

  stats(): ProcessorStats {
    return { queued: this.size, sending: this.sending, ...this.counts };
  }

  onEmit(record: SdkLogRecord): void {
    if (record.instrumentationScope.name === INSTRUMENTATION_PINO_SCOPE && distlogPinoActive()) return;
    this.enqueue(record);
  }

  /** Takes a finished record directly (the SDK's fast path, which skips the OTel Logger). */
  enqueue(record: ReadableLogRecord): void {
    if (this.closed) return;
    // An ERROR/FATAL record sends what its trace holds first (levels/hold.ts).
    if (record.severityNumber! >= RELEASING_SEVERITY && holding() && record.spanContext)
      release(record.spanContext.traceId);
    const capacity = this.maxQueueSize;
    if (this.size === capacity) {
      this.head = (this.head + 1) % capacity;
      this.size--;
      this.counts.dropped++;
    }
    this.ring[(this.head + this.size) % capacity] = record;
    this.size++;
    if (this.size >= this.maxExportBatchSize) this.exportSoon(0);
    else this.exportSoon(this.scheduledDelayMillis);
  }

  /**
   * Takes every queued record out, oldest first (the process is about to end and sends
   * them another way: crashes.ts). Records already handed to an export stay with it.
   */
  takeQueued(): ReadableLogRecord[] {
    const out: ReadableLogRecord[] = [];
    while (this.size > 0) {
      out.push(this.ring[this.head]!);
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.maxQueueSize;
      this.size--;
    }
    return out;
  }

  async forceFlush(): Promise<void> {
    while (this.size > 0 || this.exporting.size > 0) {
      if (this.size > 0 && this.exporting.size < this.maxConcurrentExports) void this.exportOneBatch();
      else await Promise.race(this.exporting);
    }
  }

  shutdown(): Promise<void> {
    return (this.shutdownPromise ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      await this.forceFlush();
      this.closed = true;
      await this.exporter.shutdown();
    })());
  }

  /**
   * One timer at a time: a pending timer stays (a full batch only brings it forward to
   * "now", once). Rescheduling per record cost ~300 ns a record while the queue was full.
   */
  private exportSoon(delay: number): void {
    if (this.timer && (delay > 0 || this.timerImmediate)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerImmediate = delay === 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerImmediate = false;
      // The scheduled delay is up: send what is there. A full batch: send full batches only.
      void this.drain(delay > 0);
    }, delay);
    this.timer.unref();
  }

  /**
   * Sends one batch; when it is done the next is scheduled (see exportOneBatch). Only a
   * full batch goes out at once — the records that arrive during an export wait for the
   * batch to fill or for the scheduled delay, as in the OTel SDK. Sending every remainder
   * straight away made one request per few records for an app that logs steadily
   * (measured: an in-process app spent most of its logging time in HTTP requests).
   */
  private async drain(partial: boolean): Promise<void> {
    // Full batches go out while there is room in flight; a remainder only when the delay is up.
    while (this.exporting.size < this.maxConcurrentExports && this.size >= this.maxExportBatchSize)
      void this.exportOneBatch();
    if (partial && this.size > 0 && this.exporting.size < this.maxConcurrentExports)
      void this.exportOneBatch();
  }

  private exportOneBatch(): Promise<void> {
    const count = Math.min(this.size, this.maxExportBatchSize);
    if (count === 0) return Promise.resolve();
    const batch: ReadableLogRecord[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const at = (this.head + i) % this.maxQueueSize;
      batch[i] = this.ring[at]!;
      this.ring[at] = undefined;
    }
    this.head = (this.head + count) % this.maxQueueSize;
    this.size -= count;
    this.sending += count;
    const exporting: Promise<void> = new Promise<void>((resolve) => {
      const timeout = setTimeout(() => {
        this.exportFailed(batch.length, `no answer within ${this.exportTimeoutMillis} ms`);
        diag.error(`distlog: export of ${batch.length} log records timed out`);
        resolve();
      }, this.exportTimeoutMillis);
      timeout.unref();
      try {
        // Outside whatever the app was doing when the batch filled (a request's scope): the
        // export's own calls carry no trace context and no instrumentation makes spans of them.
        context.with(OUTSIDE_THE_APP, () =>
          this.exporter.export(batch, (result) => {
            clearTimeout(timeout);
            if (result.code === ExportResultCode.SUCCESS) {
              this.counts.exported += batch.length;
              if (this.failedBefore !== undefined) {
                const lost = this.counts.failed - this.failedBefore;
                this.failedBefore = undefined;
                this.onDeliveryChange?.({ failing: false, lost });
              }
              const unreported = this.counts.dropped - this.reportedDrops;
              if (unreported > 0) {
                this.reportedDrops = this.counts.dropped;
                this.onDropsReported?.(unreported, this.counts.dropped);
              }
            } else {
              // Part of the batch may have arrived (sized-requests.ts sends it in several requests).
              const arrived = (result as PartialExportResult).exported ?? 0;
              this.counts.exported += arrived;
              if ((result.error as RefusedRecords | undefined)?.refused) {
                // Records lost on their own — too large, or refused in an answer that took the rest
                // (said by the exporter) —: not a failing collector.
                this.counts.failed += batch.length - arrived;
              } else {
                this.exportFailed(batch.length - arrived, result.error?.message ?? 'the export failed');
                diag.error(`distlog: export of ${batch.length - arrived} log records failed`, result.error);
              }
            }
            resolve();
          }),
        );
      } catch (err) {
        clearTimeout(timeout);
        this.exportFailed(batch.length, err instanceof Error ? err.message : String(err));
        diag.error('distlog: exporter threw', err);
        resolve();
      }
    }).finally(() => {
      this.sending -= count;
      this.exporting.delete(exporting);
      if (this.size > 0 && !this.closed)
        this.exportSoon(this.size >= this.maxExportBatchSize ? 0 : this.scheduledDelayMillis);
    });
    this.exporting.add(exporting);
    return exporting;
  }

  /** Records an export's loss; the first of an episode is told (onDeliveryChange). */
  private exportFailed(records: number, reason: string): void {
    if (this.failedBefore === undefined) {
      this.failedBefore = this.counts.failed;
      this.onDeliveryChange?.({ failing: true, reason });
    }
    this.counts.failed += records;
  }
}

function positive(raw: number | string | undefined, fallback: number): number {
  const n = typeof raw === 'string' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : fallback;
}
