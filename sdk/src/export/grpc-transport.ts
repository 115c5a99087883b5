import http2 from 'node:http2';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';

/**
 * OTLP/gRPC export calls made on one HTTP/2 connection with node:http2, instead of through
 * grpc-js. A unary gRPC call is an HTTP/2 POST: the message behind a 5-byte prefix, the
 * outcome in the `grpc-status` trailer. grpc-js does far more per call (channel and
 * subchannel state, filters, a copy of the request) — measured here at ~1.2–1.6 ms of CPU
 * for a request of 1024 records against ~0.45–0.6 ms like this: in the in-process
 * destination that difference is the app's own thread, about 1 µs a log call.
 *
 * Only for plain (insecure) connections without compression, which is what a collector
 * nearby takes (exporters.ts decides); TLS, gzip and `unix:` addresses stay with grpc-js.
 * Errors read as grpc-js words them (`14 UNAVAILABLE: …`, with `code`), which the SDK's
 * messages and the request-size rule (sized-requests.ts) rely on. One attempt: retries are
 * withRetries' (http1-transport.ts), for the codes OTLP calls retryable when the server
 * answered with one; a connection that fails is said at once (see unreachable()).
 */

const PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
const CANCELLED = 1;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;
const UNAVAILABLE = 14;
/** OTLP/gRPC: codes a client retries (RESOURCE_EXHAUSTED only when the server says when: not read here). */
const RETRYABLE = new Set([
  CANCELLED,
  DEADLINE_EXCEEDED,
  10 /* ABORTED */,
  11 /* OUT_OF_RANGE */,
  UNAVAILABLE,
  15 /* DATA_LOSS */,
]);
/** Calls that ran out of time in a row before the connection is dropped for a new one. */
const MAX_DEADLINES_IN_A_ROW = 5;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface GrpcOptions {
  /** `host:port` (grpc-js's target form; `[v6]:port` too). */
  address: string;
  /** Sent with every call (OTEL_EXPORTER_OTLP_[LOGS_]HEADERS), lower-case names. */
  metadata: Record<string, string | Buffer>;
  /** Put before the default User-Agent. */
  userAgent?: string;
}

/** A gRPC status as grpc-js makes it: `code`, `details`, and a message of both. */
export type GrpcError = Error & { code: number; details: string };

export function grpcError(code: number, details: string): GrpcError {
  return Object.assign(new Error(`${code} ${STATUS_NAMES[code] ?? 'UNKNOWN'}: ${details}`), {
    code,
    details,
  });
}

/** The address grpc-js would connect to, when it is a plain `host:port` this transport can take. */
export function plainAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:dns:(?:\/\/\/)?)?(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  return { host: m[1], port: Number(m[2]) };
}

export class GrpcTransport implements IExporterTransport {
  private session: http2.ClientHttp2Session | undefined;
  private readonly authority: string;
  private readonly headers: http2.OutgoingHttpHeaders;
  /** Calls waiting for an answer, per connection (an old one may still finish some after a new one opened). */
  private readonly active = new WeakMap<http2.ClientHttp2Session, number>();
  private deadlinesInARow = 0;

