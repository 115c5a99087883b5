import net from 'node:net';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { WireReader } from '@distlog/proto';

/**
 * OTLP/HTTP requests over plain HTTP/1.1 keep-alive connections, written and read here
 * instead of through node:http. In the in-process destination every export request costs
 * the app's own thread; node:http's client (a ClientRequest, an IncomingMessage, a body
 * piped through a Readable, four stream ticks a request) was ~0.45 ms of it per request of
 * 1024 records — as much as serializing them. Here a request is one corked write of the
 * head and the body, and the answer is read from the socket's chunks.
 *
 * Only for `http:` endpoints without compression (exporters.ts decides): TLS, gzip and
 * everything else stay with the OTel exporter's node:http transport. Retries, the deadline
 * and partial-success answers are the OTel delegate's and withRetries' (below); this is
 * one attempt. The exporter's own sockets are not seen by Distlog's HTTP capture (http.ts),
 * so an export makes no span and carries no trace context.
 */

/** The largest answer read (as the OTel HTTP transport: 4 MiB); a larger one fails the export. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** How long an idle connection is trusted when the server does not say (Node's servers close at 5 s). */
const DEFAULT_IDLE_MS = 4000;
/** Network errors worth another attempt (the OTel HTTP transport's list). */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
/** OTLP/HTTP: statuses the client retries (429, 502, 503, 504), honouring Retry-After. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export interface Http1Options {
  /** The full URL, `http:` (…/v1/logs). */
  url: string;
  /** Headers sent with every request (the OTel configuration's: OTEL_EXPORTER_OTLP_[LOGS_]HEADERS, Content-Type). */
  headers: () => Record<string, string> | Promise<Record<string, string>>;
  /** Put before the default User-Agent (OTel's `userAgent` option). */
  userAgent?: string;
}

interface Answer {
  status: number;
  reason: string;
  headers: Map<string, string>;
  body: Buffer;
}

/** A failure on a connection that had served requests before and got no byte of this answer: the server closed it while idle. */
class StaleConnection extends Error {}

export class Http1Transport implements IExporterTransport {
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  private readonly hostHeader: string;
  private head: string | undefined;
  private readonly idle: Connection[] = [];
  private closed = false;

  constructor(private readonly options: Http1Options) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:') throw new Error(`Http1Transport takes http: URLs, not ${url.protocol}`);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port ? Number(url.port) : 80;
    this.path = (url.pathname || '/') + url.search;
    this.hostHeader = url.host;
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    let head: string;
    try {
      head = this.head ??= requestHead(
        this.path,
        this.hostHeader,
        await this.options.headers(),
        this.options.userAgent,
      );
    } catch (error) {
      return { status: 'failure', error: error as Error };
    }
    const request = head.replace('\0', String(data.length));
    let answer: Answer;
    try {
      try {
        answer = await this.connection().exchange(request, data, timeoutMillis);
      } catch (error) {
        // The server closed an idle connection as the request went out: once more, on a new one.
        if (!(error instanceof StaleConnection)) throw error;
        answer = await this.connection(true).exchange(request, data, timeoutMillis);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const retryable = (code !== undefined && RETRYABLE_CODES.has(code)) || error instanceof TimedOut;
      return retryable
        ? { status: 'retryable', error: error as Error }
        : { status: 'failure', error: error as Error };
    }
    if (answer.status >= 200 && answer.status <= 299) return { status: 'success', data: answer.body };
    // The status in the error (`code`), the reason and the server's own words (OTLP's error
    // body, google.rpc.Status) in its message: what the SDK says when it gives up.
    const said = statusMessage(answer.body, answer.headers.get('content-type'));
    const error = new OTLPExporterError(
      `${answer.reason || 'HTTP error'} (HTTP ${answer.status})${said ? `: ${said}` : ''}`,
      answer.status,
      answer.body.toString(),
    );
    if (RETRYABLE_STATUSES.has(answer.status))
      return {
        status: 'retryable',
        error,
        retryInMillis: retryAfterMillis(answer.headers.get('retry-after')),
      };
    return { status: 'failure', error };
  }

  shutdown(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }

  /** An idle connection still within its keep-alive time, else a new one. */
  private connection(fresh = false): Connection {
    const now = Date.now();
    while (!fresh && this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (c.usableUntil > now && !c.socket.destroyed) return c.take();
      c.socket.destroy();
    }
    return new Connection(net.connect({ host: this.host, port: this.port }), (c) => {
      if (this.closed) c.socket.destroy();
      else this.idle.push(c);
    });
  }
}

class TimedOut extends Error {}

/**
 * One keep-alive connection: one request at a time. Its answer is parsed from the socket's
 * chunks: the status line and headers, then a body by Content-Length, chunked, or to the
 * end of the connection.
 */
