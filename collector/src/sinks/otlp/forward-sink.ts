import * as grpc from '@grpc/grpc-js';
import type { LogRow } from '../../model/log-row';
import type { DestinationConfig } from '../../config/collector-config';
import { logsServiceDefinition, refusedAsTooLarge as refusedForSize } from '@distlog/proto';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { log } from '../../helpers/log';
import { encodeLogsRequest } from './encode-request';
import { Backoff } from '../../helpers/retry';
import type { Component, Stage } from '../../pipeline/component';
import { DEFAULTS } from '../../config/defaults';

const DEFAULT_MAX_REQUEST_BYTES = DEFAULTS.destination.maxRequestBytes;

const MAX_RECORDS_PER_REQUEST = 2000;

class PermanentForwardError extends Error {}
/** The destination refused a request for its size: HTTP 413, or gRPC RESOURCE_EXHAUSTED "larger than max". */
class TooLargeError extends Error {}

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
  /** Requests of at most this many bytes: the configured size, lowered once the destination refused one under it. */
  private maxRequestBytes: number;
  /** Records per request: fewer when records are large (found from the last request's size). */
  private perRequest = MAX_RECORDS_PER_REQUEST;
  /** The first refusal for size is said (with the new limit); the halvings after it are not. */
  private toldTooLarge = false;

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
    this.maxRequestBytes = config.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
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
        const [batch, body] = this.nextRequest();
        try {
          await this.send(body);
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
          // The next request's records, by the size of these (a tenth to spare).
          this.perRequest = Math.max(
            1,
            Math.min(
              MAX_RECORDS_PER_REQUEST,
              Math.floor((this.maxRequestBytes * 0.9 * batch.length) / Math.max(1, body.length)),
            ),
          );
        } catch (err) {
          if (err instanceof TooLargeError) {
            this.refusedAsTooLarge(batch, body.length, err);
            continue;
          }
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

  /** The queue's next records and their request: as many as fit in maxRequestBytes (one at least). */
  private nextRequest(): [LogRow[], Buffer] {
    let count = Math.min(this.perRequest, this.queue.length);
    for (;;) {
      const batch = this.queue.slice(0, count);
      const body = encodeLogsRequest(batch);
      if (body.length <= this.maxRequestBytes || count === 1) return [batch, body];
      // Fewer records, in proportion to how far over the request is (a tenth to spare).
      count = Math.max(
        1,
        Math.min(count - 1, Math.floor((count * this.maxRequestBytes * 0.9) / body.length)),
      );
    }
  }

  /**
   * The destination takes less than was sent: half that request from now on (said once),
   * and the same records again in smaller requests; a record alone over its limit is
   * dropped, said and counted (`refused`).
   */
  private refusedAsTooLarge(batch: LogRow[], size: number, err: Error): void {
    if (batch.length > 1) {
      const limit = Math.max(64 * 1024, Math.min(this.maxRequestBytes, Math.floor(size / 2)));
      if (limit < this.maxRequestBytes && !this.toldTooLarge) {
        this.toldTooLarge = true;
        log('warn', 'the destination refused a request as too large; sending smaller ones', {
          destination: this.config.name,
          requestBytes: size,
          maxRequestBytes: limit,
          error: err.message,
        });
      }
      this.maxRequestBytes = limit;
      this.perRequest = Math.max(1, batch.length >> 1);
      return;
    }
    log('error', 'a record is larger than the destination takes; dropped', {
      destination: this.config.name,
      requestBytes: size,
      service: batch[0].resource.serviceName,
      error: err.message,
    });
    this.metrics.forwarded.inc({ destination: this.config.name, outcome: 'refused' }, 1);
    this.queue.splice(0, 1);
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
          if (refusedForSize(err)) reject(new TooLargeError(err.details));
          else if (err.code === grpc.status.INVALID_ARGUMENT) reject(new PermanentForwardError(err.details));
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
      if (refusedForSize({ code: res.status })) throw new TooLargeError(`HTTP 413 from ${this.url}`);
      const retryable = res.status === 429 || res.status >= 500;
      const error = `HTTP ${res.status} from ${this.url}`;
      throw retryable ? new Error(error) : new PermanentForwardError(error);
    });
  }
}
