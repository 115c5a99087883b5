import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { Consumer } from '../../pipeline/pipeline';
import { log } from '../../helpers/log';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import { decodeLogsRequestJson } from './decode-json';
import type { DecodedRequest } from './decode-common';
import { nowUnixNano } from './decode-common';
import { InvalidRequestError, RequestTooLargeError, UnavailableError } from './errors';
import type { ReceiverLimits } from './limits';
import {
  GRPC_INTERNAL,
  GRPC_INVALID_ARGUMENT,
  GRPC_PERMISSION_DENIED,
  GRPC_UNAUTHENTICATED,
  GRPC_RESOURCE_EXHAUSTED,
  GRPC_UNAVAILABLE,
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeStatusJson,
  encodeStatusProtobuf,
  mergePartial,
} from './responses';
import type { Authenticator, IngestIdentity } from '../../auth/authenticator';
import { AuthError, authorizeRows } from '../../auth/authenticator';
import type { FailureThrottle } from '../../auth/throttle';
import { throttledMessage } from '../../auth/throttle';
import type { TlsConfig } from '../../auth/auth-config';
import { requestIdOf } from './request-id';

export interface HttpReceiverOptions {
  host: string;
  port: number;
  limits: ReceiverLimits;
  /** Who may send (read at each request, so a reload can rotate keys); absent: anyone. */
  auth?: () => Authenticator;
  tls?: TlsConfig;
  /** Wrong ingest keys per client address (shared with the gRPC receiver); absent: unlimited. */
  throttle?: FailureThrottle;
}

type Encoding = 'protobuf' | 'json';

const REASONS: Record<number, string> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'throttled',
  500: 'internal',
  503: 'unavailable',
};

/** An oversized body is read (and discarded) up to this many times the limit before the 413. */
const DRAIN_FACTOR = 4;

/** A client that sent `Expect: 100-continue` waits for `100 Continue` before sending its body. */
function expectsContinue(req: http.IncomingMessage): boolean {
  return (req.headers.expect ?? '').toLowerCase() === '100-continue';
}

/** Extra routes (health, metrics, …) served on the same port by other components. */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** OTLP/HTTP logs receiver: POST /v1/logs, protobuf or JSON, optionally gzip. */
export class OtlpHttpReceiver {
  private server: http.Server | https.Server | undefined;
  private readonly routes: HttpRoute[] = [];

  constructor(
    private readonly options: HttpReceiverOptions,
    private readonly consumer: Consumer,
    private readonly metrics?: CollectorMetrics,
  ) {}

  addRoute(route: HttpRoute): void {
    this.routes.push(route);
  }

