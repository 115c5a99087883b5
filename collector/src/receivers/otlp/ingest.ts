import type { Consumer } from '../../pipeline/pipeline';
import { log } from '../../helpers/log';
import type { CollectorMetrics } from '../../telemetry/metrics';
import type { Authenticator, IngestIdentity } from '../../auth/authenticator';
import { AuthError, authorizeRows } from '../../auth/authenticator';
import type { FailureThrottle } from '../../auth/throttle';
import { throttledMessage } from '../../auth/throttle';
import type { ErrorKind, CollectorError } from '../../errors';
import { kindOf } from '../../errors';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import { decodeTracesRequestJson, decodeTracesRequestProtobuf } from './decode-traces';
import { decodeLogsRequestJson } from './decode-json';
import { nowUnixNano } from './decode-common';
import type { ReceiverLimits } from './limits';
import type { PartialSuccess } from './responses';
import { mergePartial } from './responses';
import { requestIdOf } from './request-id';

export type Transport = 'grpc' | 'http';
export type Encoding = 'protobuf' | 'json';
/** What a request carries: log records, or spans taken as scope records (decode-traces.ts). */
export type Signal = 'logs' | 'traces';

export interface IngestOptions {
  limits: ReceiverLimits;
  /** Who may send (read at each request, so a reload can rotate keys); absent: anyone. */
  auth?: () => Authenticator;
  /** Wrong ingest keys per client address (shared by both receivers); absent: unlimited. */
  throttle?: FailureThrottle;
}

/** A refusal, by kind (errors.ts: one table gives its HTTP and gRPC status). */
export interface Refusal {
  kind: ErrorKind;
  message: string;
  retryAfterSeconds?: number;
}

export type Admission = { ok: true; sender: IngestIdentity | undefined } | ({ ok: false } & Refusal);
export type Outcome = { ok: true; partial: PartialSuccess | undefined } | ({ ok: false } & Refusal);

/**
 * The one ingest flow both receivers run, whatever the transport:
 *   admit()  throttle → credentials (before any body byte is read or decoded);
 *   accept() decode → authorize the records → request id → consume → partial success.
 * Every failure comes back as a refusal of one kind, counted once; the receivers only
 * translate kinds to their status codes (errors.ts ERROR_KINDS).
 */
export class Ingest {
  constructor(
    private readonly options: IngestOptions,
    private readonly consumer: Consumer,
    private readonly metrics?: CollectorMetrics,
  ) {}

  get limits(): ReceiverLimits {
    return this.options.limits;
  }

  /** Whether this client may send now, and as whom. */
  admit(transport: Transport, authorization: string | undefined, address: string): Admission {
    const { throttle } = this.options;
    const auth = this.options.auth?.();
    const wait = throttle && auth?.ingestRequired ? throttle.retryAfterSeconds(address) : 0;
    if (wait > 0) return this.refuse(transport, 'throttled', throttledMessage(address, wait), wait);
    try {
      return { ok: true, sender: auth?.ingest(authorization) };
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      if (err.status === 401 && authorization) throttle?.fail(address);
      return this.refuse(transport, err.kind, err.message);
    }
  }

  /**
   * Decodes a (decompressed) body and hands its records on; resolves with the answer's content.
   * Not an async function on purpose: nothing here holds the body or its records while they
   * are stored (an async function's frame would, across the await), so they die young — a
   * request body kept until its acknowledgement outlives two scavenges, lands in the old
   * generation and is only freed by a full GC (measured: most of the collector's full GCs).
   * Callers hand the body over the same way (see the receivers).
   */
  accept(
    transport: Transport,
    body: Buffer,
    encoding: Encoding,
    sender: IngestIdentity | undefined,
    signal: Signal = 'logs',
  ): Promise<Outcome> {
    let decoded;
    let requestId: bigint;
    try {
      const limits = { ...this.options.limits, receivedAtUnixNano: nowUnixNano() };
      decoded =
        signal === 'traces'
          ? encoding === 'protobuf'
            ? decodeTracesRequestProtobuf(body, limits)
            : decodeTracesRequestJson(body.toString('utf8'), limits)
          : encoding === 'protobuf'
            ? decodeLogsRequestProtobuf(body, limits)
            : decodeLogsRequestJson(body.toString('utf8'), limits);
      if (sender) authorizeRows(sender, decoded.rows);
      requestId = requestIdOf(body, decoded.rows, limits.receivedAtUnixNano);
    } catch (err) {
      return Promise.resolve(this.failed(transport, err, 'decoding'));
    }
    this.metrics?.received.inc({ transport }, decoded.rows.length + decoded.rejected);
    if (decoded.rejected > 0)
      this.metrics?.refused.inc({ transport, reason: 'invalid_record' }, decoded.rejected);
    const { rejected, rejectionMessage } = decoded;
    let stored: Promise<PartialSuccess | undefined>;
    try {
      // The records are encoded, queued or tallied when consume() returns.
      stored = this.consumer.consume(decoded.rows, requestId);
    } catch (err) {
      return Promise.resolve(this.failed(transport, err, 'storing'));
    }
    return stored.then(
      (partial): Outcome => ({ ok: true, partial: mergePartial({ rejected, rejectionMessage }, partial) }),
      (err: unknown) => this.failed(transport, err, 'storing'),
    );
  }

  /** A refusal the receiver found itself (a body too large, bad gzip), counted like the others. */
  refusal(transport: Transport, err: unknown, step = 'reading'): Refusal {
    return this.failed(transport, err, step);
  }

  private failed(transport: Transport, err: unknown, step: string): { ok: false } & Refusal {
    const kind = kindOf(err);
    if (kind === 'internal') {
      log('error', `unexpected error ${step} a request`, { error: String((err as Error).stack ?? err) });
      return this.refuse(transport, kind, `internal error while ${step} the request`);
    }
    const e = err as CollectorError;
    return this.refuse(transport, kind, e.message, kind === 'unavailable' ? e.retryAfterSeconds : undefined);
  }

  private refuse(
    transport: Transport,
    kind: ErrorKind,
    message: string,
    retryAfterSeconds?: number,
  ): { ok: false } & Refusal {
    this.metrics?.refused.inc({ transport, reason: kind });
    return { ok: false, kind, message, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  }
}