  constructor(options: GrpcOptions) {
    const at = plainAddress(options.address);
    if (!at) throw new Error(`GrpcTransport takes host:port addresses, not ${options.address}`);
    this.authority = `http://${at.host}:${at.port}`;
    const ua = 'Distlog-SDK-Node (OTLP/gRPC)';
    this.headers = {
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': options.userAgent ? `${options.userAgent} ${ua}` : ua,
    };
    for (const [name, value] of Object.entries(options.metadata)) {
      const key = name.toLowerCase();
      if (key.startsWith(':') || key === 'content-type' || key === 'te' || key === 'user-agent') continue;
      this.headers[key] = Buffer.isBuffer(value) ? value.toString('base64') : value;
    }
  }

  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    return new Promise<ExportResponse>((resolve) => {
      const session = this.connected();
      const finish = (result: ExportResponse) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        // A connection keeps the process alive only while calls on it wait for answers.
        const left = (this.active.get(session) ?? 1) - 1;
        this.active.set(session, left);
        if (left === 0 && !session.destroyed) session.unref();
        resolve(result);
      };
      let done = false;
      let stream: http2.ClientHttp2Stream | undefined;
      this.active.set(session, (this.active.get(session) ?? 0) + 1);
      session.ref();
      const timer = setTimeout(() => {
        stream?.close(http2.constants.NGHTTP2_CANCEL);
        if (++this.deadlinesInARow > MAX_DEADLINES_IN_A_ROW) this.drop(session);
        finish({ status: 'failure', error: grpcError(DEADLINE_EXCEEDED, 'Deadline exceeded') });
      }, timeoutMillis);
      timer.unref();
      let call: http2.ClientHttp2Stream;
      try {
        stream = call = session.request({
          ...this.headers,
          'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMillis))}m`,
        });
      } catch (error) {
        this.drop(session);
        finish(unreachable((error as Error).message));
        return;
      }
      let httpStatus = 0;
      let headerStatus: string | undefined;
      let headerMessage: string | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      call.on('response', (headers) => {
        httpStatus = Number(headers[':status']);
        // A "trailers-only" answer carries the status in its headers.
        headerStatus = headers['grpc-status'] as string | undefined;
        headerMessage = headers['grpc-message'] as string | undefined;
      });
      call.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) {
          call.close(http2.constants.NGHTTP2_CANCEL);
          finish({
            status: 'failure',
            error: grpcError(RESOURCE_EXHAUSTED, 'the answer is larger than 4 MiB'),
          });
          return;
        }
        chunks.push(chunk);
      });
      let trailers: http2.IncomingHttpHeaders | undefined;
      call.on('trailers', (t) => (trailers = t));
      // A connection that failed cancels the calls waiting on it: its cause is what to say.
      call.on('error', (error: Error & { cause?: Error }) =>
        finish(unreachable((error.cause ?? error).message)),
      );
      call.on('close', () => {
        if (done) return;
        const status = trailers?.['grpc-status'] ?? headerStatus;
        const message = decodeMessage((trailers?.['grpc-message'] as string | undefined) ?? headerMessage);
        if (status === undefined) {
          if (httpStatus && httpStatus !== 200) {
            finish(
              answered(grpcError(codeOfHttpStatus(httpStatus), `Received HTTP status code ${httpStatus}`)),
            );
          } else {
            const code = call.rstCode;
            finish(
              code === http2.constants.NGHTTP2_REFUSED_STREAM
                ? answered(grpcError(UNAVAILABLE, 'the server refused the stream'))
                : unreachable(`the stream ended without a status (HTTP/2 code ${code})`),
            );
          }
          return;
        }
        const code = Number(status);
        if (code !== 0) {
          finish(answered(grpcError(Number.isInteger(code) ? code : UNKNOWN, message)));
          return;
        }
        this.deadlinesInARow = 0;
        const body = Buffer.concat(chunks);
        // One length-prefixed message (flag byte, 4-byte length): the ExportLogsServiceResponse.
        finish({
          status: 'success',
          data: body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : undefined,
        });
      });
      const prefix = Buffer.allocUnsafe(5);
      prefix[0] = 0;
      prefix.writeUInt32BE(data.length, 1);
      call.write(prefix);
      call.end(data);
    });
  }

  shutdown(): void {
    const session = this.session;
    this.session = undefined;
    session?.close();
  }

  /** The connection, opened on first use and again after it closed or failed. */
  private connected(): http2.ClientHttp2Session {
    const current = this.session;
    if (current && !current.destroyed && !current.closed) return current;
    const session = http2.connect(this.authority, { settings: { enablePush: false } });
    // Errors reach the calls on it (their streams fail): the session only needs replacing.
    session.on('error', () => this.drop(session));
    session.on('goaway', () => this.drop(session));
    session.on('close', () => this.drop(session));
    session.unref();
    this.session = session;
    return session;
  }

  /** No new calls on `session`; the calls on it end as they would (close() waits for them). */
  private drop(session: http2.ClientHttp2Session): void {
    if (this.session === session) this.session = undefined;
    if (!session.destroyed && !session.closed) session.close();
  }
}

/** The server answered with an error status: OTLP's retryable codes are tried again (a busy collector says UNAVAILABLE). */
function answered(error: GrpcError): ExportResponse {
  return RETRYABLE.has(error.code) ? { status: 'retryable', error } : { status: 'failure', error };
}

/**
 * No answer: the connection failed (refused, reset, not HTTP/2). Said at once, not retried
 * — as grpc-js fails a call fast when its channel cannot connect, so an app whose collector
 * is not there hears of it before it ends.
 */
function unreachable(message: string): ExportResponse {
  return { status: 'failure', error: grpcError(UNAVAILABLE, message) };
}

/** gRPC's mapping of an HTTP status without a gRPC status. */
function codeOfHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return INTERNAL;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return UNAVAILABLE;
    default:
      return UNKNOWN;
  }
}

/** grpc-message is percent-encoded. */
function decodeMessage(raw: string | undefined): string {
  if (!raw) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
