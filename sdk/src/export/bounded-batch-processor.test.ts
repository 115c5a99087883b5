import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode, isTracingSuppressed } from '@opentelemetry/core';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BoundedBatchProcessor } from './bounded-batch-processor';

// The OTel SDK's in-memory exporter, made to take `latencyMs` per export like a network
// hop, so that records can arrive while an export is in flight.
class SlowExporter extends InMemoryLogRecordExporter {
  batches: number[] = [];
  /** When each export finished, in ms since the exporter was made. */
  finishedAt: number[] = [];
  private readonly made = performance.now();
  private waiters: Array<{ exports: number; resolve: () => void }> = [];
  constructor(private readonly latencyMs: number) {
    super();
  }
  override export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.batches.push(logs.length);
    setTimeout(
      () =>
        super.export(logs, (result) => {
          done(result);
          this.finishedAt.push(performance.now() - this.made);
          this.waiters = this.waiters.filter((w) =>
            w.exports <= this.finishedAt.length ? void w.resolve() : true,
          );
        }),
      this.latencyMs,
    );
  }
  /** Resolves once `n` exports have finished (a signal, not a sleep). */
  exported(n: number): Promise<void> {
    if (this.finishedAt.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ exports: n, resolve }));
  }
}

const resource = resourceFromAttributes({ 'service.name': 'batch-test' });
const record = (n: number): ReadableLogRecord => ({
  hrTime: [n, 0],
  hrTimeObserved: [n, 0],
  body: `line ${n}`,
  resource,
  instrumentationScope: { name: 'test' },
  attributes: {},
  droppedAttributesCount: 0,
});
/** The steady workload's pace between lines (not a wait for a condition). */
const pace = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exportedBodies = (e: InMemoryLogRecordExporter) => e.getFinishedLogRecords().map((r) => r.body);

describe('BoundedBatchProcessor', () => {
  it('tells once when exports start failing and once when they succeed again, with the records lost', async () => {
    // The collector refuses the first two exports (a wrong key fixed meanwhile, a restart).
    let refusals = 2;
    const delivered: number[] = [];
    const exporter: LogRecordExporter = {
      export(logs, done) {
        setTimeout(() => {
          if (refusals-- > 0) done({ code: ExportResultCode.FAILED, error: new Error('16 UNAUTHENTICATED') });
          else done((delivered.push(logs.length), { code: ExportResultCode.SUCCESS }));
        }, 1);
      },
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    const p = new BoundedBatchProcessor(exporter, { maxExportBatchSize: 3, maxConcurrentExports: 1 });
    const told: unknown[] = [];
    p.onDeliveryChange = (change) => told.push(change);
    for (let i = 0; i < 9; i++) p.enqueue(record(i));
    await p.forceFlush();
    expect(told).toEqual([
      { failing: true, reason: '16 UNAUTHENTICATED' },
      { failing: false, lost: 6 },
    ]);
    expect(delivered).toEqual([3]);
    expect(p.stats()).toMatchObject({ exported: 3, failed: 6 });
  });

  it('exports outside the context the batch filled in, with tracing suppressed', async () => {
    // A record logged inside a request's scope can fill the batch: its export must not carry
    // that request's trace context (gRPC/HTTP capture would add it to the export's call).
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const seen: Array<{ suppressed: boolean; span: string | undefined }> = [];
      const exporter: LogRecordExporter = {
        export(_logs, done) {
          const active = context.active();
          seen.push({ suppressed: isTracingSuppressed(active), span: trace.getSpanContext(active)?.spanId });
          done({ code: ExportResultCode.SUCCESS });
        },
        forceFlush: async () => undefined,
        shutdown: async () => undefined,
      };
      const p = new BoundedBatchProcessor(exporter, { maxExportBatchSize: 2 });
      const inRequest = trace.setSpanContext(context.active(), {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        traceFlags: 1,
      });
      context.with(inRequest, () => {
        expect(trace.getSpanContext(context.active())?.spanId).toBe('b'.repeat(16));
        p.enqueue(record(1));
        p.enqueue(record(2)); // fills the batch: exported from here
      });
      await p.forceFlush();
      expect(seen).toEqual([{ suppressed: true, span: undefined }]);
    } finally {
      context.disable();
    }
  });

  it('sends a full batch at once and holds a partial one until the scheduled delay', async () => {
    const exporter = new SlowExporter(1);
    const p = new BoundedBatchProcessor(exporter, { maxExportBatchSize: 10, scheduledDelayMillis: 300 });
    for (let i = 0; i < 13; i++) p.enqueue(record(i));
    await exporter.exported(1);
    expect(exporter.batches).toEqual([10]);
    await exporter.exported(2);
    expect(exporter.batches).toEqual([10, 3]);
    // The partial batch waited for the scheduled delay (a lower bound: never flaky).
    expect(exporter.finishedAt[1]).toBeGreaterThanOrEqual(290);
    expect(exportedBodies(exporter)).toEqual(Array.from({ length: 13 }, (_, i) => `line ${i}`));
    expect(p.stats()).toEqual({ queued: 0, sending: 0, exported: 13, dropped: 0, failed: 0 });
    await p.shutdown();
  });

  it('does not send the few records that arrive during an export on their own (steady logging)', async () => {
    const exporter = new SlowExporter(20);
    const p = new BoundedBatchProcessor(exporter, { maxExportBatchSize: 50, scheduledDelayMillis: 10_000 });
    // 10 records every 5 ms for 300 ms (the workload's pace): 600 records, 12 full batches,
    // ~4 arriving per export.
    for (let tick = 0; tick < 60; tick++) {
      for (let i = 0; i < 10; i++) p.enqueue(record(tick * 10 + i));
      await pace(5);
    }
    await exporter.exported(12);
    expect(exporter.batches.length).toBeGreaterThan(5);
    expect(exporter.batches.every((n) => n === 50)).toBe(true);
    await p.shutdown();
    expect(exporter.batches.reduce((a, b) => a + b, 0)).toBe(600);
    expect(p.stats().exported).toBe(600);
  });

  it('when full drops the oldest records, counts them, and forceFlush sends the rest', async () => {
    const exporter = new SlowExporter(1);
    const p = new BoundedBatchProcessor(exporter, {
      maxQueueSize: 20,
      maxExportBatchSize: 20,
      scheduledDelayMillis: 10_000,
    });
    // Synchronously, so no export can start: 30 into a queue of 20.
    for (let i = 0; i < 30; i++) p.enqueue(record(i));
    expect(p.stats()).toMatchObject({ queued: 20, dropped: 10 });
    await p.forceFlush();
    expect(exportedBodies(exporter)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 10}`));
    await p.shutdown();
  });

  it('counts a failed export and keeps serving', async () => {
    const failing = new (class extends SlowExporter {
      override export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
        this.batches.push(logs.length);
        done({ code: ExportResultCode.FAILED, error: new Error('collector said no') });
      }
    })(0);
    const p = new BoundedBatchProcessor(failing, { maxExportBatchSize: 5, scheduledDelayMillis: 10_000 });
    for (let i = 0; i < 7; i++) p.enqueue(record(i));
    await p.forceFlush();
    expect(p.stats()).toMatchObject({ queued: 0, exported: 0, failed: 7 });
    await p.shutdown();
  });
});