  async start(): Promise<number> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    const tls = this.options.tls;
    const server = tls
      ? https.createServer(
          {
            cert: tls.cert,
            key: tls.key,
            // Mutual TLS: no certificate from the client's CA, no connection.
            ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handler,
        )
      : http.createServer(handler);
    server.keepAliveTimeout = 65_000;
    // `Expect: 100-continue` (curl, for large bodies): the handler decides whether to continue.
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if ((req.url ?? '/').split('?', 1)[0] !== '/v1/logs') res.writeContinue();
      handler(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // In-flight requests get a grace period; keep-alive connections that go idle after
    // close() would otherwise hold it open until their timeout.
    const grace = setInterval(() => server.closeIdleConnections(), 100);
    const force = setTimeout(() => server.closeAllConnections(), 5_000);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearInterval(grace);
    clearTimeout(force);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0];
    if (pathname !== '/v1/logs') {
      for (const route of this.routes) if (route(req, res)) return;
      return this.plainError(
        res,
        404,
        `no route for ${req.method} ${pathname}; OTLP logs go to POST /v1/logs`,
      );
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.plainError(res, 405, `${req.method} is not allowed on /v1/logs; use POST`);
    }
    const contentType = (req.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
    const encoding: Encoding | undefined =
      contentType === 'application/x-protobuf' || contentType === 'application/protobuf'
        ? 'protobuf'
        : contentType === 'application/json'
          ? 'json'
          : undefined;
    if (!encoding) {
      return this.plainError(
        res,
        415,
        `unsupported Content-Type ${JSON.stringify(contentType)}; use application/x-protobuf or application/json`,
      );
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (contentEncoding !== 'gzip' && contentEncoding !== 'identity') {
      return this.error(
        res,
        encoding,
        415,
        GRPC_INVALID_ARGUMENT,
        `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; use gzip or none`,
      );
    }
    let sender: IngestIdentity | undefined;
    const address = req.socket.remoteAddress ?? '';
    const { throttle } = this.options;
    const wait = throttle && this.options.auth?.().ingestRequired ? throttle.retryAfterSeconds(address) : 0;
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      res.setHeader('Connection', 'close');
      return this.error(res, encoding, 429, GRPC_RESOURCE_EXHAUSTED, throttledMessage(address, wait));
    }
    try {
      // Credentials first: an unknown sender's body is not even read.
      sender = this.options.auth?.().ingest(req.headers.authorization);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      if (err.status === 401 && req.headers.authorization) throttle?.fail(address);
      res.setHeader('WWW-Authenticate', 'Bearer realm="distlog"');
      res.setHeader('Connection', 'close');
      return this.error(res, encoding, err.status, GRPC_UNAUTHENTICATED, err.message);
    }
    const { maxRequestBytes } = this.options.limits;
    const tooLarge = (size: string) => () =>
      this.error(
        res,
        encoding,
        413,
        GRPC_RESOURCE_EXHAUSTED,
        `request body ${size}exceeds the limit of ${maxRequestBytes} bytes`,
      );
    const declared = Number(req.headers['content-length'] ?? 0);
    // A client that waits for `100 Continue` is told at once and never sends the body.
    if (declared > maxRequestBytes && expectsContinue(req)) {
      res.setHeader('Connection', 'close');
      return tooLarge(`of ${declared} bytes `)();
    }
    if (expectsContinue(req)) res.writeContinue();
    const chunks: Buffer[] = [];
    let received = 0;
    // Set once the body is known to be too large. Most clients (the OTel exporters,
    // Python's http.client) write the whole body before they read the answer: answering
    // and closing mid-body would cut them off with a broken pipe, they would never see
    // the 413, and an exporter would retry the same request. So the rest of the body is
    // read and discarded — up to DRAIN_FACTOR × the limit — and then the 413 is sent.
    let refusal: (() => void) | undefined =
      declared > maxRequestBytes ? tooLarge(`of ${declared} bytes `) : undefined;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!refusal && received > maxRequestBytes) {
        refusal = tooLarge('');
        chunks.length = 0;
      }
      if (!refusal) return void chunks.push(chunk);
      if (received > maxRequestBytes * DRAIN_FACTOR) {
        // Past the bound a client is not worth waiting for: answer, then cut the connection.
        req.removeAllListeners('data').removeAllListeners('end');
        req.pause();
        res.setHeader('Connection', 'close');
        refusal();
        res.once('finish', () => req.socket.destroy());
      }
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (refusal) {
        res.setHeader('Connection', 'close');
        return refusal();
      }
      void this.process(Buffer.concat(chunks, received), encoding, contentEncoding === 'gzip', res, sender);
    });
  }

  private async process(
    body: Buffer,
    encoding: Encoding,
    gzipped: boolean,
    res: http.ServerResponse,
    sender: IngestIdentity | undefined,
  ): Promise<void> {
    let decoded: DecodedRequest;
    let requestId: bigint;
    try {
      const raw = gzipped ? await gunzipLimited(body, this.options.limits.maxDecompressedBytes) : body;
      const limits = { ...this.options.limits, receivedAtUnixNano: nowUnixNano() };
      decoded =
        encoding === 'protobuf'
          ? decodeLogsRequestProtobuf(raw, limits)
          : decodeLogsRequestJson(raw.toString('utf8'), limits);
      if (sender) authorizeRows(sender, decoded.rows);
      requestId = requestIdOf(raw, decoded.rows, limits.receivedAtUnixNano);
      this.metrics?.received.inc({ transport: 'http' }, decoded.rows.length + decoded.rejected);
      if (decoded.rejected > 0)
        this.metrics?.refused.inc({ transport: 'http', reason: 'invalid_record' }, decoded.rejected);
    } catch (err) {
      if (err instanceof AuthError)
        return this.error(res, encoding, 403, GRPC_PERMISSION_DENIED, err.message);
      if (err instanceof RequestTooLargeError)
        return this.error(res, encoding, 413, GRPC_RESOURCE_EXHAUSTED, err.message);
      if (err instanceof InvalidRequestError)
        return this.error(res, encoding, 400, GRPC_INVALID_ARGUMENT, err.message);
      log('error', 'unexpected error decoding a request', { error: String((err as Error).stack ?? err) });
      return this.error(res, encoding, 500, GRPC_INTERNAL, 'internal error while decoding the request');
    }
    try {
      const partial = mergePartial(decoded, await this.consumer.consume(decoded.rows, requestId));
      res.statusCode = 200;
      if (encoding === 'protobuf') {
        res.setHeader('Content-Type', 'application/x-protobuf');
        res.end(encodeExportResponseProtobuf(partial));
      } else {
        res.setHeader('Content-Type', 'application/json');
        res.end(encodeExportResponseJson(partial));
      }
    } catch (err) {
      if (err instanceof UnavailableError) {
        res.setHeader('Retry-After', String(err.retryAfterSeconds));
        return this.error(res, encoding, 503, GRPC_UNAVAILABLE, err.message);
      }
      log('error', 'unexpected error storing a request', { error: String((err as Error).stack ?? err) });
      return this.error(res, encoding, 500, GRPC_INTERNAL, 'internal error while storing the request');
    }
  }

  /** OTLP/HTTP errors carry a google.rpc.Status in the request's encoding. */
  private error(
    res: http.ServerResponse,
    encoding: Encoding,
    status: number,
    code: number,
    message: string,
  ): void {
    if (res.headersSent) return;
    this.metrics?.refused.inc({ transport: 'http', reason: REASONS[status] ?? String(status) });
    res.statusCode = status;
    if (encoding === 'protobuf') {
      res.setHeader('Content-Type', 'application/x-protobuf');
      res.end(encodeStatusProtobuf(code, message));
    } else {
      res.setHeader('Content-Type', 'application/json');
      res.end(encodeStatusJson(code, message));
    }
  }

  private plainError(res: http.ServerResponse, status: number, message: string): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(message + '\n');
  }
}

/** Inflates at most `limit` bytes: a gzip bomb is refused as soon as it passes the limit. */
export function gunzipLimited(body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.gunzip(body, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return reject(new RequestTooLargeError(`decompressed body exceeds the limit of ${limit} bytes`));
      }
      reject(new InvalidRequestError(`body is not valid gzip (${err.message})`));
    });
  });
}