class Connection {
  /** Served a request before: an error before any byte of an answer means the server had closed it. */
  private reused = false;
  usableUntil = 0;
  private pending: ((error: Error | undefined, answer?: Answer) => void) | undefined;
  private received: Buffer[] = [];
  private receivedBytes = 0;
  private anyByte = false;

  constructor(
    readonly socket: net.Socket,
    private readonly release: (c: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onData(undefined));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  }

  take(): this {
    this.socket.ref();
    return this;
  }

  exchange(head: string, body: Uint8Array, timeoutMillis: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.socket.destroy();
        reject(new TimedOut('Request timed out'));
      }, timeoutMillis);
      timer.unref();
      this.pending = (error, answer) => {
        clearTimeout(timer);
        this.pending = undefined;
        if (error) reject(error);
        else resolve(answer!);
      };
      this.received = [];
      this.receivedBytes = 0;
      this.anyByte = false;
      const socket = this.socket;
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
    });
  }

  private fail(error: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.socket.destroy();
    pending(this.reused && !this.anyByte ? new StaleConnection(error.message) : error);
  }

  /** A chunk of the answer (undefined: the server ended the connection). */
  private onData(chunk: Buffer | undefined): void {
    if (!this.pending) {
      // Bytes nobody asked for, or the server closing an idle connection: not reused again.
      this.socket.destroy();
      return;
    }
    if (chunk) {
      this.anyByte = true;
      this.received.push(chunk);
      this.receivedBytes += chunk.length;
      if (this.receivedBytes > MAX_RESPONSE_BYTES + 64 * 1024) {
        this.fail(new Error(`OTLP export response body exceeded size limit of ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
    }
    const bytes = this.received.length === 1 ? this.received[0] : Buffer.concat(this.received);
    this.received = [bytes];
    let parsed: Parsed | 'incomplete';
    try {
      parsed = parseAnswer(bytes, chunk === undefined);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (parsed === 'incomplete') {
      if (chunk === undefined) this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return;
    }
    const { answer, keepAlive, idleMs } = parsed;
    const pending = this.pending;
    if (keepAlive && parsed.end === bytes.length && chunk !== undefined) {
      this.reused = true;
      this.usableUntil = Date.now() + idleMs;
      this.socket.unref();
      this.pending = undefined;
      this.release(this);
    } else {
      this.pending = undefined;
      this.socket.destroy();
    }
    pending(undefined, answer);
  }
}

interface Parsed {
  answer: Answer;
  /** Bytes of the answer (any after it are not ours). */
  end: number;
  keepAlive: boolean;
  idleMs: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD_BYTES = 64 * 1024;

/** An answer parsed from the bytes so far, or 'incomplete'; throws on what is not HTTP/1.x. */
export function parseAnswer(bytes: Buffer, ended: boolean): Parsed | 'incomplete' {
  let from = 0;
  for (;;) {
    // The status line must come first: anything else is not an HTTP/1.x server (a gRPC port answers HTTP/2 frames).
    if (bytes.length - from >= 5 && bytes.toString('latin1', from, from + 5) !== 'HTTP/')
      throw new Error('Parse Error: Expected HTTP/ (the server did not answer in HTTP/1.1)');
    const headEnd = bytes.indexOf(HEAD_END, from);
    if (headEnd < 0) {
      if (bytes.length - from > MAX_HEAD_BYTES)
        throw new Error("Parse Error: the answer's headers are too long");
      return 'incomplete';
    }
    const lines = bytes.toString('latin1', from, headEnd).split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!status) throw new Error(`Parse Error: Expected HTTP/ (a status line of "${lines[0].slice(0, 40)}")`);
    const code = Number(status[2]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon <= 0) throw new Error(`Parse Error: Invalid header line "${lines[i].slice(0, 40)}"`);
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      const had = headers.get(name);
      headers.set(name, had === undefined ? value : `${had}, ${value}`);
    }
    const bodyStart = headEnd + 4;
    // 1xx (100 Continue, 103 Early Hints): another head follows.
    if (code >= 100 && code < 200) {
      from = bodyStart;
      continue;
    }
    const connection = (headers.get('connection') ?? '').toLowerCase();
    let keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const timeout = /timeout=(\d+)/i.exec(headers.get('keep-alive') ?? '');
    const idleMs = timeout ? Math.max(0, Number(timeout[1]) * 1000 - 500) : DEFAULT_IDLE_MS;
    const answer = (body: Buffer): Answer => ({ status: code, reason: status[3] ?? '', headers, body });
    if (code === 204 || code === 304)
      return { answer: answer(Buffer.alloc(0)), end: bodyStart, keepAlive, idleMs };
    if ((headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
      const chunked = dechunk(bytes, bodyStart);
      if (chunked === 'incomplete') return 'incomplete';
      return { answer: answer(chunked.body), end: chunked.end, keepAlive, idleMs };
    }
    const length = headers.get('content-length');
    if (length !== undefined) {
      const n = Number(length);
      if (!Number.isInteger(n) || n < 0) throw new Error(`Parse Error: Invalid Content-Length "${length}"`);
      if (n > MAX_RESPONSE_BYTES)
        throw new Error(`OTLP export response body exceeded size limit of ${MAX_RESPONSE_BYTES} bytes`);
      if (bytes.length - bodyStart < n) return 'incomplete';
      return {
        answer: answer(bytes.subarray(bodyStart, bodyStart + n)),
        end: bodyStart + n,
        keepAlive,
        idleMs,
      };
    }
    // No length: the body runs to the end of the connection.
    keepAlive = false;
    if (!ended) return 'incomplete';
    return { answer: answer(bytes.subarray(bodyStart)), end: bytes.length, keepAlive, idleMs };
  }
}

/** A chunked body from `at`: its bytes and where it ends (after the trailers), or 'incomplete'. */
function dechunk(bytes: Buffer, at: number): { body: Buffer; end: number } | 'incomplete' {
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return 'incomplete';
    const size = parseInt(bytes.toString('latin1', at, lineEnd).split(';')[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error('Parse Error: Invalid chunk size');
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers, if any, then an empty line.
      for (;;) {
        const end = bytes.indexOf('\r\n', at, 'latin1');
        if (end < 0) return 'incomplete';
        if (end === at) return { body: Buffer.concat(parts), end: end + 2 };
        at = end + 2;
      }
    }
    if (bytes.length < at + size + 2) return 'incomplete';
    parts.push(bytes.subarray(at, at + size));
    at += size + 2;
  }
}

/** The request's head with `\0` where Content-Length's value goes. Header values with line breaks are refused. */
function requestHead(
  path: string,
  host: string,
  headers: Record<string, string>,
  userAgent: string | undefined,
): string {
  let head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  const ua = 'Distlog-SDK-Node (OTLP/HTTP)';
  head += `User-Agent: ${userAgent ? `${userAgent} ${ua}` : ua}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'content-length' || lower === 'connection' || lower === 'user-agent')
      continue;
    // Header text is Latin-1 without line breaks (node:http refuses the same values).
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0\u0100-\uffff]/.test(String(value)))
      throw new Error(
        `Invalid header ${JSON.stringify(name)} in the OTLP headers (OTEL_EXPORTER_OTLP_HEADERS)`,
      );
    head += `${name}: ${value}\r\n`;
  }
  return `${head}Content-Length: \0\r\nConnection: keep-alive\r\n\r\n`;
}

