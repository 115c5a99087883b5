import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { Consumer } from '../../pipeline/pipeline';
import type { Component } from '../../pipeline/component';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { ERROR_KINDS, GRPC_STATUS, InvalidRequestError, RequestTooLargeError } from '../../errors';
import {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeStatusJson,
  encodeStatusProtobuf,
} from './responses';
import type { IngestIdentity } from '../../auth/authenticator';
import type { TlsConfig } from '../../auth/auth-config';
import type { Encoding, IngestOptions, Outcome, Refusal, Signal } from './ingest';
import type { CorsPolicy } from './cors';
import { Ingest } from './ingest';

export interface HttpReceiverOptions extends IngestOptions {
  host: string;
  /** 0: any free port (see `port` after start()). */
  port: number;
  tls?: TlsConfig;
  /** Which web pages may send from a browser (read at each request: a reload replaces it). */
  cors?: () => CorsPolicy;
}

/** An oversized body is read (and discarded) up to this many times the limit before the 413. */
const DRAIN_FACTOR = 4;

/** A client that sent `Expect: 100-continue` waits for `100 Continue` before sending its body. */
function expectsContinue(req: http.IncomingMessage): boolean {
  return (req.headers.expect ?? '').toLowerCase() === '100-continue';
}

/** Extra routes (health, metrics, …) served on the same port by other components. */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** OTLP/HTTP receiver: POST /v1/logs (and /v1/traces: spans as scope records), protobuf or JSON, optionally gzip (deflate, zstd). */
export class OtlpHttpReceiver implements Component {
  private server: http.Server | https.Server | undefined;
  private readonly routes: HttpRoute[] = [];
  private readonly ingest: Ingest;
  /** The port it listens on, once started. */
  port = 0;

  constructor(
    private readonly options: HttpReceiverOptions,
    consumer: Consumer,
    private readonly metrics?: CollectorMetrics,
  ) {
    this.ingest = new Ingest(options, consumer, metrics);
  }

  addRoute(route: HttpRoute): void {
    this.routes.push(route);
  }

