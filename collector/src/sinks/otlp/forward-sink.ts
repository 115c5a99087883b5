import * as grpc from '@grpc/grpc-js';
import type { LogRow } from '../../model/log-row';
import type { DestinationConfig } from '../../config/collector-config';
import { logsServiceDefinition } from '@distlog/proto';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { log } from '../../helpers/log';
import { encodeLogsRequest } from './encode-request';
import { Backoff } from '../../helpers/retry';
import type { Component, Stage } from '../../pipeline/component';

const MAX_RECORDS_PER_REQUEST = 2000;

class PermanentForwardError extends Error {}

/**
 * Forwards records to another OTLP endpoint (gRPC or HTTP/protobuf). It has its own
 * bounded queue, so a slow or absent destination never delays acknowledgements to
 * clients or storage in ClickHouse; retryable failures (UNAVAILABLE, 429, 5xx,
 * network) are retried with backoff, permanent ones (bad request) dropped and counted,
 * and when the queue is full the oldest records are dropped and counted.
 */
export class ForwardSink implements Component, Stage<void> {
  private queue: LogRow[] = [];
  private sending = false;
  /** Records dropped from a full queue since the last time it was said (undefined: not dropping). */
  private droppedUnsaid: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** After a retryable failure: 200 ms doubling up to 10 s, reset by a success. */
  private readonly backoff = new Backoff({ initialDelayMs: 200, maxDelayMs: 10_000 }, false);
  /** Resolved whenever the queue becomes empty (shutdown waits on it). */
  private drainedWaiters: Array<() => void> = [];
  private stopped = false;
  private readonly client: grpc.Client | undefined;
  private readonly url: string;

  constructor(
    readonly config: DestinationConfig,
    private readonly metrics: CollectorMetrics,
  ) {
    if (config.protocol === 'grpc') {
      const target = config.endpoint.replace(/^https?:\/\//, '').replace(/\/+$/, '');
      const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
      const credentials = config.endpoint.startsWith('https')
        ? grpc.credentials.createSsl()
        : grpc.credentials.createInsecure();
      this.client = new Client(target, credentials);
    }
    this.url = config.endpoint.replace(/\/+$/, '').replace(/(\/v1\/logs)?$/, '/v1/logs');
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues the rows (never waits: a slow destination does not hold acknowledgements back). */
  consume(rows: readonly LogRow[]): void {
    if (this.stopped) return;
    this.queue.push(...rows);
    const excess = this.queue.length - this.config.maxQueueRecords;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.metrics.dropped.inc({ reason: 'forward_queue_full', destination: this.config.name }, excess);
      // Said when it starts, and how many went once the destination takes records again.
      if (this.droppedUnsaid === undefined)
        log('warn', 'forward queue full; dropping the oldest records until the destination catches up', {
          destination: this.config.name,
          maxQueueRecords: this.config.maxQueueRecords,
        });
      this.droppedUnsaid = (this.droppedUnsaid ?? 0) + excess;
    }
    this.kick(0);
  }

  /** Connects lazily, at the first send. */
  async start(): Promise<void> {}

  /** Sends what is queued (for at most `timeoutMs`), then closes the connection. */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    if (this.stopped) return;
    if (this.queue.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drainedWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client?.close();
  }

  private kick(delay: number): void {
    if (this.sending || this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sendLoop();
    }, delay);
    this.timer.unref();
  }

  private async sendLoop(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const batch = this.queue.slice(0, MAX_RECORDS_PER_REQUEST);
        try {
          await this.send(encodeLogsRequest(batch));
          this.metrics.forwarded.inc({ destination: this.config.name, outcome: 'sent' }, batch.length);
          this.backoff.reset();
          this.queue.splice(0, batch.length);
          if (this.droppedUnsaid !== undefined) {
            log('warn', 'forwarding again; records were dropped from the full queue', {
              destination: this.config.name,
              dropped: this.droppedUnsaid,
            });
            this.droppedUnsaid = undefined;
          }
        } catch (err) {
          if (err instanceof PermanentForwardError) {
            log('error', 'forward refused by the destination; records dropped', {
              destination: this.config.name,
              records: batch.length,
              error: err.message,
            });
            this.metrics.forwarded.inc({ destination: this.config.name, outcome: 'refused' }, batch.length);
            this.queue.splice(0, batch.length);
            continue;
          }
          const retryInMs = this.backoff.next();
          log('warn', 'forward failed; retrying', {
            destination: this.config.name,
            error: String(err),
            retryInMs,
          });
          this.sending = false;
          this.kick(retryInMs);
          return;
        }
      }
    } finally {
      this.sending = false;
    }
    if (this.queue.length === 0) {
      const waiters = this.drainedWaiters;
      this.drainedWaiters = [];
      for (const w of waiters) w();
    }
  }

  private send(body: Buffer): Promise<void> {
    if (this.client) {
      const metadata = new grpc.Metadata();
      for (const [k, v] of Object.entries(this.config.headers)) metadata.set(k.toLowerCase(), v);
      return new Promise((resolve, reject) =>
        (
          this.client as unknown as {
            Export: (
              b: Buffer,
              m: grpc.Metadata,
              o: object,
              cb: (e: grpc.ServiceError | null) => void,
            ) => void;
          }
        ).Export(body, metadata, { deadline: Date.now() + 10_000 }, (err) => {
          if (!err) return resolve();
          if (err.code === grpc.status.INVALID_ARGUMENT) reject(new PermanentForwardError(err.details));
          else reject(err);
        }),
      );
    }
    return fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', ...this.config.headers },
      body,
      signal: AbortSignal.timeout(10_000),
    }).then(async (res) => {
      await res.arrayBuffer();
      if (res.ok) return;
      const retryable = res.status === 429 || res.status >= 500;
      const error = `HTTP ${res.status} from ${this.url}`;
      throw retryable ? new Error(error) : new PermanentForwardError(error);
    });
  }
}