/**
 * The message of an OTLP/HTTP error body: a google.rpc.Status in the request's encoding —
 * protobuf (`message` is field 2) or JSON — or plain text; '' when there is none.
 */
export function statusMessage(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return '';
  const type = (contentType ?? '').toLowerCase();
  try {
    if (type.includes('json')) {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
      return typeof parsed?.message === 'string' ? parsed.message.slice(0, 300) : '';
    }
    if (type.includes('protobuf')) {
      const r = new WireReader(body);
      while (r.pos < r.end) {
        const key = r.varint();
        if (key === 0x12) return r.string().slice(0, 300);
        r.skip(key & 7);
      }
      return '';
    }
    if (type.startsWith('text/plain')) return body.toString('utf8').trim().slice(0, 300);
  } catch {
    // Not what it says it is: the status alone.
  }
  return '';
}

/** Retry-After: seconds, or an HTTP date (undefined when absent or unreadable: the backoff decides). */
export function retryAfterMillis(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Attempts again what comes back retryable (OTLP's retry rules, as the OTel exporters apply
 * them): up to five more, backing off from 1 s by ×1.5 to at most 5 s with ±20 % jitter,
 * or after the server's Retry-After; never past the export's deadline.
 */
export function withRetries(transport: IExporterTransport): IExporterTransport {
  return {
    async send(data, timeoutMillis) {
      const deadline = Date.now() + timeoutMillis;
      let result = await transport.send(data, timeoutMillis);
      let backoff = 1000;
      for (let retries = 5; result.status === 'retryable' && retries > 0; retries--) {
        const jittered = Math.min(backoff * (1 + (Math.random() * 0.4 - 0.2)), 5000);
        backoff *= 1.5;
        const wait = result.retryInMillis ?? jittered;
        const left = deadline - Date.now();
        if (wait > left) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
        result = await transport.send(data, deadline - Date.now());
      }
      return result;
    },
    shutdown: () => transport.shutdown(),
  };
}