  async start(): Promise<void> {
    if (this.server) return;
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
      if (!signalOf((req.url ?? '/').split('?', 1)[0])) res.writeContinue();
      handler(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  async shutdown(): Promise<void> {
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
    const signal = signalOf(pathname);
    if (!signal) {
      for (const route of this.routes) if (route(req, res)) return;
      return this.plainError(
        res,
        404,
        `no route for ${req.method} ${pathname}; OTLP logs go to POST /v1/logs, spans to POST /v1/traces` +
          (pathname === '/v1/metrics'
            ? ' (Distlog stores no metrics: set OTEL_METRICS_EXPORTER=none, or send them elsewhere)'
            : ''),
      );
    }
    if (this.options.cors?.().handle(req, res, pathname)) return;
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.plainError(res, 405, `${req.method} is not allowed on ${pathname}; use POST`);
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
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const compression = contentEncoding === 'identity' ? undefined : COMPRESSIONS.get(contentEncoding);
    if (contentEncoding !== 'identity' && !compression) {
      this.metrics?.refused.inc({ transport: 'http', reason: 'unsupported_media_type' });
      return this.status(
        res,
        encoding,
        415,
        GRPC_STATUS.INVALID_ARGUMENT,
        `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; use ${[...COMPRESSIONS.keys()].join(', ')} or none` +
          (contentEncoding === 'zstd' && !COMPRESSIONS.has('zstd')
            ? ` (zstd needs Node.js 22.15 or later on the collector; this one runs ${process.version})`
            : ''),
      );
    }
    // Credentials first: an unknown sender's body is not even read.
    const admission = this.ingest.admit('http', req.headers.authorization, req.socket.remoteAddress ?? '');
    if (!admission.ok) {
      if (admission.kind !== 'throttled') res.setHeader('WWW-Authenticate', 'Bearer realm="distlog"');
      res.setHeader('Connection', 'close');
      return this.refuse(res, encoding, admission);
    }
    const sender = admission.sender;
    const { maxRequestBytes } = this.options.limits;
    const tooLarge = (size: string) => () =>
      this.refuse(
        res,
        encoding,
        this.ingest.refusal(
          'http',
          new RequestTooLargeError(`request body ${size}exceeds the limit of ${maxRequestBytes} bytes`),
        ),
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
      const body = Buffer.concat(chunks, received);
      chunks.length = 0; // this listener lives as long as the request: the chunks need not
      this.process(body, encoding, compression, res, sender, signal);
    });
  }

  /** Not async, like Ingest.accept: the body is not held while its records are stored. */
  private process(
    body: Buffer,
    encoding: Encoding,
    compression: Compression | undefined,
    res: http.ServerResponse,
    sender: IngestIdentity | undefined,
    signal: Signal,
  ): void {
    if (!compression)
      return void this.answer(
        this.ingest.accept('http', body, encoding, sender, signal),
        res,
        encoding,
        signal,
      );
    decompressLimited(body, compression, this.options.limits.maxDecompressedBytes).then(
      (raw) =>
        void this.answer(this.ingest.accept('http', raw, encoding, sender, signal), res, encoding, signal),
      (err: unknown) => this.refuse(res, encoding, this.ingest.refusal('http', err, 'decompressing')),
    );
  }

  private async answer(
    pending: Promise<Outcome>,
    res: http.ServerResponse,
    encoding: Encoding,
    signal: Signal,
  ): Promise<void> {
    const outcome = await pending;
    if (!outcome.ok) return this.refuse(res, encoding, outcome);
    res.statusCode = 200;
    if (encoding === 'protobuf') {
      res.setHeader('Content-Type', 'application/x-protobuf');
      res.end(encodeExportResponseProtobuf(outcome.partial));
    } else {
      res.setHeader('Content-Type', 'application/json');
      res.end(encodeExportResponseJson(outcome.partial, signal));
    }
  }

  /** A refusal (counted by the ingest flow) as its HTTP status and a google.rpc.Status body. */
  private refuse(res: http.ServerResponse, encoding: Encoding, refusal: Refusal): void {
    if (refusal.retryAfterSeconds !== undefined)
      res.setHeader('Retry-After', String(refusal.retryAfterSeconds));
    const { http: status, grpc: code } = ERROR_KINDS[refusal.kind];
    this.status(res, encoding, status, code, refusal.message);
  }

  /** OTLP/HTTP errors carry a google.rpc.Status in the request's encoding. */
  private status(
    res: http.ServerResponse,
    encoding: Encoding,
    status: number,
    code: number,
    message: string,
  ): void {
    if (res.headersSent) return;
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

/** A Content-Encoding the receiver takes: its name in errors and zlib's function for it. */
interface Compression {
  name: string;
  inflate: (body: Buffer, options: zlib.ZlibOptions, done: (err: Error | null, out: Buffer) => void) => void;
}

// gzip is what OTLP names; deflate and zstd are what other senders (an OpenTelemetry
// Collector's exporter, for one) may be set to. zstd is in Node's zlib from 22.15 / 23.8:
// offered only where it is there, and said so where it is not.
const zstdDecompress = (zlib as unknown as { zstdDecompress?: Compression['inflate'] }).zstdDecompress;
const COMPRESSIONS = new Map<string, Compression>([
  ['gzip', { name: 'gzip', inflate: zlib.gunzip }],
  ['x-gzip', { name: 'gzip', inflate: zlib.gunzip }],
  // HTTP's "deflate" is the zlib format (RFC 9110), which is what zlib.inflate reads.
  ['deflate', { name: 'deflate', inflate: zlib.inflate }],
  ...(typeof zstdDecompress === 'function'
    ? [['zstd', { name: 'zstd', inflate: zstdDecompress }] as [string, Compression]]
    : []),
]);

/** Inflates at most `limit` bytes: a compression bomb is refused as soon as it passes the limit. */
function decompressLimited(body: Buffer, compression: Compression, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    compression.inflate(body, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return reject(new RequestTooLargeError(`decompressed body exceeds the limit of ${limit} bytes`));
      }
      reject(new InvalidRequestError(`body is not valid ${compression.name} (${err.message})`));
    });
  });
}

/** The OTLP signal a path takes, if any. */
function signalOf(pathname: string): Signal | undefined {
  return pathname === '/v1/logs' ? 'logs' : pathname === '/v1/traces' ? 'traces' : undefined;
}
