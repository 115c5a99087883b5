import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { refusedAsTooLarge } from '@distlog/proto';
import { sayOnStderr } from '../internal/say';

/**
 * The largest request the SDK sends unless told otherwise (DISTLOG_EXPORT_MAX_BYTES):
 * what gRPC servers take by default (4 MiB), the OpenTelemetry Collector's OTLP receiver
 * among them. A batch of 1024 records of 20 KB (a logged object, a stack trace) is 20 MB:
 * sent as one request it was refused whole (HTTP 413 from a Distlog collector over 16 MiB,
 * gRPC RESOURCE_EXHAUSTED elsewhere over 4 MiB) and all 1024 records were lost.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** What an export tells the batch processor beyond success or failure: how many of a failed batch's records did arrive. */
export interface PartialExportResult extends ExportResult {
  /** Records of the batch that were delivered although the export as a whole failed. */
  exported?: number;
}

/** A request's answer, with the OTLP partial_success it carried (records the endpoint took the request but refused). */
export interface AnsweredResult extends ExportResult {
  rejected?: number;
  rejectionMessage?: string;
}

/** Distinct refusal messages said on stderr at most (each once). */
const MAX_TOLD_REJECTIONS = 20;

/** How a serialized request leaves (exporters.ts). */
interface Transport {
  /** Sends one request's bytes. */
  send(body: Uint8Array, done: (result: AnsweredResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/**
 * An exporter that sends a batch in requests the endpoint takes. A batch whose request
 * would be over the limit is split before it is sent (the request is serialized first,
 * so the common case costs nothing more); a request the endpoint refuses as too
 * large (HTTP 413, or gRPC's "larger than max") is split in two and each half sent, and
 * the limit comes down to half that request for the next batches — the endpoint's own
 * limit may be below the SDK's. A single record the endpoint refuses is dropped, said
 * once on stderr with its size, and counted as failed; the rest of its batch still goes.
 */
export class SizedRequestExporter implements LogRecordExporter {
  private limit: number;
  private toldLimit = false;
  private toldRecord = false;
  private readonly toldRejections = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly serialize: (records: ReadableLogRecord[]) => Uint8Array,
    maxBytes = DEFAULT_MAX_REQUEST_BYTES,
  ) {
    this.limit = maxBytes;
  }

  /** The current limit (bytes): the configured one, or lower once the endpoint refused a request under it. */
  get maxRequestBytes(): number {
    return this.limit;
  }

  export(records: ReadableLogRecord[], resultCallback: (result: PartialExportResult) => void): void {
    this.sendRecords(records, (exported, error) =>
      resultCallback(
        error && exported < records.length
          ? { code: ExportResultCode.FAILED, error, exported }
          : { code: ExportResultCode.SUCCESS },
      ),
    );
  }

  shutdown(): Promise<void> {
    return this.transport.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.transport.forceFlush?.() ?? Promise.resolve();
  }

  /** Sends `records` in as many requests as their size needs; `done` gets how many arrived, and the first error. */
  private sendRecords(records: ReadableLogRecord[], done: (exported: number, error?: Error) => void): void {
    const body = this.serialize(records);
    const size = body.length;
    if (size > this.limit && records.length > 1)
      return this.inParts(records, Math.ceil(size / (this.limit * 0.9)), done);
    this.transport.send(body, (result: AnsweredResult) => {
      if (result.code === ExportResultCode.SUCCESS) {
        const rejected = Math.min(result.rejected ?? 0, records.length);
        if (rejected === 0) return done(records.length);
        return done(
          records.length - rejected,
          this.rejectedRecords(rejected, records.length, result.rejectionMessage),
        );
      }
      const error = result.error ?? new Error('the export failed');
      if (!refusedAsTooLarge(error)) return done(0, error);
      if (records.length > 1) {
        if (size <= this.limit) this.lowerLimit(size, error);
        return this.inParts(records, 2, done);
      }
      done(0, this.oversized(size, error));
    });
  }

  /** `records` in `parts` requests of about equal count, one after the other. */
  private inParts(
    records: ReadableLogRecord[],
    parts: number,
    done: (exported: number, error?: Error) => void,
  ): void {
    const per = Math.max(1, Math.ceil(records.length / parts));
    let exported = 0;
    let refused: Error | undefined;
    const next = (from: number): void => {
      if (from >= records.length) return done(exported, refused);
      this.sendRecords(records.slice(from, from + per), (n, error) => {
        exported += n;
        // The endpoint is down or refuses the sender: the rest would fail the same way.
        if (error && !(error as RefusedRecords).refused) return done(exported, error);
        refused ??= error;
        next(from + per);
      });
    };
    next(0);
  }

  private lowerLimit(size: number, error: Error): void {
    this.limit = Math.max(64 * 1024, Math.floor(size / 2));
    if (this.toldLimit) return;
    this.toldLimit = true;
    sayOnStderr(
      `distlog: the collector refused a request of ${size} bytes as too large (${error.message}); ` +
        `sending requests of at most ${this.limit} bytes from now on (DISTLOG_EXPORT_MAX_BYTES sets the limit)\n`,
    );
  }

  private oversized(size: number, error: Error): Error {
    const out: RefusedRecords = Object.assign(
      new Error(
        `a log record of ${size} bytes is larger than the collector takes (${error.message}); it was dropped`,
      ),
      { refused: true as const },
    );
    if (!this.toldRecord) {
      this.toldRecord = true;
      sayOnStderr(`distlog: ${out.message}\n`);
    }
    return out;
  }

  /**
   * The endpoint took the request but refused some of its records (OTLP partial_success:
   * a collector's `reject` rule, records it could not read). Said on stderr once for each
   * reason, counted as failed; not a failing collector.
   */
  private rejectedRecords(rejected: number, of: number, message: string | undefined): RefusedRecords {
    const reason = message || 'no reason given';
    const out: RefusedRecords = Object.assign(
      new Error(`the collector refused ${rejected} of ${of} log records: ${reason}`),
      { refused: true as const },
    );
    if (!this.toldRejections.has(reason) && this.toldRejections.size < MAX_TOLD_REJECTIONS) {
      this.toldRejections.add(reason);
      sayOnStderr(
        `distlog: ${out.message}; they are not stored (counted: stats().failed; said once for this reason)\n`,
      );
    }
    return out;
  }
}

/**
 * Records of a batch lost on their own, not because the endpoint is away: dropped for their
 * size, or refused by the endpoint in an answer that took the rest. The rest of the batch goes.
 */
export type RefusedRecords = Error & { refused?: true };

/**
 * `records` serialized in requests of at most `limit` bytes where they can be (a single
 * record over the limit is a request of its own): for the crash path, which sends
 * serialized requests from a child process (crashes.ts).
 */
export function sizedRequests(
  records: ReadableLogRecord[],
  serialize: (records: ReadableLogRecord[]) => Uint8Array,
  limit: number,
): Uint8Array[] {
  const bytes = serialize(records);
  if (bytes.length <= limit || records.length <= 1) return [bytes];
  const parts = Math.max(2, Math.ceil(bytes.length / (limit * 0.9)));
  const per = Math.ceil(records.length / parts);
  const out: Uint8Array[] = [];
  for (let i = 0; i < records.length; i += per)
    out.push(...sizedRequests(records.slice(i, i + per), serialize, limit));
  return out;
}

/** Requests one after the other on a pipe: each a 4-byte big-endian length, then its bytes (crash-export.ts reads them). */
export function framedRequests(requests: Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  for (const r of requests) {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(r.length, 0);
    out.push(head, Buffer.from(r.buffer, r.byteOffset, r.length));
  }
  return Buffer.concat(out);
}

/** The requests of framedRequests' bytes. */
export function unframeRequests(bytes: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    out.push(new Uint8Array(bytes.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return out;
}

/** The limit from DISTLOG_EXPORT_MAX_BYTES (bytes, at least 64 KiB), else the default. */
export function maxRequestBytesFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DISTLOG_EXPORT_MAX_BYTES;
  if (raw === undefined || raw === '') return DEFAULT_MAX_REQUEST_BYTES;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 64 * 1024) {
    sayOnStderr(
      `distlog: DISTLOG_EXPORT_MAX_BYTES=${raw} is not a size of at least 65536 bytes; using ${DEFAULT_MAX_REQUEST_BYTES}\n`,
    );
    return DEFAULT_MAX_REQUEST_BYTES;
  }
  return Math.floor(n);
}
